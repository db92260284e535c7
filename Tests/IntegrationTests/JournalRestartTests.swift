import Foundation
import LogferryTesting
import Testing

/// Issue #4: resizing `max_bytes` (even below what the journal holds) and adding or removing destinations across
/// restarts keeps the data: a new destination receives everything retained, a removed one's cursor is dropped so
/// it no longer holds segments, and nothing is lost or repeated for the destinations that stay.
struct JournalRestartTests {
    static let binaryPresent = FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    func writeConfig(_ base: String, maxBytes: String, destinations: [String: String]) throws -> String {
        var text = """
            node:
              name: restart
              data_dir: \(base)/data
            journal:
              max_bytes: \(maxBytes)
              segment_bytes: 64KiB
            sources:
              local:
                type: unix-dgram
                path: \(base)/log.sock
            destinations:

            """
        for (name, body) in destinations.sorted(by: { $0.key < $1.key }) {
            text += "  \(name):\n" + body.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n"
        }
        try text.write(toFile: base + "/logferry.yaml", atomically: false, encoding: .utf8)
        return base + "/logferry.yaml"
    }

    func cursors(_ dataDir: String) async throws -> [String: Int] {
        let r = try await offThePool {
            try LogferryProcess.runToCompletion(["journal", "stat", "--data-dir", dataDir, "--json"])
        }
        let stat = (try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]) ?? [:]
        var out: [String: Int] = [:]
        for c in stat["cursors"] as? [[String: Any]] ?? [] {
            if let name = c["name"] as? String { out[name] = c["lag_records"] as? Int ?? -1 }
        }
        return out
    }

    func messages(_ path: String) -> [String] {
        storedDocuments(file: path).compactMap { $0["message"] as? String }
    }

    @Test(.enabled(if: binaryPresent || integrationRequired))
    func resizeAndChangeDestinationsAcrossRestartsKeepsTheData() async throws {
        #expect(Self.binaryPresent, "LOGFERRY_REQUIRE_INTEGRATION=1 but the logferry binary is missing")
        guard Self.binaryPresent else { return }
        let base = try makeTempDirectory("jrestart")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let hold = "type: websocket\nurl: ws://127.0.0.1:\(freeTCPPort())/v1/ingest"  // never delivers
        func file(_ name: String) -> String { "type: file\npath: \(base)/\(name).log" }
        let padding = String(repeating: "p", count: 200)
        let first = (0..<600).map { String(format: "first-%04d-%@", $0, padding) }
        let later = (0..<100).map { String(format: "later-%04d-%@", $0, padding) }

        // 1. Two destinations: `hold` keeps every record in the journal, `a` stores them.
        var config = try writeConfig(base, maxBytes: "64MiB", destinations: ["hold": hold, "a": file("a")])
        var node = try LogferryProcess(arguments: ["run", "--config", config], logPath: base + "/log1")
        #expect(await eventually(timeout: 20) { FileManager.default.fileExists(atPath: base + "/log.sock") })
        try sendDatagrams(base + "/log.sock", first)
        #expect(await eventually(timeout: 30) { messages(base + "/a.log").count == first.count }, "\(node.log)")
        #expect(node.terminate() == 0)

        // 2. max_bytes shrunk below what the journal holds; `a` removed, `b` added: b gets everything retained.
        config = try writeConfig(base, maxBytes: "128KiB", destinations: ["hold": hold, "b": file("b")])
        node = try LogferryProcess(arguments: ["run", "--config", config], logPath: base + "/log2")
        #expect(await eventually(timeout: 30) { messages(base + "/b.log").count == first.count }, "\(node.log)")
        var c = try await cursors(base + "/data")
        #expect(c["file-a"] == nil, "the removed destination's cursor is still there: \(c)")
        #expect(c["ws-hold"] == first.count, "\(c)")
        #expect(node.log.contains("destination left the configuration"))
        #expect(node.terminate() == 0)

        // 3. max_bytes grown, `hold` removed: b keeps going, exactly once.
        config = try writeConfig(base, maxBytes: "1GiB", destinations: ["b": file("b")])
        node = try LogferryProcess(arguments: ["run", "--config", config], logPath: base + "/log3")
        #expect(await eventually(timeout: 20) { FileManager.default.fileExists(atPath: base + "/log.sock") })
        try sendDatagrams(base + "/log.sock", later)
        #expect(await eventually(timeout: 30) { messages(base + "/b.log").count == first.count + later.count })
        c = try await cursors(base + "/data")
        #expect(c == ["file-b": 0], "\(c)")
        #expect(node.terminate() == 0)
        let stored = messages(base + "/b.log")
        #expect(stored == first + later, "b holds \(stored.count), expected \(first.count + later.count) in order")
        #expect(messages(base + "/a.log") == first)
        let verify = try await offThePool {
            try LogferryProcess.runToCompletion(["journal", "verify", "--data-dir", base + "/data"])
        }
        #expect(verify.code == 0, "\(verify.out)\(verify.err)")
    }
}
