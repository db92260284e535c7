import Foundation
import LogferryTesting
import Testing

/// Every source kind in one node, through the real binary, with real clients: `logger` on unix-dgram,
/// unix-stream (`-T`), udp (`-d -n`) and tcp (`-T -n --octet-count`), curl POSTing NDJSON to the http source, and a
/// tailed file. Each client also sends bad input (binary junk, NUL bytes, invalid UTF-8, a 1 MiB message); then
/// every good message is stored exactly once, every bad one became exactly one event (cut and flagged where too
/// long), the node is still serving, and its metrics count what each source received and truncated.
@Suite(.serialized)
struct AllSourcesTests {
    static let tools = ["logger", "curl"].allSatisfy { findTool($0) != nil }
    static let ready = tools && FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    @Test(.enabled(if: ready || integrationRequired, "needs logger, curl and a built logferry"))
    func everySourceStoresGoodInputOnceAndSurvivesBadInput() async throws {
        #expect(Self.ready, "LOGFERRY_REQUIRE_INTEGRATION=1 but logger, curl or the logferry binary is missing")
        guard Self.ready else { return }
        let dir = try makeTempDirectory("allsrc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (udp, tcp, http, metrics) = (freeTCPPort(), freeTCPPort(), freeTCPPort(), freeTCPPort())
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        try """
        node:
          name: all-01
          data_dir: \(dir)/data
          metrics_listen: 127.0.0.1:\(metrics)
        sources:
          dgram:
            type: unix-dgram
            path: \(dir)/dgram.sock
          stream:
            type: unix-stream
            path: \(dir)/stream.sock
            idle_timeout: 5s
          udp:
            type: udp
            listen: 127.0.0.1:\(udp)
          tcp:
            type: tcp
            listen: 127.0.0.1:\(tcp)
          http:
            type: http
            listen: 127.0.0.1:\(http)
            tokens: [k3y]
          files:
            type: file
            include: [\(dir)/logs/*.log]
        destinations:
          store:
            type: file
            path: \(dir)/store/${SOURCE}.log
        """.write(toFile: dir + "/logferry.yaml", atomically: false, encoding: .utf8)
        let check = try await offThePool {
            try LogferryProcess.runToCompletion(["check", "--config", dir + "/logferry.yaml"])
        }
        #expect(check.code == 0, "\(check.out)\(check.err)")
        let node = try LogferryProcess(arguments: ["run", "--config", dir + "/logferry.yaml"], logPath: dir + "/log")
        defer { node.terminate() }
        #expect(await eventually(timeout: 20) { canConnect(port: http) && canConnect(port: tcp) }, "\(node.log)")

        let n = 200
        func lines(_ tag: String) -> [String] { (0..<n).map { "\(tag)-good-\($0)" } }
        let logger = findTool("logger")!
        func run(_ args: [String], _ input: [UInt8]) throws {
            let r = try runTool(logger, args, stdin: Data(input))
            #expect(r.code == 0, "logger \(args): \(r.err)")
        }
        let text = { (tag: String) in Array((lines(tag).joined(separator: "\n") + "\n").utf8) }
        try run(["-d", "-u", dir + "/dgram.sock", "-t", "t"], text("dgram"))
        try run(["-T", "-u", dir + "/stream.sock", "-t", "t"], text("stream"))
        try run(["-d", "-n", "127.0.0.1", "-P", "\(udp)", "-t", "t"], text("udp"))
        try run(["-T", "-n", "127.0.0.1", "-P", "\(tcp)", "--octet-count", "--rfc5424", "-t", "t"], text("tcp"))
        try text("files").write(to: dir + "/logs/app.log")
        let ndjson = lines("http").map { #"{"msg":"\#($0)"}"# }.joined(separator: "\n") + "\n"
        let post = try runTool(
            findTool("curl")!,
            [
                "-s", "-w", "\n%{http_code}", "-H", "X-Log-Key: k3y", "-H", "Content-Type: application/x-ndjson",
                "--data-binary", "@-", "http://127.0.0.1:\(http)/events",
            ], stdin: Data(ndjson.utf8))
        #expect(post.out.hasSuffix("200"), "POST: \(post.out)")

        // Bad input on every source, sent raw (logger would clean it up).
        let junk: [[UInt8]] = [
            // Binary, without a newline byte.
            (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7919) }.map { $0 == 0x0A ? 0x0B : $0 },
            Array("nul\u{0}in\u{0}the middle".utf8),
            [0x62, 0x61, 0x64, 0xC3, 0x28, 0xFF, 0xFE, 0x21],  // invalid UTF-8
        ]
        let huge = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        try sendDatagrams(dir + "/dgram.sock", junk.map { String(decoding: $0, as: UTF8.self) })
        try sendStream(unixPath: dir + "/stream.sock", junk + [huge])
        try sendStream(tcpPort: tcp, junk + [huge])
        let badPost = try runTool(
            findTool("curl")!,
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Log-Key: k3y", "--data-binary", "@-",
                "http://127.0.0.1:\(http)/events",
            ],
            stdin: Data(junk[0]))
        #expect(badPost.out == "400", "junk POST answered \(badPost.out)")
        let wrongKey = try runTool(
            findTool("curl")!,
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Log-Key: nope", "-d", "{}",
                "http://127.0.0.1:\(http)/events",
            ])
        #expect(wrongKey.out == "401")
        var tail = (junk.flatMap { $0 + [0x0A] }) + huge + [0x0A]
        tail.append(contentsOf: Array("files-after-junk\n".utf8))
        let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/logs/app.log"))
        try fh.seekToEnd()
        try fh.write(contentsOf: Data(tail))
        try fh.close()

        // Good messages once each; bad ones one event each.
        func messages(_ source: String) -> [String] {
            storedDocuments(file: "\(dir)/store/\(source).log").compactMap {
                $0["message"] as? String ?? ($0["fields"] as? [String: Any])?["msg"] as? String
            }
        }
        let expectedCounts = ["dgram": n + 3, "stream": n + 4, "udp": n, "tcp": n + 4, "http": n, "files": n + 5]
        let complete = await eventually(timeout: 60, interval: 0.2) {
            expectedCounts.allSatisfy { storedDocuments(file: "\(dir)/store/\($0.key).log").count >= $0.value }
        }
        #expect(
            complete,
            "counts: \(expectedCounts.keys.sorted().map { "\($0)=\(storedDocuments(file: "\(dir)/store/\($0).log").count)" })\n\(node.log.suffix(2000))"
        )
        for (source, count) in expectedCounts {
            let docs = storedDocuments(file: "\(dir)/store/\(source).log")
            #expect(docs.count == count, "\(source): \(docs.count) events, expected \(count)")
            let good = messages(source).filter { $0.hasPrefix("\(source)-good-") }
            #expect(Set(good) == Set(lines(source)) && good.count == n, "\(source): \(good.count) good messages")
            #expect(Set(docs.compactMap { $0["_id"] as? String }).count == docs.count, "\(source): duplicate IDs")
        }
        for source in ["stream", "tcp", "files"] {
            let cut = storedDocuments(file: "\(dir)/store/\(source).log").filter {
                ($0["message"] as? String ?? "").hasPrefix("xxxx")
            }
            #expect(cut.count == 1, "\(source): the 1 MiB message should be one event")
            #expect(((cut.first?["message"] as? String)?.utf8.count ?? 0) <= 64 * 1024, "\(source): not cut")
        }
        #expect(messages("files").contains("files-after-junk"))
        #expect(node.isRunning, "the node died:\n\(node.log.suffix(2000))")

        let m = try runTool(findTool("curl")!, ["-s", "http://127.0.0.1:\(metrics)/metrics"]).out
        for (source, type) in [("stream", "unix-stream"), ("tcp", "tcp")] {
            #expect(
                m.contains("logferry_source_truncated_total{source=\"\(source)\",type=\"\(type)\"} 1"),
                "\(source) truncation not counted")
        }
        #expect(m.contains("logferry_source_http_rejected_total{source=\"http\",type=\"http\",reason=\"malformed\"} 1"))
        #expect(
            m.contains("logferry_source_http_rejected_total{source=\"http\",type=\"http\",reason=\"unauthorized\"} 1"))
    }

    /// Writes each message as one line on a fresh stream connection (unix socket or tcp).
    func sendStream(unixPath: String? = nil, tcpPort: Int? = nil, _ messages: [[UInt8]]) throws {
        let fd: Int32
        if let unixPath {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in raw.copyBytes(from: Array(unixPath.utf8) + [0]) }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        } else {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(tcpPort!).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        for m in messages { bytes += m + [0x0A] }
        var off = 0
        while off < bytes.count {
            let w = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            guard w > 0 else { throw POSIXError(.EIO) }
            off += w
        }
    }
}

extension Array where Element == UInt8 {
    func write(to path: String) throws { try Data(self).write(to: URL(fileURLWithPath: path)) }
}
