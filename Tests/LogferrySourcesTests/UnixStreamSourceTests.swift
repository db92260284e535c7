import Foundation
import LogferryCore
import LogferryTesting
import Logging
import Synchronization
import Testing

@testable import LogferrySources

/// The unix-stream source with real stream clients: plain sockets written from their own threads (so a blocked
/// write never holds a thread of the cooperative pool) and the real `logger -T`.
struct UnixStreamSourceTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A connected, blocking stream socket; -1 when the connect failed.
    static func connectStream(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in raw.copyBytes(from: Array(path.utf8) + [0]) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    /// Writes everything (blocking); `progress` counts bytes written so far. False when the peer went away.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], progress: Count? = nil) -> Bool {
        var off = 0
        while off < bytes.count {
            // At most 64 KiB per call, so `progress` shows how far a blocked writer got.
            let n = bytes[off..<min(bytes.count, off + 65536)].withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            off += n
            progress?.add(n)
        }
        return true
    }

    /// Runs `body` on a plain thread; `done` is set when it returns (tests await it with `eventually`).
    static func onThread(_ body: @escaping @Sendable () -> Void) -> Flag {
        let done = Flag()
        let tid = startThread {
            body()
            done.set()
        }
        pthread_detach(tid)
        return done
    }

    final class Count: Sendable {
        private let value = Atomic<Int>(0)
        func add(_ n: Int) { value.add(n, ordering: .relaxed) }
        var current: Int { value.load(ordering: .relaxed) }
    }

    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .relaxed) }
        var isSet: Bool { value.load(ordering: .relaxed) }
    }

    /// What a running source delivered, batch by batch.
    final class Sink: Sendable {
        let batches = Mutex<[[RawMessage]]>([])
        var messages: [RawMessage] { batches.withLock { $0.flatMap { $0 } } }
        var count: Int { batches.withLock { $0.reduce(0) { $0 + $1.count } } }
        var texts: [String] { messages.map { String(decoding: $0.bytes, as: UTF8.self) } }
    }

    /// Starts the source, waits for its socket, runs `body`, then stops the source.
    func withSource(
        _ config: UnixStreamConfiguration, counters: StreamSourceCounters = .init(),
        gate: (@Sendable () async -> Void)? = nil, ready: (() -> Bool)? = nil, _ body: (Sink) async throws -> Void
    ) async throws {
        let sink = Sink()
        let source = UnixStreamSource(config: config, counters: counters, logger: logger)
        let task = Task {
            try await source.run { batch in
                if let gate { await gate() }
                sink.batches.withLock { $0.append(batch) }
                return .immediate
            }
        }
        #expect(await eventually(timeout: 10) { ready?() ?? FileManager.default.fileExists(atPath: config.path) })
        do {
            try await body(sink)
        } catch {
            task.cancel()
            throw error
        }
        task.cancel()
        _ = try? await task.value
    }

    func lines(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func newlineFramingAcrossWritesKeepsAPartialLastLineAtEOF() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let expected = (0..<3000).map { "<13>line number \($0)" } + ["partial tail"]
        let payload = Array((expected.dropLast().map { $0 + "\n" }.joined() + "\r\n" + "partial tail").utf8)
        try await withSource(UnixStreamConfiguration(name: "t", path: path)) { sink in
            let done = Self.onThread {
                let fd = Self.connectStream(path)
                // Writes of odd sizes, so lines are split across reads.
                var off = 0
                while off < payload.count {
                    let end = min(payload.count, off + 997)
                    Self.writeAll(fd, Array(payload[off..<end]))
                    off = end
                    if off % 7 == 0 { usleep(100) }
                }
                close(fd)
            }
            #expect(await eventually(timeout: 20) { done.isSet && sink.count >= expected.count })
            #expect(sink.texts == expected)
            // Batches follow reads, not messages.
            #expect(sink.batches.withLock { $0.count } < expected.count / 4)
        }
    }

    @Test func oneWriteOfManyLinesIsFewBatches() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        try await withSource(UnixStreamConfiguration(name: "t", path: path)) { sink in
            let done = Self.onThread {
                let fd = Self.connectStream(path)
                Self.writeAll(fd, Array((0..<100).map { "m\($0)\n" }.joined().utf8))
                close(fd)
            }
            #expect(await eventually(timeout: 10) { done.isSet && sink.count >= 100 })
            #expect(sink.batches.withLock { $0.count } <= 2)
        }
    }

    @Test(arguments: [UnixStreamConfiguration.FramingMode.auto, .octetCounted])
    func octetCountingSplitAcrossWrites(mode: UnixStreamConfiguration.FramingMode) async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let messages = [
            "<13>first", "<13>with\nnewline inside", "<14>" + String(repeating: "x", count: 5000), "<13>last",
        ]
        let payload = Array(messages.map { "\($0.utf8.count) \($0)" }.joined().utf8)
        try await withSource(UnixStreamConfiguration(name: "t", path: path, framing: mode)) { sink in
            let done = Self.onThread {
                let fd = Self.connectStream(path)
                // Split inside a length, right after it, and inside bodies.
                let cuts = [1, 3, 6, 15, 55, 2055, 7055, payload.count].filter { $0 <= payload.count }
                var start = 0
                for end in cuts where end > start {
                    Self.writeAll(fd, Array(payload[start..<end]))
                    start = end
                    usleep(2000)
                }
                close(fd)
            }
            #expect(await eventually(timeout: 10) { done.isSet && sink.count >= messages.count })
            #expect(sink.texts == messages)
        }
    }

    @Test(.enabled(if: findTool("logger") != nil || integrationRequired), arguments: [false, true])
    func realLoggerOverTCPStyleFraming(octetCount: Bool) async throws {
        let tool = try #require(findTool("logger"))
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        try await withSource(UnixStreamConfiguration(name: "t", path: path)) { sink in
            let args = ["-T"] + (octetCount ? ["--octet-count"] : []) + ["-u", path, "-t", "probe"]
            let done = Self.onThread {
                _ = try? runTool(tool, args + ["hello from logger"])
                _ = try? runTool(tool, args + ["second message"])
            }
            #expect(await eventually(timeout: 10) { done.isSet && sink.count >= 2 })
            // Two logger runs are two connections: their order at the source is not defined.
            let texts = sink.texts.sorted { $0.hasSuffix("hello from logger") && !$1.hasSuffix("hello from logger") }
            try #require(texts.count == 2)
            #expect(texts.allSatisfy { $0.hasPrefix("<13>") && $0.contains("probe: ") })
            #expect(texts[0].hasSuffix("hello from logger"))
            #expect(texts[1].hasSuffix("second message"))
        }
    }

    @Test func manyConcurrentClientsEachLineOnce() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let clients = 20
        let perClient = 500
        try await withSource(UnixStreamConfiguration(name: "t", path: path)) { sink in
            let flags = (0..<clients).map { c in
                Self.onThread {
                    let fd = Self.connectStream(path)
                    var rng = SystemRandomNumberGenerator()
                    let payload = Array((0..<perClient).map { "client \(c) line \($0)\n" }.joined().utf8)
                    var off = 0
                    while off < payload.count {
                        let end = min(payload.count, off + Int.random(in: 1...4096, using: &rng))
                        Self.writeAll(fd, Array(payload[off..<end]))
                        off = end
                    }
                    close(fd)
                }
            }
            #expect(await eventually(timeout: 30) { flags.allSatisfy(\.isSet) && sink.count >= clients * perClient })
            let texts = sink.texts
            #expect(texts.count == clients * perClient)
            #expect(Set(texts).count == clients * perClient)
            for c in 0..<clients {
                let prefix = "client \(c) line "
                #expect(texts.filter { $0.hasPrefix(prefix) } == (0..<perClient).map { prefix + "\($0)" })
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aFullJournalBlocksTheWriterAndLosesNothing() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let released = Flag()
        let lineCount = 100_000
        let payload = Array((0..<lineCount).map { String(format: "%099d\n", $0) }.joined().utf8)  // 10 MB
        let written = Count()
        let counters = StreamSourceCounters()
        // An idle timeout far shorter than the stall: a writer held back by the journal is not idle.
        try await withSource(
            UnixStreamConfiguration(name: "t", path: path, idleTimeout: .milliseconds(200)), counters: counters,
            gate: {
                while !released.isSet { try? await Task.sleep(for: .milliseconds(10)) }
            }
        ) { sink in
            let done = Self.onThread {
                let fd = Self.connectStream(path)
                Self.writeAll(fd, payload, progress: written)
                close(fd)
            }
            // The journal "is full": the first deliver waits, so the source stops reading and the kernel
            // stops the writer once the socket buffers are full.
            #expect(await eventually(timeout: 10) { counters.received.load(ordering: .relaxed) > 0 })
            try await Task.sleep(for: .seconds(1))
            let stalledAt = written.current
            try await Task.sleep(for: .milliseconds(500))
            #expect(!done.isSet)
            #expect(written.current == stalledAt, "the writer kept going")
            // Socket buffers plus a couple of 64 KiB reads (about 200 KB here), nowhere near the 10 MB.
            #expect(stalledAt < 2_000_000, "\(stalledAt) bytes were taken while the journal was full")
            released.set()
            #expect(await eventually(timeout: 60) { done.isSet && sink.count >= lineCount })
            let texts = sink.texts
            #expect(texts.count == lineCount)
            #expect(texts == (0..<lineCount).map { String(format: "%099d", $0) })
            #expect(counters.idleClosed.load(ordering: .relaxed) == 0)
        }
    }

    @Test func anIdleConnectionIsClosedAndFreesItsSlot() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let counters = StreamSourceCounters()
        let config = UnixStreamConfiguration(name: "t", path: path, maxConnections: 1, idleTimeout: .milliseconds(300))
        try await withSource(config, counters: counters) { sink in
            let staller = Self.connectStream(path)
            defer { close(staller) }
            Self.writeAll(staller, lines("then silence\n"))
            var byte: UInt8 = 0
            #expect(await eventually(timeout: 10) { recv(staller, &byte, 1, Int32(MSG_DONTWAIT)) == 0 })
            #expect(await eventually(timeout: 10) { counters.active.load(ordering: .relaxed) == 0 })
            #expect(counters.idleClosed.load(ordering: .relaxed) == 1)
            let next = Self.connectStream(path)
            Self.writeAll(next, lines("next client\n"))
            close(next)
            #expect(await eventually(timeout: 10) { sink.count == 2 })
            #expect(sink.texts == ["then silence", "next client"])
            #expect(counters.refused.load(ordering: .relaxed) == 0)
        }
    }

    @Test func connectionsBeyondTheLimitAreClosedAndCounted() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let counters = StreamSourceCounters()
        try await withSource(UnixStreamConfiguration(name: "t", path: path, maxConnections: 2), counters: counters) {
            sink in
            let a = Self.connectStream(path)
            let b = Self.connectStream(path)
            Self.writeAll(a, lines("from a\n"))
            Self.writeAll(b, lines("from b\n"))
            #expect(await eventually(timeout: 10) { sink.count == 2 })
            #expect(counters.active.load(ordering: .relaxed) == 2)
            // The third is accepted by the kernel, then closed by the source: its reads see EOF.
            let c = Self.connectStream(path)
            var byte: UInt8 = 0
            #expect(await eventually(timeout: 10) { recv(c, &byte, 1, Int32(MSG_DONTWAIT)) == 0 })
            #expect(counters.refused.load(ordering: .relaxed) == 1)
            close(c)
            // Closing one frees a slot.
            close(a)
            #expect(await eventually(timeout: 10) { counters.active.load(ordering: .relaxed) == 1 })
            let d = Self.connectStream(path)
            Self.writeAll(d, lines("from d\n"))
            Self.writeAll(b, lines("b again\n"))
            #expect(await eventually(timeout: 10) { sink.count == 4 })
            #expect(Set(sink.texts) == ["from a", "from b", "from d", "b again"])
            close(b)
            close(d)
        }
    }

    @Test func aFloodOfConnectionsBeyondTheLimitLeavesTheServedOnesWorking() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let counters = StreamSourceCounters()
        let limit = 8
        try await withSource(UnixStreamConfiguration(name: "t", path: path, maxConnections: limit), counters: counters)
        {
            sink in
            // Connects block while the backlog is full, until the source accepts: off the cooperative pool.
            let served = try await offThePool { (0..<limit).map { _ in Self.connectStream(path) } }
            for (i, fd) in served.enumerated() { Self.writeAll(fd, lines("first \(i)\n")) }
            #expect(await eventually(timeout: 10) { sink.count == limit })
            // 300 more at once (the kernel backlog is 256, so connect itself may fail for some).
            let flood = try await offThePool { (0..<300).map { _ in Self.connectStream(path) } }
            #expect(
                await eventually(timeout: 20) {
                    counters.refused.load(ordering: .relaxed) == flood.filter { $0 >= 0 }.count
                })
            for fd in flood where fd >= 0 { close(fd) }
            for (i, fd) in served.enumerated() { Self.writeAll(fd, lines("second \(i)\n")) }
            #expect(await eventually(timeout: 10) { sink.count == 2 * limit })
            #expect(Set(sink.texts) == Set((0..<limit).flatMap { ["first \($0)", "second \($0)"] }))
            #expect(counters.connections.load(ordering: .relaxed) == limit)
            for fd in served { close(fd) }
        }
    }

    @Test func badInputDoesNotHurtOtherClients() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let counters = StreamSourceCounters()
        let config = UnixStreamConfiguration(name: "t", path: path, maxMessageBytes: 64 * 1024)
        try await withSource(config, counters: counters) { sink in
            let good = Self.onThread {
                let fd = Self.connectStream(path)
                for i in 0..<200 {
                    Self.writeAll(fd, Array("good \(i)\n".utf8))
                    usleep(500)
                }
                close(fd)
            }
            let bad = Self.onThread {
                let fd = Self.connectStream(path)
                var junk = [UInt8](repeating: 0, count: 300)
                for i in junk.indices { junk[i] = UInt8((i * 7919) % 256) }
                Self.writeAll(fd, Array("ok before\n".utf8))
                Self.writeAll(fd, junk + [0x0A])
                Self.writeAll(fd, [0, 0, 0, 0xFF, 0xFE, 0xC3, 0x28, 0x0A])  // NULs, invalid UTF-8
                Self.writeAll(fd, [UInt8](repeating: 0x41, count: 1 << 20) + [0x0A])  // 1 MiB line
                Self.writeAll(fd, Array("ok after\n".utf8))
                close(fd)
            }
            // An octet-counted connection with a broken length: delivered with the bytes as they are.
            let badCount = Self.onThread {
                let fd = Self.connectStream(path)
                Self.writeAll(fd, Array("12x broken\n5 <13>y9 truncated".utf8))
                close(fd)
            }
            // A client that connects and stalls, sending nothing.
            let staller = Self.connectStream(path)
            defer { close(staller) }
            #expect(
                await eventually(timeout: 20) { good.isSet && bad.isSet && badCount.isSet && sink.count >= 200 + 5 + 3 }
            )
            let texts = sink.texts
            #expect(texts.filter { $0.hasPrefix("good ") } == (0..<200).map { "good \($0)" })
            #expect(texts.contains("ok before"))
            #expect(texts.contains("ok after"))
            let long = sink.messages.filter { $0.bytes.first == 0x41 }
            #expect(long.count == 1)
            #expect(long.first?.bytes.count == 64 * 1024)
            #expect(long.first?.truncated == true)
            #expect(counters.truncated.load(ordering: .relaxed) == 1)
            #expect(sink.messages.contains { $0.bytes == [0, 0, 0, 0xFF, 0xFE, 0xC3, 0x28] })
            #expect(texts.contains("12x broken"))
            #expect(texts.contains("<13>y"))
            #expect(texts.contains("truncated"))
            #expect(counters.framingErrors.load(ordering: .relaxed) >= 1)
            #expect(sink.messages.filter { $0.truncated }.count == 1)
        }
    }

    @Test func replacesAStaleSocketAndAppliesTheMode() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        // A socket file left behind, as after a crash.
        close(try UnixDatagramSource.bindSocket(UnixDatagramConfiguration(name: "old", path: path)))
        func mode() -> mode_t? {
            var st = stat()
            return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : nil
        }
        #expect(mode() != 0o620)
        // The file exists from the start, so readiness is the mode the source sets after its bind.
        try await withSource(UnixStreamConfiguration(name: "t", path: path, mode: 0o620), ready: { mode() == 0o620 }) {
            sink in
            let fd = Self.connectStream(path)
            #expect(fd >= 0)
            Self.writeAll(fd, lines("hello"))
            close(fd)
            #expect(await eventually(timeout: 10) { sink.texts == ["hello"] })
        }
        // The socket is removed when the source stops.
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    struct JournalBroken: Error {}

    @Test func aFailingDeliverEndsTheSource() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let source = UnixStreamSource(config: UnixStreamConfiguration(name: "t", path: path), logger: logger)
        let task = Task { try await source.run { _ in throw JournalBroken() } }
        #expect(await eventually(timeout: 10) { FileManager.default.fileExists(atPath: path) })
        let idle = Self.connectStream(path)  // another connection, open and silent: it must not keep `run` alive
        defer { close(idle) }
        let fd = Self.connectStream(path)
        Self.writeAll(fd, lines("x\n"))
        close(fd)
        await #expect(throws: JournalBroken.self) { try await task.value }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func refusesToReplaceAFileThatIsNotASocket() async throws {
        let dir = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/precious.log"
        try "keep me".write(toFile: path, atomically: false, encoding: .utf8)
        let source = UnixStreamSource(config: UnixStreamConfiguration(name: "t", path: path), logger: logger)
        await #expect(throws: UnixSocketError.self) { try await source.run { _ in .immediate } }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }
}

/// The per-connection framing decision and truncation flag, byte by byte.
struct StreamFrameReaderTests {
    @Test(arguments: [
        ("7 <13>abc", ["<13>abc"]),
        ("<13>abc\n<13>def\n", ["<13>abc", "<13>def"]),
        ("0 x\n", ["0 x"]),  // 0 is not a valid first length digit: newline framing
    ])
    func autoDetectsFromTheFirstByte(input: String, expected: [String]) {
        var reader = StreamFrameReader(framing: .auto, maxMessageBytes: 100)
        let counters = StreamSourceCounters()
        var out: [RawMessage] = []
        for byte in input.utf8 { out += reader.feed([byte], counters: counters) }
        out += reader.finish(counters: counters)
        #expect(out.map { String(decoding: $0.bytes, as: UTF8.self) } == expected)
    }

    @Test func aMessageOfExactlyTheLimitIsNotFlagged() {
        var reader = StreamFrameReader(framing: .lines, maxMessageBytes: 4)
        let counters = StreamSourceCounters()
        let out = reader.feed(Array("abcd\nabcde\n".utf8), counters: counters)
        #expect(out.map(\.bytes) == [Array("abcd".utf8), Array("abcd".utf8)])
        #expect(out.map(\.truncated) == [false, true])
    }
}
