import Foundation
import LogferryTesting
import Testing

/// `logferry journal stat|verify|dump` through the real binary: against a journal a running node holds (no lock
/// taken, figures and documents as the node wrote them), then against damage made by hand.
struct JournalCommandTests {
    static let binaryPresent = FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    /// A node with a unix-dgram source, a file destination (delivers at once) and a websocket destination
    /// pointed at a port nobody listens on (never delivers: its cursor lags by everything).
    func writeNode(_ base: String) throws -> (config: String, dataDir: String, socket: String) {
        let dataDir = base + "/data"
        let socket = base + "/log.sock"
        let config = """
            node:
              name: jtest
              data_dir: \(dataDir)
            sources:
              local:
                type: unix-dgram
                path: \(socket)
                mode: "0666"
            destinations:
              archive:
                type: file
                path: \(base)/store/${PROGRAM}.log
              nowhere:
                type: websocket
                url: ws://127.0.0.1:\(freeTCPPort())/v1/ingest
            """
        try config.write(toFile: base + "/logferry.yaml", atomically: false, encoding: .utf8)
        return (base + "/logferry.yaml", dataDir, socket)
    }

    func journal(_ args: [String]) async throws -> (code: Int32, out: String, err: String) {
        try await offThePool { try LogferryProcess.runToCompletion(["journal"] + args) }
    }

    func statJSON(_ dataDir: String) async throws -> [String: Any] {
        let r = try await journal(["stat", "--data-dir", dataDir, "--json"])
        #expect(r.code == 0, "stat failed: \(r.err)")
        return (try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]) ?? [:]
    }

    func dumpLines(_ dataDir: String, _ extra: [String] = []) async throws -> (lines: [[String: Any]], err: String) {
        let r = try await journal(["dump", "--data-dir", dataDir] + extra)
        #expect(r.code == 0, "dump failed: \(r.err)")
        let lines = r.out.split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) ?? ["unparseable": String($0)]
        }
        return (lines, r.err)
    }

    @Test(.enabled(if: binaryPresent || integrationRequired))
    func inspectsARunningNodeThenFindsAFlippedByte() async throws {
        let base = try makeTempDirectory("jcmd")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let node = try writeNode(base)
        let proc = try LogferryProcess(
            arguments: ["run", "--config", node.config, "--drain-timeout", "0.5"], logPath: base + "/node.log")
        var stopped = false
        defer { if !stopped { proc.terminate() } }
        #expect(
            await eventually(timeout: 20) { FileManager.default.fileExists(atPath: node.socket) },
            "socket never appeared: \(proc.log)")

        let count = 200
        try sendDatagrams(node.socket, (0..<count).map { "<13>Nov 21 12:00:00 web jtest[7]: message \($0)" })

        // While the node runs (and holds the lock): stat sees every record and both cursors.
        var stat: [String: Any] = [:]
        var complete = false
        for _ in 0..<100 where !complete {
            stat = try await statJSON(node.dataDir)
            let cursors = stat["cursors"] as? [[String: Any]] ?? []
            // Cursor names are the destination's kind and name.
            let archive = cursors.first { ($0["name"] as? String)?.hasSuffix("archive") == true }
            complete =
                (stat["last_seq"] as? Int) == count && cursors.count == 2 && (archive?["lag_records"] as? Int) == 0
            if !complete { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(complete, "stat never showed \(count) records and two cursors: \(stat)\n\(proc.log.suffix(2000))")
        #expect((stat["locked_by_pid"] as? Int).map(Int32.init) == proc.pid)
        #expect(stat["first_seq"] as? Int == 1)
        let nowhere = (stat["cursors"] as? [[String: Any]] ?? []).first {
            ($0["name"] as? String)?.hasSuffix("nowhere") == true
        }
        #expect(nowhere?["lag_records"] as? Int == count)
        #expect((nowhere?["lag_bytes"] as? Int ?? 0) >= count * 28)
        #expect((nowhere?["lag_bytes"] as? Int) == stat["bytes"] as? Int)

        let human = try await journal(["stat", "--data-dir", node.dataDir])
        #expect(human.code == 0)
        #expect(human.out.contains("1 … \(count)"), "\(human.out)")
        #expect(human.out.contains("nowhere"))
        #expect(human.out.contains("in use by pid"))

        let verify = try await journal(["verify", "--data-dir", node.dataDir])
        #expect(verify.code == 0, "\(verify.out)\(verify.err)")
        #expect(verify.out.contains("ok: "))
        let verifyJSON = try await journal(["verify", "--data-dir", node.dataDir, "--json"])
        let vj = (try? JSONSerialization.jsonObject(with: Data(verifyJSON.out.utf8)) as? [String: Any]) ?? [:]
        #expect(
            verifyJSON.code == 0 && vj["ok"] as? Bool == true && vj["records"] as? Int == count, "\(verifyJSON.out)")

        // Dump: one line per record, ids from DATA_DIR/node-id, the document as the node journaled it.
        let nodeID = try String(contentsOfFile: node.dataDir + "/node-id", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let dump = try await dumpLines(node.dataDir)
        #expect(dump.lines.count == count)
        for (i, line) in dump.lines.enumerated() {
            let seq = i + 1
            #expect(line["seq"] as? Int == seq)
            #expect(line["origin"] as? String == nodeID)
            #expect(line["oseq"] as? Int == seq)
            #expect(line["id"] as? String == "\(nodeID)-\(seq)")
            #expect((line["time"] as? String)?.hasSuffix("Z") == true)
            let doc = line["doc"] as? [String: Any]
            #expect(doc?["message"] as? String == "message \(i)", "\(line)")
        }
        let window = try await dumpLines(node.dataDir, ["--from", "150", "--limit", "3"])
        #expect(window.lines.compactMap { $0["seq"] as? Int } == [150, 151, 152])

        // Stop the node, flip a byte inside a record in the middle of the segment: verify names the place.
        proc.terminate()
        stopped = true
        let journalDir = node.dataDir + "/journal"
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: journalDir).filter { $0.hasPrefix("seg-") }.sorted()
                .first)
        let path = journalDir + "/" + segment
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let flipped = bytes.count / 2
        bytes[flipped] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let damaged = try await journal(["verify", "--data-dir", node.dataDir])
        #expect(damaged.code == 1, "\(damaged.out)\(damaged.err)")
        let report = damaged.out.split(separator: "\n").first { $0.hasPrefix("damaged: \(segment) offset ") }
        let numbers = report.map { line in line.split(separator: " ").compactMap { Int($0) } } ?? []
        #expect(numbers.count == 2, "no damaged line naming \(segment): \(damaged.out)")
        if numbers.count == 2 {
            #expect(numbers[0] <= flipped && flipped < numbers[0] + numbers[1], "\(damaged.out)")
        }
        #expect(damaged.out.contains("gap: "))
        #expect(damaged.err.contains("damaged"))

        // The same report as JSON, for scripts: same exit code, the region and the gap it causes.
        let asJSON = try await journal(["verify", "--data-dir", node.dataDir, "--json"])
        #expect(asJSON.code == 1)
        let j = (try? JSONSerialization.jsonObject(with: Data(asJSON.out.utf8)) as? [String: Any]) ?? [:]
        #expect(j["ok"] as? Bool == false, "\(asJSON.out)")
        let region = (j["damaged"] as? [[String: Any]])?.first
        #expect(region?["segment"] as? String == segment)
        if numbers.count == 2 { #expect(region?["offset"] as? Int == numbers[0]) }
        #expect((j["gaps"] as? [Any])?.count == 1)
        #expect(j["records"] as? Int == count - 1)

        // Dump skips exactly the damaged record and says so on stderr.
        let after = try await dumpLines(node.dataDir)
        #expect(after.lines.count == count - 1)
        #expect(after.err.contains("skipped damaged bytes: \(segment)"))
    }

    /// Receipts: `dump` shows, next to each record, the document ID the central acknowledged it under (issue #6:
    /// "did line X reach central, and as which document?"). A second destination that never delivers keeps the
    /// acknowledged records in the edge's journal.
    @Test(.enabled(if: binaryPresent || integrationRequired))
    func dumpShowsTheIDTheCentralAcknowledged() async throws {
        #expect(Self.binaryPresent, "LOGFERRY_REQUIRE_INTEGRATION=1 but the logferry binary is missing")
        guard Self.binaryPresent else { return }
        let base = try makeTempDirectory("receipts")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let port = freeTCPPort()
        let central = try LogferryProcess(
            arguments: ["run", "--config", try writeReceiverConfig(dir: base + "/central", port: port, token: "rt")],
            logPath: base + "/central.log")
        defer { central.terminate() }
        try """
        node:
          name: rcpt
          data_dir: \(base)/edge
        sources:
          local:
            type: unix-dgram
            path: \(base)/log.sock
        destinations:
          central:
            type: websocket
            url: ws://127.0.0.1:\(port)/v1/ingest
            token: rt
          nowhere:
            type: websocket
            url: ws://127.0.0.1:\(freeTCPPort())/v1/ingest
        """.write(toFile: base + "/edge.yaml", atomically: false, encoding: .utf8)
        let edge = try LogferryProcess(
            arguments: ["run", "--config", base + "/edge.yaml"], logPath: base + "/edge.log")
        #expect(await eventually(timeout: 20) { FileManager.default.fileExists(atPath: base + "/log.sock") })
        try sendDatagrams(base + "/log.sock", (0..<50).map { "<13>receipt line \($0)" })
        #expect(await eventually(timeout: 30) { storedDocuments(under: base + "/central/store").count == 50 })
        #expect(edge.terminate() == 0)
        let stored = Set(storedDocuments(under: base + "/central/store").compactMap { $0["_id"] as? String })
        let dump = try await dumpLines(base + "/edge")
        #expect(dump.lines.count == 50)
        for line in dump.lines {
            let acked = line["acked"] as? [String: Any]
            #expect(acked?["central"] as? String == line["id"] as? String, "\(line)")
            #expect(acked?["nowhere"] == nil)
            #expect(stored.contains(line["id"] as? String ?? "-"))
        }
    }

    @Test(.enabled(if: binaryPresent || integrationRequired))
    func aTornTailAndAMissingJournalAreReported() async throws {
        let base = try makeTempDirectory("jtail")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let filled = try await offThePool {
            try LogferryProcess.runToCompletion([
                "journal", "append-test", "--data-dir", base, "--count", "50", "--fsync", "never", "--quiet",
            ])
        }
        #expect(filled.code == 0, "\(filled.err)")
        let journalDir = base + "/journal"
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: journalDir).filter { $0.hasPrefix("seg-") }.sorted()
                .last)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: journalDir + "/" + segment))
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size - 10)
        try handle.close()

        let verify = try await journal(["verify", "--data-dir", base])
        #expect(verify.code == 1)
        #expect(verify.out.contains("damaged: \(segment)"), "\(verify.out)")
        #expect(verify.out.contains("torn tail"))
        let stat = try await statJSON(base)
        #expect(stat["last_seq"] as? Int == 49)
        // The inspector changed nothing: the torn tail is still there for the node's recovery to cut.
        #expect(
            try FileManager.default.attributesOfItem(atPath: journalDir + "/" + segment)[.size] as? UInt64 == size - 10)

        let missing = try await journal(["stat", "--data-dir", base + "/nothing-here"])
        #expect(missing.code == 1)
        #expect(missing.err.contains("no journal"))
        #expect(!FileManager.default.fileExists(atPath: base + "/nothing-here"))
    }
}

/// Sends each message as one datagram to a unix-dgram socket, like logger(1).
func sendDatagrams(_ path: String, _ messages: [String]) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
    }
    for message in messages {
        let bytes = Array(message.utf8)
        while true {
            let n = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if n >= 0 { break }
            // The node's receive buffer is full: give it a moment rather than drop the message.
            if errno == EAGAIN || errno == ENOBUFS || errno == EINTR {
                usleep(1000)
                continue
            }
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }
}
