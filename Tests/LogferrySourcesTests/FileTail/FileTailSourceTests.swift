import Foundation
import LogferryCore
import LogferryTesting
import Logging
import Synchronization
import Testing

@testable import LogferrySources

/// The file source on real files: appends, rename rotation under continuous writing, copytruncate, restarts.
struct FileTailSourceTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// What a source delivered.
    final class Delivered: Sendable {
        let messages = Mutex<[RawMessage]>([])
    }

    /// A running source and what it delivered.
    final class Running: Sendable {
        let source: FileTailSource
        let delivered = Delivered()
        let task: Task<Void, any Error>

        init(_ config: FileTailConfiguration, logger: Logger, deliver: (@Sendable ([RawMessage]) async -> Void)? = nil)
        {
            let source = FileTailSource(config: config, logger: logger)
            let delivered = self.delivered
            self.source = source
            self.task = Task {
                try await source.run { batch in
                    if let deliver { await deliver(batch) }
                    delivered.messages.withLock { $0 += batch }
                    return .immediate
                }
            }
        }

        func withMessages<T>(_ body: ([RawMessage]) -> T) -> T { delivered.messages.withLock { body($0) } }
        var counters: FileTailCounters { source.counters }
        /// File lines (internal events have no offset).
        var lines: [String] {
            withMessages { $0.filter { $0.offset != nil }.map { String(decoding: $0.bytes, as: UTF8.self) } }
        }
        var internalEvents: [String] {
            withMessages { $0.filter { $0.offset == nil }.map { String(decoding: $0.bytes, as: UTF8.self) } }
        }

        func stop() async {
            task.cancel()
            _ = try? await task.value
        }
    }

    func config(
        _ dir: String, include: [String]? = nil, exclude: [String] = [],
        startAt: FileTailConfiguration.StartAt = .beginning
    )
        -> FileTailConfiguration
    {
        FileTailConfiguration(
            name: "t", include: include ?? [dir + "/*.log"], exclude: exclude, startAt: startAt,
            statePath: FileTailConfiguration.defaultStatePath(dataDir: dir + "/data", name: "t"),
            pollInterval: .milliseconds(50), rotatedFileLinger: .milliseconds(200))
    }

    func append(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "open \(path)")
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            precondition(n > 0)
            off += n
        }
        close(fd)
    }

    func numbered(_ range: Range<Int>, _ prefix: String = "line") -> String {
        range.map { "\(prefix) \($0)\n" }.joined()
    }

    @Test func appendedLinesArriveWithOffsets() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        append(dir + "/a.log", "first\nsecond\n")
        let r = Running(config(dir), logger: logger)
        #expect(await eventually(timeout: 10) { r.lines.count == 2 })
        append(dir + "/a.log", "third\n")
        // A file created while running is found too.
        append(dir + "/b.log", "other\n")
        #expect(await eventually(timeout: 10) { r.lines.count == 4 })
        await r.stop()
        let messages = r.withMessages { $0 }
        let a = messages.filter { $0.file == dir + "/a.log" }
        #expect(a.map { String(decoding: $0.bytes, as: UTF8.self) } == ["first", "second", "third"])
        #expect(a.map(\.offset) == [0, 6, 13])
        #expect(messages.filter { $0.file == dir + "/b.log" }.map(\.offset) == [0])
        #expect(messages.allSatisfy { !$0.truncated })
    }

    /// A writer thread appends numbered lines and rotates like logrotate (rename, then a new file), every 400
    /// lines, without pausing: the old file is still being drained while the new one grows.
    @Test(arguments: ["/app.log", "/app.log*"])
    func renameRotationUnderContinuousWritingDeliversEveryLineOnceInOrder(pattern: String) async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/app.log"
        append(path, "")
        let r = Running(config(dir, include: [dir + pattern]), logger: logger)
        let total = 4000
        let perFile = 400
        let done = Atomic<Bool>(false)
        let counters = r.counters
        let writer = Thread {
            let fd0 = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
            var fd = fd0
            var generation = 1
            for i in 0..<total {
                if i > 0 && i % perFile == 0 {
                    // Like logrotate, rotations are far apart compared to a scan: the source has seen the current
                    // file before it is rotated again. Lines keep coming right after the rename.
                    while counters.filesOpened.load(ordering: .relaxed) < generation { usleep(1000) }
                    rename(path, path + ".1")
                    close(fd)
                    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
                    generation += 1
                }
                let line = Array("line \(i)\n".utf8)
                _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if i % 50 == 0 { usleep(500) }
            }
            close(fd)
            done.store(true, ordering: .relaxed)
        }
        writer.start()
        let arrived = await eventually(timeout: 60) { done.load(ordering: .relaxed) && r.lines.count >= total }
        // A little longer: nothing more may come.
        try await Task.sleep(for: .milliseconds(300))
        await r.stop()
        #expect(arrived, "only \(r.lines.count) of \(total)")
        #expect(r.lines == (0..<total).map { "line \($0)" })
        #expect(r.internalEvents.isEmpty)
        // Every generation was a file of its own, and the rotations were seen as such.
        #expect(r.counters.filesOpened.load(ordering: .relaxed) == total / perFile)
        #expect(r.counters.rotations.load(ordering: .relaxed) >= total / perFile - 2)
        #expect(r.counters.truncations.load(ordering: .relaxed) == 0)
    }

    /// Rotation faster than the source looks: each file is created, written and renamed out of the include set
    /// (`app.log` -> `app.log.N`, like logrotate's dateext) without waiting for the source, so most files are never
    /// seen under their included name. inotify's rename events (IN_MOVED_FROM/TO) hand them to the next scan:
    /// every line arrives once.
    @Test func filesRenamedAwayBeforeTheSourceLookedAreStillRead() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/app.log"
        append(path, "")
        let r = Running(config(dir, include: [dir + "/app.log"]), logger: logger)
        // The source is watching (it opened the first, empty file) before the burst starts.
        #expect(await eventually(timeout: 10) { r.counters.filesOpened.load(ordering: .relaxed) == 1 })
        let (files, perFile) = (50, 200)
        for f in 0..<files {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            let text = Array((0..<perFile).map { "f\(f) line \($0)\n" }.joined().utf8)
            _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            rename(path, dir + "/app.log.\(f)")
        }
        let all = Set((0..<files).flatMap { f in (0..<perFile).map { "f\(f) line \($0)" } })
        let arrived = await eventually(timeout: 30) { r.lines.count >= all.count }
        // Not a wait for a condition: a duplicate would come after the last line, so give one a moment to show.
        try await Task.sleep(for: .milliseconds(300))
        await r.stop()
        #expect(arrived, "only \(r.lines.count) of \(all.count) lines")
        #expect(r.lines.count == all.count && Set(r.lines) == all)
    }

    @Test func copytruncateDeliversLinesAfterTheTruncationAndSaysSo() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/app.log"
        append(path, numbered(0..<100, "before"))
        let r = Running(config(dir), logger: logger)
        #expect(await eventually(timeout: 10) { r.lines.count == 100 })
        // copytruncate: copy, then truncate in place; the writer keeps its O_APPEND descriptor.
        try FileManager.default.copyItem(atPath: path, toPath: path + ".1")
        #expect(truncate(path, 0) == 0)
        append(path, numbered(0..<50, "after"))
        #expect(await eventually(timeout: 10) { r.lines.count == 150 && r.internalEvents.count == 1 })
        try await Task.sleep(for: .milliseconds(200))
        await r.stop()
        #expect(r.lines == (0..<100).map { "before \($0)" } + (0..<50).map { "after \($0)" })
        let event = try #require(r.internalEvents.first)
        #expect(event.contains("file-truncated"))
        #expect(event.contains(path))
        #expect(r.withMessages { $0.first { $0.offset == nil }?.file } == path)
        #expect(r.counters.truncations.load(ordering: .relaxed) == 1)
    }

    @Test func restartResumesFromTheCheckpointWithoutDuplicatesOrLoss() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/app.log"
        append(path, numbered(0..<100) + "partial")
        let c = config(dir)
        let first = Running(c, logger: logger)
        #expect(await eventually(timeout: 10) { first.lines.count == 100 })
        await first.stop()
        // The checkpoint records the end of the last delivered line, not of the partial one.
        let saved = try FileTailCheckpointFile.decode(readFileBytes(c.statePath))
        #expect(saved.map(\.offset) == [Int64(numbered(0..<100).utf8.count)])
        #expect(saved.map(\.path) == [path])
        // Written while stopped.
        append(path, " line\n" + numbered(100..<150))
        let second = Running(c, logger: logger)
        #expect(await eventually(timeout: 10) { second.lines.count == 51 })
        try await Task.sleep(for: .milliseconds(200))
        await second.stop()
        #expect(second.lines == ["partial line"] + (100..<150).map { "line \($0)" })
        #expect(
            first.lines + second.lines == (0..<100).map { "line \($0)" } + ["partial line"]
                + (100..<150).map { "line \($0)" })
    }

    /// The known gap, pinned down: a crash after the journal made a batch durable and before the checkpoint was
    /// written re-delivers that batch, and only that batch; nothing is lost.
    @Test func crashBeforeTheCheckpointRedeliversOnlyTheLastBatch() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/app.log"
        append(path, numbered(0..<10))
        let c = config(dir)
        struct Crash: Error {}
        let firstRun = Delivered()
        let source = FileTailSource(config: c, logger: logger)
        let crashed = Task {
            try await source.run { batch in
                let n = firstRun.messages.withLock {
                    $0 += batch
                    return $0.count
                }
                // The second batch is durable, then the process dies before the checkpoint is written.
                if n > 10 { throw Crash() }
                return .immediate
            }
        }
        #expect(await eventually(timeout: 10) { firstRun.messages.withLock { $0.count } == 10 })
        // Let the first batch's checkpoint land before the next lines arrive.
        #expect(
            await eventually(timeout: 10) {
                (try? FileTailCheckpointFile.decode(readFileBytes(c.statePath)))?.first?.offset
                    == Int64(numbered(0..<10).utf8.count)
            })
        append(path, numbered(10..<20))
        await #expect(throws: Crash.self) { try await crashed.value }
        let delivered = firstRun.messages.withLock { $0.map { String(decoding: $0.bytes, as: UTF8.self) } }
        // Usually all of 10..<20 in one batch; a read racing the append may have cut it shorter.
        #expect(delivered.count > 10 && delivered == (0..<delivered.count).map { "line \($0)" })

        let second = Running(c, logger: logger)
        #expect(await eventually(timeout: 10) { second.lines.count == 10 })
        try await Task.sleep(for: .milliseconds(200))
        await second.stop()
        #expect(second.lines == (10..<20).map { "line \($0)" })
    }

    @Test func checkpointMovesOnlyAfterDeliveryReturned() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/app.log"
        let c = config(dir)
        // A previous run's checkpoint (file empty then) so the state file exists from the start.
        append(path, "")
        let release = Atomic<Bool>(false)
        let entered = Atomic<Bool>(false)
        let r = Running(c, logger: logger) { _ in
            entered.store(true, ordering: .relaxed)
            while !release.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(await eventually(timeout: 10) { r.counters.filesOpened.load(ordering: .relaxed) == 1 })
        append(path, "one\ntwo\n")
        #expect(await eventually(timeout: 10) { entered.load(ordering: .relaxed) })
        // The journal has not confirmed: the checkpoint must not have moved.
        try await Task.sleep(for: .milliseconds(200))
        let before = (try? FileTailCheckpointFile.decode(readFileBytes(c.statePath)))?.first?.offset ?? 0
        #expect(before == 0)
        release.store(true, ordering: .relaxed)
        #expect(
            await eventually(timeout: 10) {
                (try? FileTailCheckpointFile.decode(readFileBytes(c.statePath)))?.first?.offset == 8
            })
        await r.stop()
    }

    /// Reading goes on while written batches wait for their fsync; the checkpoint still moves only once the
    /// journal says a batch is durable.
    @Test func readingContinuesWhileBatchesAwaitDurabilityButTheCheckpointWaits() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/app.log"
        let c = config(dir)
        append(path, "")
        let durable = Atomic<Bool>(false)
        let got = Delivered()
        let source = FileTailSource(config: c, logger: logger)
        let task = Task {
            try await source.run { batch in
                got.messages.withLock { $0 += batch }
                return Delivery {
                    while !durable.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(10)) }
                }
            }
        }
        #expect(await eventually(timeout: 10) { source.counters.filesOpened.load(ordering: .relaxed) == 1 })
        append(path, "one\n")
        #expect(await eventually(timeout: 10) { got.messages.withLock { $0.count } == 1 })
        append(path, "two\n")
        // The second batch is read although the first is not durable yet.
        #expect(await eventually(timeout: 10) { got.messages.withLock { $0.count } == 2 })
        let before = (try? FileTailCheckpointFile.decode(readFileBytes(c.statePath)))?.first?.offset ?? 0
        #expect(before == 0)
        durable.store(true, ordering: .relaxed)
        #expect(
            await eventually(timeout: 10) {
                (try? FileTailCheckpointFile.decode(readFileBytes(c.statePath)))?.first?.offset == 8
            })
        task.cancel()
        _ = try? await task.value
    }

    @Test func startAtEndSkipsExistingContentOnly() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        append(dir + "/old.log", numbered(0..<10, "old"))
        let r = Running(config(dir, startAt: .end), logger: logger)
        #expect(await eventually(timeout: 10) { r.counters.filesOpened.load(ordering: .relaxed) == 1 })
        append(dir + "/old.log", "new 1\n")
        // A file that appears later is read from its start.
        append(dir + "/later.log", "later 1\n")
        #expect(await eventually(timeout: 10) { r.lines.count == 2 })
        try await Task.sleep(for: .milliseconds(200))
        await r.stop()
        #expect(Set(r.lines) == ["new 1", "later 1"])
    }

    @Test func excludeGlobsLeaveFilesOut() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        append(dir + "/a.log", "keep\n")
        append(dir + "/b.log.gz", "binary\n")
        append(dir + "/skip-me.log", "skip\n")
        let c = config(dir, include: [dir + "/*"], exclude: ["*.gz", dir + "/skip-*"])
        let r = Running(c, logger: logger)
        #expect(await eventually(timeout: 10) { r.lines.count >= 1 })
        try await Task.sleep(for: .milliseconds(300))
        await r.stop()
        #expect(r.lines == ["keep"])
    }

    @Test func partialLastLineWaitsForItsNewline() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/a.log"
        append(path, "complete\npart")
        let r = Running(config(dir), logger: logger)
        #expect(await eventually(timeout: 10) { r.lines.count == 1 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(r.lines == ["complete"])
        append(path, "ial\n")
        #expect(await eventually(timeout: 10) { r.lines.count == 2 })
        await r.stop()
        #expect(r.lines == ["complete", "partial"])
        #expect(r.withMessages { $0.map(\.offset) } == [0, 9])
    }

    @Test func deletedFileIsReadToItsEndAndClosed() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/a.log"
        append(path, "one\n")
        let r = Running(config(dir), logger: logger)
        #expect(await eventually(timeout: 10) { r.lines.count == 1 })
        // Keep a writer open, write and delete: the bytes written before the unlink still arrive.
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        _ = Array("two\nlast without newline".utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        unlink(path)
        close(fd)
        #expect(await eventually(timeout: 10) { r.counters.filesClosed.load(ordering: .relaxed) == 1 })
        await r.stop()
        // The partial tail of a finished file is flushed as a line.
        #expect(r.lines == ["one", "two", "last without newline"])
    }

    @Test func inotifyWakesTheSourceLongBeforeThePollInterval() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        append(dir + "/a.log", "one\n")
        var c = config(dir)
        c.pollInterval = .seconds(30)
        let r = Running(c, logger: logger)
        #expect(await eventually(timeout: 10) { r.lines.count == 1 })
        let start = ContinuousClock.now
        append(dir + "/a.log", "two\n")
        append(dir + "/new.log", "three\n")
        #expect(await eventually(timeout: 10) { r.lines.count == 3 })
        #expect(ContinuousClock.now - start < .seconds(5))
        await r.stop()
    }

    @Test func multilineTracebacksBecomeOneEvent() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = config(dir)
        c.multiline = .init(rule: .indentedContinuation, timeout: .milliseconds(100))
        let traceback = "Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n    main()\n"
        append(dir + "/a.log", "start\n" + traceback + "ValueError: bad\n")
        let r = Running(c, logger: logger)
        // The last event has no successor to end it: the timeout emits it.
        #expect(await eventually(timeout: 10) { r.lines.count == 3 })
        await r.stop()
        #expect(r.lines == ["start", String(traceback.dropLast()), "ValueError: bad"])
        #expect(r.withMessages { $0.map(\.offset) } == [0, 6, Int64(6 + traceback.utf8.count)])
    }

    @Test func longLinesAreCutAndFlagged() async throws {
        let dir = try makeTempDirectory("ft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        append(dir + "/a.log", String(repeating: "x", count: 5000) + "\nshort\n")
        var c = config(dir)
        c.maxLineBytes = 1000
        let r = Running(c, logger: logger)
        #expect(await eventually(timeout: 10) { r.lines.count == 2 })
        await r.stop()
        let messages = r.withMessages { $0 }
        #expect(messages.map(\.bytes.count) == [1000, 5])
        #expect(messages.map(\.truncated) == [true, false])
        #expect(messages.map(\.offset) == [0, 5001])
    }
}
