import Foundation
import LogferryTesting
import Testing

/// SIGHUP re-reads a receiver's `tokens_file`: an edge holding a token the central does not know is refused at the
/// handshake (its events wait in its journal), the operator adds the token to the file and sends SIGHUP, and the
/// edge's next retry is accepted; every event arrives once, and the central's log never shows a token.
@Suite(.serialized)
struct TokenReloadTests {
    static let ready =
        findTool("logger") != nil && FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    @Test(.enabled(if: ready || integrationRequired, "needs logger and a built logferry"))
    func sighupReloadsTheReceiversTokens() async throws {
        #expect(Self.ready, "LOGFERRY_REQUIRE_INTEGRATION=1 but logger or the logferry binary is missing")
        guard Self.ready else { return }
        let base = try makeTempDirectory("tokreload")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let port = freeTCPPort()
        let centralDir = base + "/central"
        let centralConfig = try writeReceiverConfig(dir: centralDir, port: port, token: "old-token-1111")
        try """
        node:
          name: edge-r
          data_dir: \(base)/edge
        sources:
          local:
            type: unix-dgram
            path: \(base)/log.sock
        destinations:
          central:
            type: websocket
            url: ws://127.0.0.1:\(port)/v1/ingest
            token: new-token-2222
        """.write(toFile: base + "/edge.yaml", atomically: false, encoding: .utf8)
        let central = try LogferryProcess(
            arguments: ["run", "--config", centralConfig], logPath: base + "/central.log")
        defer { central.terminate() }
        let edge = try LogferryProcess(
            arguments: ["run", "--config", base + "/edge.yaml"], logPath: base + "/edge.log")
        defer { edge.terminate() }
        #expect(await eventually(timeout: 20) { FileManager.default.fileExists(atPath: base + "/log.sock") })
        let lines = (0..<300).map { "reload-\($0)" }
        let r = try runTool(
            findTool("logger")!, ["-d", "-u", base + "/log.sock", "-t", "rl"],
            stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(r.code == 0)
        #expect(
            await eventually(timeout: 20) { central.log.contains("refused") || central.log.contains("401") },
            "the central never refused the edge:\n\(central.log.suffix(2000))")
        #expect(storedDocuments(under: centralDir + "/store").isEmpty)

        try "old-token-1111\nnew-token-2222\n".write(toFile: centralDir + "/tokens", atomically: false, encoding: .utf8)
        kill(central.pid, SIGHUP)
        let arrived = await eventually(timeout: 60, interval: 0.2) {
            storedDocuments(under: centralDir + "/store").count >= lines.count
        }
        let stored = storedDocuments(under: centralDir + "/store").compactMap { $0["message"] as? String }
        #expect(arrived, "after SIGHUP only \(stored.count) arrived:\n\(central.log.suffix(2000))")
        #expect(stored.sorted() == lines.sorted())
        #expect(central.log.contains("tokens reloaded"))
        #expect(
            !central.log.contains("new-token-2222") && !central.log.contains("old-token-1111"), "a token was logged")
        #expect(!edge.log.contains("new-token-2222"), "the edge logged its token")
    }
}
