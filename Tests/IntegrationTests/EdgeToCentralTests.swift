import Foundation
import LogferryTesting
import Synchronization
import Testing

/// The walking skeleton end to end, with the real binary as two processes (edge and central) and real clients:
/// util-linux `logger` and Python's `logging.handlers.SysLogHandler` write to the edge's unix-dgram socket; the
/// central receiver stores documents in files. Then the central is SIGKILLed mid-stream and restarted.
/// Checks: every message arrives exactly once, each with a unique `_id`.
@Suite(.serialized)
struct EdgeToCentralTests {
    static let toolsPresent =
        findTool("logger") != nil && findTool("python3") != nil
        && FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    struct Node {
        let dir: String
        let configPath: String
    }

    func writeCentral(_ base: String, port: Int) throws -> Node {
        let dir = base + "/central"
        return Node(dir: dir, configPath: try writeReceiverConfig(dir: dir, port: port, token: "s3cret-token"))
    }

    func writeEdge(_ base: String, port: Int) throws -> Node {
        let dir = base + "/edge"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = """
            node:
              name: edge-01
              data_dir: \(dir)/data
            sources:
              local:
                type: unix-dgram
                path: \(dir)/log.sock
                mode: "0666"
            destinations:
              central:
                type: websocket
                url: ws://127.0.0.1:\(port)/v1/ingest
                token: s3cret-token
            """
        try config.write(toFile: dir + "/logferry.yaml", atomically: false, encoding: .utf8)
        return Node(dir: dir, configPath: dir + "/logferry.yaml")
    }

    func sendWithLogger(socket: String, prefix: String, count: Int) throws {
        let lines = (0..<count).map { String(format: "%@-%06d", prefix, $0) }.joined(separator: "\n") + "\n"
        let r = try runTool(findTool("logger")!, ["-d", "-u", socket, "-t", "itest-logger"], stdin: Data(lines.utf8))
        #expect(r.code == 0, "logger failed: \(r.err)")
    }

    /// Python's SysLogHandler on the unix socket; `pause` seconds between messages spread the stream out.
    /// Runs the Python sender; returns why it failed, nil when it succeeded (callable from any thread).
    func pythonSender(socket: String, prefix: String, count: Int, pause: Double = 0) -> String? {
        let script = """
            import logging, logging.handlers, sys, time
            h = logging.handlers.SysLogHandler(address=sys.argv[1])
            h.setFormatter(logging.Formatter('itest-python: %(message)s'))
            log = logging.getLogger('itest'); log.addHandler(h); log.setLevel(logging.INFO)
            for i in range(int(sys.argv[3])):
                log.info('%s-%06d', sys.argv[2], i)
                if float(sys.argv[4]) > 0: time.sleep(float(sys.argv[4]))
            """
        do {
            let r = try runTool(findTool("python3")!, ["-c", script, socket, prefix, String(count), String(pause)])
            return r.code == 0 ? nil : "python failed (\(r.code)): \(r.err)"
        } catch {
            return "python could not run: \(error)"
        }
    }

    /// Checks the store holds exactly `expected` (message bodies), each once, with unique IDs.
    func checkExactlyOnce(_ central: Node, expected: Set<String>, file: String = #filePath) {
        let docs = storedDocuments(under: central.dir + "/store")
        var seen: [String: Int] = [:]
        var ids = Set<String>()
        var duplicateIDs = 0
        for d in docs {
            let m = d["message"] as? String ?? "<no message: \(d)>"
            seen[m, default: 0] += 1
            if let id = d["_id"] as? String {
                if !ids.insert(id).inserted { duplicateIDs += 1 }
            } else {
                duplicateIDs += 1
            }
        }
        let missing = expected.filter { seen[$0] == nil }
        let doubled = seen.filter { $0.value > 1 }
        #expect(missing.isEmpty, "missing \(missing.count), e.g. \(missing.sorted().prefix(5))")
        #expect(doubled.isEmpty, "stored twice: \(doubled.count), e.g. \(doubled.keys.sorted().prefix(5))")
        #expect(duplicateIDs == 0)
        #expect(docs.count == expected.count)
    }

    @Test(.enabled(if: toolsPresent || integrationRequired, "needs logger, python3 and a built logferry"))
    func tenThousandMessagesExactlyOnceAcrossCentralCrash() async throws {
        #expect(
            Self.toolsPresent, "LOGFERRY_REQUIRE_INTEGRATION=1 but logger, python3 or the logferry binary is missing")
        guard Self.toolsPresent else { return }
        let base = try makeTempDirectory("e2c")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let port = freeTCPPort()
        let central = try writeCentral(base, port: port)
        let edge = try writeEdge(base, port: port)
        var centralProc = try LogferryProcess(
            arguments: ["run", "--config", central.configPath], logPath: central.dir + "/log")
        let edgeProc = try LogferryProcess(arguments: ["run", "--config", edge.configPath], logPath: edge.dir + "/log")
        defer {
            edgeProc.terminate()
            centralProc.terminate()
        }
        let socket = edge.dir + "/log.sock"
        #expect(
            await eventually(timeout: 20) { FileManager.default.fileExists(atPath: socket) },
            "edge socket never appeared: \(edgeProc.log)")

        // Phase 1: 5,000 from logger + 5,000 from Python.
        try sendWithLogger(socket: socket, prefix: "p1-logger", count: 5000)
        let phase1 = pythonSender(socket: socket, prefix: "p1-python", count: 5000)
        #expect(phase1 == nil, "\(phase1 ?? "")")
        var expected = Set((0..<5000).map { String(format: "p1-logger-%06d", $0) })
        expected.formUnion((0..<5000).map { String(format: "p1-python-%06d", $0) })
        let arrived = await eventually(timeout: 90, interval: 0.2) {
            storedDocuments(under: central.dir + "/store").count >= expected.count
        }
        #expect(
            arrived,
            "only \(storedDocuments(under: central.dir + "/store").count) of \(expected.count) arrived.\nedge log:\n\(edgeProc.log.suffix(2000))\ncentral log:\n\(centralProc.log.suffix(2000))"
        )
        checkExactlyOnce(central, expected: expected)

        // Phase 2: a paced stream; SIGKILL the central while it flows, restart it, everything once.
        // The sender's outcome is kept and checked on the test's side: an expectation on this thread would
        // belong to no test.
        let senderFailure = Mutex<String?>(nil)
        let sender = Thread {
            let failure = pythonSender(socket: socket, prefix: "p2-python", count: 4000, pause: 0.0005)
            senderFailure.withLock { $0 = failure }
        }
        sender.start()
        let midStream = await eventually(timeout: 30, interval: 0.01) {
            storedDocuments(under: central.dir + "/store").count >= expected.count + 500
        }
        #expect(midStream)
        centralProc.kill9()
        try sendWithLogger(socket: socket, prefix: "p2-logger", count: 3000)
        centralProc = try LogferryProcess(
            arguments: ["run", "--config", central.configPath], logPath: central.dir + "/log")
        #expect(await eventually(timeout: 60) { sender.isFinished })
        let phase2 = senderFailure.withLock { $0 }
        #expect(phase2 == nil, "\(phase2 ?? "")")
        expected.formUnion((0..<4000).map { String(format: "p2-python-%06d", $0) })
        expected.formUnion((0..<3000).map { String(format: "p2-logger-%06d", $0) })
        let all = await eventually(timeout: 120, interval: 0.2) {
            storedDocuments(under: central.dir + "/store").count >= expected.count
        }
        #expect(
            all,
            "only \(storedDocuments(under: central.dir + "/store").count) of \(expected.count) arrived after the restart.\nedge log:\n\(edgeProc.log.suffix(3000))\ncentral log:\n\(centralProc.log.suffix(3000))"
        )
        // Give a straggling duplicate a moment to show up before counting.
        try await Task.sleep(for: .milliseconds(500))
        checkExactlyOnce(central, expected: expected)
    }
}
