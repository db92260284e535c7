import Foundation
import LogferryCore
import LogferryTesting
import Logging
import Synchronization
import Testing

@testable import LogferrySources

/// The unix-dgram source with real datagrams from unbound senders (what syslog(3), logger and nginx send).
struct UnixDatagramSourceTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Sends one datagram from an unbound socket, like syslog(3).
    func send(_ bytes: [UInt8], to path: String) -> Int {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// Runs the source, collecting what it delivers, until `count` messages arrived.
    func collect(_ config: UnixDatagramConfiguration, count: Int, _ produce: @escaping @Sendable () -> Void)
        async throws -> [RawMessage]
    {
        let got = Mutex<[RawMessage]>([])
        let source = UnixDatagramSource(config: config, logger: logger)
        let task = Task {
            try await source.run { batch in
                got.withLock { $0 += batch }
                return .immediate
            }
        }
        #expect(await eventually(timeout: 10) { FileManager.default.fileExists(atPath: config.path) })
        produce()
        let arrived = await eventually(timeout: 20) { got.withLock { $0.count } >= count }
        task.cancel()
        _ = try? await task.value
        #expect(arrived, "only \(got.withLock { $0.count }) of \(count)")
        return got.withLock { $0 }
    }

    @Test func receivesFromUnboundSendersInOrder() async throws {
        let dir = try makeTempDirectory("dgram")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let messages = try await collect(UnixDatagramConfiguration(name: "t", path: path), count: 2000) {
            for i in 0..<2000 { _ = send(Array("<13>msg \(i)".utf8), to: path) }
        }
        #expect(messages.map { String(decoding: $0.bytes, as: UTF8.self) } == (0..<2000).map { "<13>msg \($0)" })
        // The socket is removed when the source stops.
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func longDatagramsAreCutAndFlagged() async throws {
        let dir = try makeTempDirectory("dgram")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let config = UnixDatagramConfiguration(name: "t", path: path, maxMessageBytes: 300)
        let messages = try await collect(config, count: 2) {
            _ = send([UInt8](repeating: 65, count: 5000), to: path)
            _ = send(Array("short".utf8), to: path)
        }
        #expect(messages[0].bytes.count == 300)
        #expect(messages[0].truncated)
        #expect(!messages[1].truncated)
    }

    @Test func replacesAStaleSocketAndAppliesTheMode() throws {
        let dir = try makeTempDirectory("dgram")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let config = UnixDatagramConfiguration(name: "t", path: path, mode: 0o620)
        let first = try UnixDatagramSource.bindSocket(config)
        close(first)  // the file stays: a stale socket, as after a crash
        let second = try UnixDatagramSource.bindSocket(config)
        defer { close(second) }
        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect(st.st_mode & 0o7777 == 0o620)
        #expect(send(Array("x".utf8), to: path) == 1)
    }

    /// `owner` and `group` (chown needs root: CI runs as root; elsewhere the test is skipped).
    @Test(.enabled(if: geteuid() == 0, "chown needs root")) func appliesOwnerAndGroup() throws {
        let dir = try makeTempDirectory("dgram")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = UnixDatagramConfiguration(name: "t", path: dir + "/s.sock", mode: 0o660)
        config.owner = UnixSocketFile.userID("nobody")
        config.group = UnixSocketFile.groupID("65533")
        #expect(config.owner != nil)
        let fd = try UnixDatagramSource.bindSocket(config)
        defer { close(fd) }
        var st = stat()
        #expect(lstat(config.path, &st) == 0)
        #expect(st.st_uid == config.owner && st.st_gid == 65533 && st.st_mode & 0o7777 == 0o660)
    }

    @Test func refusesToReplaceAFileThatIsNotASocket() throws {
        let dir = try makeTempDirectory("dgram")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/precious.log"
        try "keep me".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: UnixSocketError.self) {
            try UnixDatagramSource.bindSocket(UnixDatagramConfiguration(name: "t", path: path))
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }

    @Test(.enabled(if: findTool("logger") != nil || integrationRequired))
    func realLoggerReachesTheSource() async throws {
        let tool = try #require(findTool("logger"))
        let dir = try makeTempDirectory("dgram")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let messages = try await collect(UnixDatagramConfiguration(name: "t", path: path), count: 1) {
            _ = try? runTool(tool, ["-d", "-u", path, "-t", "probe", "hello from logger"])
        }
        let text = String(decoding: messages[0].bytes, as: UTF8.self)
        #expect(text.contains("probe"))
        #expect(text.hasSuffix("hello from logger"))
    }
}

struct BoundedMessageBufferTests {
    func msg(_ i: Int) -> RawMessage { RawMessage(bytes: [UInt8(i % 256)], receivedAt: Timestamp(nanos: 0)) }

    @Test func refusesWhatDoesNotFitAndHandsOutEverythingWaiting() async {
        let b = BoundedMessageBuffer(capacity: 10)
        #expect(b.push((0..<6).map(msg)))
        #expect(!b.push((0..<6).map(msg)))  // 12 > 10: refused whole
        #expect(b.push((6..<10).map(msg)))
        let first = await b.take(max: 4)
        #expect(first?.count == 4)
        let rest = await b.take(max: 100)
        #expect(rest?.count == 6)
        b.finish()
        #expect(await b.take(max: 100) == nil)
    }

    @Test func aWaitingTakerWakesOnPush() async {
        let b = BoundedMessageBuffer(capacity: 10)
        async let got = b.take(max: 10)
        try? await Task.sleep(for: .milliseconds(20))
        #expect(b.push([msg(1)]))
        #expect(await got?.count == 1)
    }
}
