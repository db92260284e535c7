import Foundation
import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryDestinations

@Suite struct FileStoreDestinationTests {
    let localNode = NodeIdentity(hex: "0123456789abcdef0123456789abcdef")!
    let remoteNode = NodeIdentity(hex: "fedcba9876543210fedcba9876543210")!

    struct Shape: Sendable, CustomTestStringConvertible {
        var batchRecords: Int
        var maxOpenFiles: Int
        var fsync: Bool
        var testDescription: String { "batch \(batchRecords), \(maxOpenFiles) open, fsync \(fsync)" }
    }

    @Test(
        "3 hosts x 2 programs: every event once, in order, at its expanded path",
        arguments: [
            Shape(batchRecords: 2000, maxOpenFiles: 256, fsync: true),
            Shape(batchRecords: 97, maxOpenFiles: 2, fsync: false),  // LRU evicts within every batch
        ])
    func fleet(shape: Shape) async throws {
        let dir = try TemporaryDirectory()
        let spool = InMemorySpool()
        let config = FileStoreConfiguration(
            name: "archive", pathTemplate: dir.path + "/central/${HOST}/${PROGRAM}.log",
            maxOpenFiles: shape.maxOpenFiles, batchRecords: shape.batchRecords, fsync: shape.fsync)
        let destination = try FileStoreDestination(
            configuration: config, spool: spool, localNode: localNode, logger: quietLogger)
        let task = Task { try await destination.run() }

        // Appended while the destination runs, so it also waits for records between chunks.
        var expected: [String] = []
        for chunk in 0..<6 {
            let events = (0..<500).map { i -> TestEvent in
                let n = chunk * 500 + i
                // Every third event was relayed from another node and keeps its origin.
                let origin = n % 3 == 0 ? EventOrigin(node: remoteNode, seq: UInt64(10_000 + n)) : nil
                return TestEvent(host: "web-0\(n % 3)", program: n % 2 == 0 ? "nginx" : "php", n: n, origin: origin)
            }
            expected += try await append(events, to: spool, localNode: localNode)
        }
        try await waitForCursor(spool, "file-archive", atLeast: 3000)
        task.cancel()
        try await task.value

        let lines = try readLines(under: dir.path)
        expectExactlyOnce(lines, expected: expected)
        expectJournalOrder(lines)
        #expect(Set(lines.map(\.path)).count == 6)
        for line in lines {
            let n = try #require(line.object["n"]?.int64Value)
            #expect(line.path == "central/web-0\(n % 3)/\(n % 2 == 0 ? "nginx" : "php").log")
        }
        #expect(try await spool.openCursor("file-archive").seq == 3000)
        #expect(destination.recordsWritten == 3000)
        #expect(destination.undecodableRecords == 0)
        #expect(destination.bytesTruncated == 0)
        #expect(destination.filesOpen == 0)
        let totalBytes = try allFiles(under: dir.path).reduce(0) { $0 + fileSize(dir.path + "/" + $1) }
        #expect(UInt64(destination.bytesWritten) == totalBytes)
    }

    @Test("cancelled mid-stream and restarted: every event once")
    func cancelAndRestart() async throws {
        let dir = try TemporaryDirectory()
        let spool = InMemorySpool()
        let config = FileStoreConfiguration(
            name: "archive", pathTemplate: dir.path + "/${HOST}/${PROGRAM}.log", batchRecords: 50, fsync: false)
        let events = (0..<2000).map { TestEvent(host: "h\($0 % 3)", program: "p\($0 % 2)", n: $0) }
        let expected = try await append(events, to: spool, localNode: localNode)

        let first = try FileStoreDestination(
            configuration: config, spool: spool, localNode: localNode, logger: quietLogger)
        let task = Task { try await first.run() }
        try await waitForCursor(spool, "file-archive", atLeast: 300)
        task.cancel()
        try await task.value
        let stoppedAt = try await spool.openCursor("file-archive").seq
        #expect(stoppedAt < 2000, "expected the destination to stop mid-stream")

        let second = try FileStoreDestination(
            configuration: config, spool: spool, localNode: localNode, logger: quietLogger)
        let task2 = Task { try await second.run() }
        try await waitForCursor(spool, "file-archive", atLeast: 2000)
        task2.cancel()
        try await task2.value

        let lines = try readLines(under: dir.path)
        expectExactlyOnce(lines, expected: expected)
        expectJournalOrder(lines)
        #expect(first.recordsWritten + second.recordsWritten == 2000)
    }

    /// Crashes (a commit that fails, after which the "process" is gone) at seeded points, with torn and
    /// repeated lines appended after each crash to every file the committed state allows to be written,
    /// then restarts on the same journal and directory; in the end every event is there exactly once.
    @Test(
        "crash at any commit, torn writes after it: every event exactly once",
        arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func repeatedCrashes(seed: UInt64) async throws {
        let dir = try TemporaryDirectory()
        let inner = InMemorySpool()
        let config = FileStoreConfiguration(
            name: "archive", pathTemplate: dir.path + "/${HOST}/${PROGRAM}.log", batchRecords: 37,
            fsync: seed % 2 == 0)
        // New hosts keep appearing, so later batches create files between commits.
        let events = (0..<600).map { TestEvent(host: "h\($0 / 120 + $0 % 2)", program: "p\($0 % 2)", n: $0) }
        let expected = try await append(events, to: inner, localNode: localNode)
        // A file that exists before the destination ever writes to it: its old content must survive.
        let oldLine = "{\"_id\":\"old\",\"message\":\"from before\"}\n"
        try appendBytes(oldLine, to: dir.path + "/h3/p1.log")

        var rng = SplitMix64(seed: seed)
        var crashes = 0
        var cut = 0
        var drained = false
        for _ in 0..<1000 where !drained {
            let allowed = Int(rng.next() % 5)
            let spool = CrashingSpool(inner, commitsAllowed: allowed)
            let destination = try FileStoreDestination(
                configuration: config, spool: spool, localNode: localNode, logger: quietLogger)
            do {
                try await destination.run()
            } catch is CrashingSpool.SimulatedCrash {
                crashes += 1
                // What a process killed right now could have left beyond the committed lengths.
                let state = try FileStoreCursorState(decoding: try await inner.openCursor("file-archive").state)
                for path in state.lengths.keys {
                    let junk = rng.next() % 2 == 0 ? "{\"_id\":\"torn" : "{\"_id\":\"repeated\"}\n{\"_id\":\"to"
                    try appendBytes(junk, to: path)
                }
            } catch is CrashingSpool.Drained {
                drained = true
            }
            cut += destination.bytesTruncated
        }
        #expect(drained)
        #expect(crashes > 3)
        #expect(cut > 0)
        #expect(try await inner.openCursor("file-archive").seq == 600)

        #expect(
            try String(decoding: readFileBytes(dir.path + "/h3/p1.log").prefix(oldLine.utf8.count), as: UTF8.self)
                == oldLine)
        let lines = try readLines(under: dir.path).filter { $0.id != "old" }
        expectExactlyOnce(lines, expected: expected)
        expectJournalOrder(lines)
    }

    @Test(
        "a file first written after the last commit is cut back to its length at registration",
        arguments: [false, true])
    func newFileCutAfterCrash(preexisting: Bool) async throws {
        let dir = try TemporaryDirectory()
        let inner = InMemorySpool()
        let config = FileStoreConfiguration(
            name: "archive", pathTemplate: dir.path + "/${HOST}.log", batchRecords: 100, fsync: true)
        let pathA = dir.path + "/a.log"
        let pathB = dir.path + "/b.log"
        let oldContent = "{\"_id\":\"old\"}\n"
        if preexisting { try appendBytes(oldContent, to: pathB) }
        let oldSize = preexisting ? UInt64(oldContent.utf8.count) : 0

        // Run 1: host a only; registration of a.log, then its batch commit; then nothing more to read.
        var expected = try await append(
            (0..<10).map { TestEvent(host: "a", program: "p", n: $0) }, to: inner, localNode: localNode)
        let run1 = try FileStoreDestination(
            configuration: config, spool: CrashingSpool(inner), localNode: localNode, logger: quietLogger)
        await #expect(throws: CrashingSpool.Drained.self) { try await run1.run() }
        let sizeA = fileSize(pathA)

        // Run 2: b.log is new since the last commit. Its registration commit goes through, the batch is
        // written, and the process dies before the batch commit.
        expected += try await append(
            (10..<30).map { TestEvent(host: $0 % 2 == 0 ? "a" : "b", program: "p", n: $0) }, to: inner,
            localNode: localNode)
        let run2 = try FileStoreDestination(
            configuration: config, spool: CrashingSpool(inner, commitsAllowed: 1), localNode: localNode,
            logger: quietLogger)
        await #expect(throws: CrashingSpool.SimulatedCrash.self) { try await run2.run() }
        let committed = try FileStoreCursorState(decoding: try await inner.openCursor("file-archive").state)
        #expect(committed.lengths == [pathA: sizeA, pathB: oldSize])
        #expect(try await inner.openCursor("file-archive").seq == 10)
        let uncommitted = (fileSize(pathA) - sizeA) + (fileSize(pathB) - oldSize)
        #expect(fileSize(pathB) > oldSize)

        // Run 3: both files are cut back to the committed lengths, then the batch is written once.
        let run3 = try FileStoreDestination(
            configuration: config, spool: CrashingSpool(inner), localNode: localNode, logger: quietLogger)
        await #expect(throws: CrashingSpool.Drained.self) { try await run3.run() }
        #expect(UInt64(run3.bytesTruncated) == uncommitted)
        #expect(try await inner.openCursor("file-archive").seq == 30)

        let lines = try readLines(under: dir.path).filter { $0.id != "old" }
        expectExactlyOnce(lines, expected: expected)
        expectJournalOrder(lines)
        if preexisting {
            #expect(
                try String(decoding: readFileBytes(pathB).prefix(oldContent.utf8.count), as: UTF8.self) == oldContent)
        }
    }

    @Test("hostile host and program values stay inside the base directory")
    func pathSanitisation() async throws {
        let dir = try TemporaryDirectory()
        let spool = InMemorySpool()
        let config = FileStoreConfiguration(
            name: "archive", pathTemplate: dir.path + "/base/${HOST}/${PROGRAM}.log", fsync: false)
        let hostile: [(String?, String?)] = [
            ("../../etc", "passwd"), ("..", ".."), (".", "."), ("", ""), ("a/b", "../x"), (nil, nil),
            ("nul\u{0}byte", "p"), (String(repeating: "é", count: 300), "long"),
        ]
        let expected = try await append(
            hostile.enumerated().map { TestEvent(host: $1.0, program: $1.1, n: $0) }, to: spool, localNode: localNode)
        let destination = try FileStoreDestination(
            configuration: config, spool: CrashingSpool(spool), localNode: localNode, logger: quietLogger)
        await #expect(throws: CrashingSpool.Drained.self) { try await destination.run() }

        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["base"])
        let lines = try readLines(under: dir.path)
        expectExactlyOnce(lines, expected: expected)
        let paths = Set(lines.map(\.path))
        #expect(
            paths == [
                "base/______etc/passwd.log", "base/__/__.log", "base/_/_.log", "base/unknown/unknown.log",
                "base/a_b/___x.log", "base/nul_byte/p.log", "base/" + String(repeating: "é", count: 127) + "/long.log",
            ])
        for path in paths { #expect(path.split(separator: "/").count == 3, "\(path)") }
    }

    @Test("undecodable records are written as parse_error documents and never stall the cursor")
    func undecodableRecords() async throws {
        let dir = try TemporaryDirectory()
        let spool = InMemorySpool()
        let config = FileStoreConfiguration(name: "x", pathTemplate: dir.path + "/${HOST}/${PROGRAM}.log", fsync: false)
        let notAnEnvelope: [UInt8] = [0x07, 0xFF, 0x41]
        let notAnObject = SpooledEvent(origin: nil, document: Array("[1,2]".utf8)).encoded()
        let multiLine = SpooledEvent(origin: nil, document: Array("{\"host\":\"h\",\n \"program\":\"p\"}".utf8))
            .encoded()
        _ = try await spool.append([notAnEnvelope, notAnObject, multiLine])
        let destination = try FileStoreDestination(
            configuration: config, spool: CrashingSpool(spool), localNode: localNode, logger: quietLogger)
        await #expect(throws: CrashingSpool.Drained.self) { try await destination.run() }

        #expect(try await spool.openCursor("file-x").seq == 3)
        #expect(destination.undecodableRecords == 2)
        let lines = try readLines(under: dir.path)
        let unknown = lines.filter { $0.path == "unknown/unknown.log" }
        #expect(unknown.map(\.id) == ["\(localNode.hex)-1", "\(localNode.hex)-2"])
        #expect(unknown.allSatisfy { $0.object["parse_error"]?.stringValue?.isEmpty == false })
        #expect(unknown[1].object["raw"] == .string("[1,2]"))
        #expect(unknown[0].object["raw"]?.stringValue?.hasSuffix("A") == true)
        #expect(lines.filter { $0.path == "h/p.log" }.map(\.id) == ["\(localNode.hex)-3"])
    }

    @Test("a failed write is retried after cutting back, and nothing is committed until it succeeds")
    func writeErrorsAreRetried() async throws {
        let dir = try TemporaryDirectory()
        let spool = InMemorySpool()
        let config = FileStoreConfiguration(
            name: "x", pathTemplate: dir.path + "/${HOST}/out.log", fsync: false,
            ioRetryDelay: .milliseconds(5), ioRetryMaxDelay: .milliseconds(20))
        // "blocked" is a plain file, so `blocked/out.log` cannot be created (ENOTDIR) until it is removed.
        try appendBytes("", to: dir.path + "/blocked")
        let expected = try await append(
            (0..<20).map { TestEvent(host: $0 % 2 == 0 ? "ok" : "blocked", program: nil, n: $0) }, to: spool,
            localNode: localNode)
        let destination = try FileStoreDestination(
            configuration: config, spool: spool, localNode: localNode, logger: quietLogger)
        let task = Task { try await destination.run() }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while destination.writeErrors < 3, clock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        #expect(destination.writeErrors >= 3)
        #expect(try await spool.openCursor("file-x").seq == 0)
        #expect(destination.bytesTruncated > 0)  // ok/out.log was written before blocked/ failed, and cut back

        try FileManager.default.removeItem(atPath: dir.path + "/blocked")
        try await waitForCursor(spool, "file-x", atLeast: 20)
        task.cancel()
        try await task.value
        let lines = try readLines(under: dir.path)
        expectExactlyOnce(lines, expected: expected)
        expectJournalOrder(lines)
    }

    @Test("run() refuses to run twice at once")
    func alreadyRunning() async throws {
        let dir = try TemporaryDirectory()
        let spool = InMemorySpool()
        let config = FileStoreConfiguration(name: "x", pathTemplate: dir.path + "/${HOST}.log")
        let destination = try FileStoreDestination(
            configuration: config, spool: spool, localNode: localNode, logger: quietLogger)
        let task = Task { try await destination.run() }
        _ = try await spool.append([TestEvent(host: "h", program: nil, n: 0).payload])
        try await waitForCursor(spool, "file-x", atLeast: 1)  // so the first run() is surely running
        await #expect {
            try await destination.run()
        } throws: { error in
            (error as? FileStoreError)?.code == .alreadyRunning
        }
        task.cancel()
        try await task.value
    }

    @Test("an invalid configuration is refused with every problem named")
    func invalidConfiguration() throws {
        let config = FileStoreConfiguration(name: "", pathTemplate: "/x/${NOPE}.log", maxOpenFiles: 0)
        #expect(config.problems().count == 3)
        #expect(throws: FileStoreError.self) {
            _ = try FileStoreDestination(
                configuration: config, spool: InMemorySpool(), localNode: localNode, logger: quietLogger)
        }
    }
}
