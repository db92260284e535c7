import Foundation
import LogferryTesting
import Testing

/// `node.metrics_listen` with the real binary: Prometheus `/metrics` counts what a real `logger` sent, `/health`
/// answers; and a loss is never silent: messages a full journal refuses (`when_full: drop-newest`) are counted
/// per source and arrive at central as an `input-dropped` event whose count, plus the messages that did arrive,
/// equals exactly what was sent.
@Suite(.serialized)
struct MetricsTests {
    static let toolsPresent =
        findTool("logger") != nil && findTool("curl") != nil
        && FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    func get(_ url: String) throws -> (code: Int32, body: String) {
        let r = try runTool(findTool("curl")!, ["-s", "-o", "-", "-w", "\n%{http_code}", url])
        let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int32(lines.last.map(String.init) ?? "") ?? -1
        return (status, lines.dropLast().joined(separator: "\n"))
    }

    /// The value of the first sample line starting with `prefix` (name plus labels), or nil.
    func sample(_ text: String, _ prefix: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    func send(_ socket: String, _ lines: [String]) throws {
        let r = try runTool(
            findTool("logger")!, ["-d", "-u", socket, "-t", "mtest"],
            stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(r.code == 0, "logger failed: \(r.err)")
    }

    @Test(.enabled(if: toolsPresent || integrationRequired, "needs logger, curl and a built logferry"))
    func metricsCountWhatLoggerSentAndHealthIsOK() async throws {
        #expect(Self.toolsPresent, "LOGFERRY_REQUIRE_INTEGRATION=1 but logger, curl or the logferry binary is missing")
        guard Self.toolsPresent else { return }
        let dir = try makeTempDirectory("metrics")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = freeTCPPort()
        try """
        node:
          name: m-01
          data_dir: \(dir)/data
          metrics_listen: 127.0.0.1:\(port)
        sources:
          local:
            type: unix-dgram
            path: \(dir)/log.sock
        destinations:
          archive:
            type: file
            path: \(dir)/store/out.log
        """.write(toFile: dir + "/logferry.yaml", atomically: false, encoding: .utf8)
        let node = try LogferryProcess(arguments: ["run", "--config", dir + "/logferry.yaml"], logPath: dir + "/log")
        defer { node.terminate() }
        #expect(await eventually(timeout: 20) { canConnect(port: port) }, "metrics never listened: \(node.log)")
        try send(dir + "/log.sock", (0..<300).map { "line-\($0)" })
        let counted = try await eventually(timeout: 20) {
            let m = try get("http://127.0.0.1:\(port)/metrics").body
            return sample(m, "logferry_source_received_total{source=\"local\",type=\"unix-dgram\"}") == 300
                && sample(m, "logferry_journal_cursor_lag_records{cursor=\"file-archive\"}") == 0
        }
        let metrics = try get("http://127.0.0.1:\(port)/metrics")
        #expect(counted, "metrics never showed 300 received and no lag:\n\(metrics.body)")
        #expect(metrics.code == 200)
        #expect(metrics.body.contains("# TYPE logferry_source_received_total counter"))
        #expect((sample(metrics.body, "logferry_journal_appended_records_total") ?? 0) >= 300)
        #expect(
            sample(
                metrics.body,
                "logferry_source_dropped_total{source=\"local\",type=\"unix-dgram\",reason=\"journal_full\"}") == 0)
        #expect(await eventually(timeout: 20) { storedDocuments(file: dir + "/store/out.log").count == 300 })
        let health = try get("http://127.0.0.1:\(port)/health")
        #expect(health.code == 200)
        #expect(health.body.contains("\"status\":\"ok\""), "\(health.body)")
        #expect(try get("http://127.0.0.1:\(port)/nothing").code == 404)
    }

    @Test(.enabled(if: toolsPresent || integrationRequired, "needs logger, curl and a built logferry"))
    func messagesAFullJournalRefusesArriveAsAnInputDroppedEvent() async throws {
        #expect(Self.toolsPresent, "LOGFERRY_REQUIRE_INTEGRATION=1 but logger, curl or the logferry binary is missing")
        guard Self.toolsPresent else { return }
        let dir = try makeTempDirectory("drops")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wsPort = freeTCPPort()
        let metricsPort = freeTCPPort()
        // The central is not running yet: the edge's journal fills and refuses the newest messages.
        try """
        node:
          name: drop-edge
          data_dir: \(dir)/edge
          metrics_listen: 127.0.0.1:\(metricsPort)
        journal:
          max_bytes: 256KiB
          segment_bytes: 64KiB
          when_full: drop-newest
        sources:
          local:
            type: unix-dgram
            path: \(dir)/log.sock
        destinations:
          central:
            type: websocket
            url: ws://127.0.0.1:\(wsPort)/v1/ingest
            token: t0ken
        """.write(toFile: dir + "/edge.yaml", atomically: false, encoding: .utf8)
        let edge = try LogferryProcess(arguments: ["run", "--config", dir + "/edge.yaml"], logPath: dir + "/edge.log")
        defer { edge.terminate() }
        #expect(await eventually(timeout: 20) { canConnect(port: metricsPort) }, "edge never started: \(edge.log)")
        let padding = String(repeating: "x", count: 300)
        let sent = (0..<3000).map { String(format: "drop-%05d-%@", $0, padding) }
        try send(dir + "/log.sock", sent)
        let prefix = "logferry_source_dropped_total{source=\"local\",type=\"unix-dgram\",reason=\"journal_full\"}"
        #expect(
            try await eventually(timeout: 20) {
                (sample(try get("http://127.0.0.1:\(metricsPort)/metrics").body, prefix) ?? 0) > 0
            },
            "nothing was counted as dropped")
        let health = try get("http://127.0.0.1:\(metricsPort)/health")
        #expect(health.code == 503, "a journal that drops is unhealthy: \(health.body)")

        let centralDir = dir + "/central"
        let central = try LogferryProcess(
            arguments: ["run", "--config", try writeReceiverConfig(dir: centralDir, port: wsPort, token: "t0ken")],
            logPath: dir + "/central.log")
        defer { central.terminate() }
        func tally() -> (arrived: Set<String>, reported: Int, dropEvents: Int) {
            var arrived = Set<String>()
            var reported = 0
            var events = 0
            for d in storedDocuments(under: centralDir + "/store") {
                if d["msgid"] as? String == "input-dropped" {
                    events += 1
                    let sd = (d["sd"] as? [String: Any])?["dropped@32473"] as? [String: Any]
                    if sd?["source"] as? String == "local" { reported += Int(sd?["count"] as? String ?? "") ?? 0 }
                } else if let m = d["message"] as? String {
                    arrived.insert(m)
                }
            }
            return (arrived, reported, events)
        }
        let balanced = await eventually(timeout: 60, interval: 0.2) {
            let t = tally()
            return t.reported > 0 && t.arrived.count + t.reported == sent.count
        }
        let t = tally()
        let metrics = try get("http://127.0.0.1:\(metricsPort)/metrics").body
        // Every reason (journal_full, buffer_full, too_large) of this source.
        let dropped = metrics.split(separator: "\n").filter {
            $0.hasPrefix("logferry_source_dropped_total{source=\"local\"")
        }.reduce(0) { $0 + Int(Double($1.split(separator: " ").last ?? "") ?? 0) }
        #expect(balanced, "arrived \(t.arrived.count) + reported dropped \(t.reported) != sent \(sent.count)")
        #expect(t.arrived.isSubset(of: Set(sent)))
        #expect(t.reported == dropped, "the event reports \(t.reported), the metric \(dropped)")
        #expect(edge.log.contains("messages dropped"), "the drop was not logged")
    }
}
