import Foundation
import LogferryTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 6: docs/PROTOCOL.md is enough to write a compatible sender in another language. `python/ws_sender.py`
/// was written from the doc alone with the `websockets` package; here it talks to the real `logferry` binary
/// running as a receiver (websocket source, file destination): wrong token refused, pipelined batches acked with
/// the right IDs, a reconnect that resumes from `welcome.committed` and resends a batch on purpose, malformed and
/// binary messages closed with 1002 and 1003. Then the stored file must hold every event exactly once, under
/// `_id = <origin hex>-<origin seq>`.
@Suite(.serialized)
struct PythonSenderTests {
    static let python = findTool("python3")
    static let script = LogferryProcess.packageRoot + "/Tests/IntegrationTests/python/ws_sender.py"
    static let websocketsInstalled: Bool = {
        guard let python else { return false }
        return (try? runTool(python, ["-c", "import websockets"]).code) == 0
    }()
    static let ready = websocketsInstalled && FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    /// Must match ws_sender.py.
    static let edgeNode = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    static let relayedNode = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    static let count = 2500

    @Test(
        .enabled(
            if: ready || integrationRequired,
            "needs python3 with `websockets` (pip install websockets) and a built logferry"))
    func pythonSenderIsStoredExactlyOnce() async throws {
        #expect(Self.ready, "LOGFERRY_REQUIRE_INTEGRATION=1 but python3 `websockets` or the logferry binary is missing")
        guard Self.ready, let python = Self.python else { return }
        let base = try makeTempDirectory("py")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let port = freeTCPPort()
        let configPath = try writeReceiverConfig(dir: base, port: port, token: "py-token")
        let receiver = try LogferryProcess(
            arguments: ["run", "--config", configPath], logPath: base + "/log")
        defer { receiver.terminate() }
        let listening = await eventually(timeout: 30) { canConnect(port: port) }
        #expect(listening, "receiver never listened:\n\(receiver.log.suffix(2000))")
        guard listening else { return }

        let (code, output) = try await runToExit(
            python,
            [
                Self.script, "--url", "ws://127.0.0.1:\(port)/v1/ingest", "--token", "py-token", "--count",
                "\(Self.count)",
            ],
            output: base + "/python.log", timeout: 120)
        #expect(code == 0, "ws_sender.py failed (\(code)):\n\(output)\nreceiver log:\n\(receiver.log.suffix(3000))")
        #expect(output.contains("\nok\n") || output.hasPrefix("ok\n"), "script did not finish:\n\(output)")

        let file = base + "/store/py-host/pysender.log"
        let stored = await eventually(timeout: 30, interval: 0.1) { storedDocuments(file: file).count >= Self.count }
        #expect(
            stored, "only \(storedDocuments(file: file).count) of \(Self.count) stored:\n\(receiver.log.suffix(3000))")
        // A straggling duplicate would show up after the last expected line: give it a moment.
        try await Task.sleep(for: .milliseconds(500))
        let docs = storedDocuments(file: file)
        #expect(docs.count == Self.count, "stored \(docs.count) documents, expected \(Self.count)")
        var seen: [String: Int] = [:]
        var ids = Set<String>()
        for d in docs {
            let message = d["message"] as? String ?? "<none>"
            seen[message, default: 0] += 1
            guard let n = d["n"] as? Int, let id = d["_id"] as? String else {
                Issue.record("document without n or _id: \(d)")
                continue
            }
            // ws_sender.py relays every 10th event for another node: its origin and origin seq make the ID.
            let expected = n % 10 == 0 ? "\(Self.relayedNode)-\(1000 + n)" : "\(Self.edgeNode)-\(n)"
            #expect(id == expected, "event \(n) stored as \(id), expected \(expected)")
            #expect(ids.insert(id).inserted, "_id \(id) stored twice")
            #expect(message == String(format: "py-%06d", n))
            // Keys and JSON types kept.
            let fields = d["fields"] as? [String: Any]
            #expect(fields?["ratio"] as? Double == 0.5 && fields?["ok"] as? Bool == true, "fields changed: \(d)")
        }
        let missing = (1...Self.count).map { String(format: "py-%06d", $0) }.filter { seen[$0] == nil }
        #expect(missing.isEmpty, "missing \(missing.count), e.g. \(missing.prefix(5))")
        #expect(
            seen.filter { $0.value > 1 }.isEmpty,
            "stored twice: \(seen.filter { $0.value > 1 }.keys.sorted().prefix(5))")
    }

    // MARK: Helpers

}
