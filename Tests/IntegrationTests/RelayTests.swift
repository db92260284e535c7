import Foundation
import LogferryTesting
import Testing

/// Issue 6: edge → relay → central with the real binary as five processes. A relay is a node with a websocket
/// source and a websocket destination; it forwards every event with its origin unchanged, so the document ID is
/// the same at every tier: the ID a central stores equals `<edge node hex>-<edge journal seq>`, the ID the edge's
/// own journal gives (`logferry journal dump`).
///
/// Edge A sends only through the relay. Edge B sends every event twice, straight to the central *and* through the
/// relay: the central must store each once, under B's ID, and B's sequence numbers (which overlap A's) must not
/// collide with A's. Then the relay is SIGKILLed three times while edge A streams, and restarted each time:
/// still every event exactly once at the central, by payload and by `_id`.
@Suite(.serialized)
struct RelayTests {
    static let ready = FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    static let token = "relay-itest-token"
    /// Edge A's events: `phase1A` before the relay kills, the rest while the relay is killed.
    static let totalA = 5000
    static let phase1A = 2000
    /// Edge B's events (each sent on two paths).
    static let totalB = 1500
    static let phase1B = 1000

    @Test(.enabled(if: ready || integrationRequired, "needs a built logferry"))
    func relayKeepsDocumentIDsAndSurvivesKills() async throws {
        #expect(Self.ready, "LOGFERRY_REQUIRE_INTEGRATION=1 but the logferry binary is missing")
        guard Self.ready else { return }
        let base = try makeTempDirectory("relay")
        defer { removeTestDirectory(base) }
        let centralPort = freeTCPPort()
        let relayPort = freeTCPPort()
        _ = try writeReceiverConfig(dir: base + "/central", port: centralPort, token: Self.token)
        let central = TestNode(name: "central", dir: base + "/central")
        let toCentral = Upstream(name: "central", url: "ws://127.0.0.1:\(centralPort)/v1/ingest", token: Self.token)
        let toRelay = Upstream(name: "relay", url: "ws://127.0.0.1:\(relayPort)/v1/ingest", token: Self.token)
        let relay = try TestNode(
            name: "relay", dir: base + "/relay",
            config: relayConfig(name: "relay-01", port: relayPort, token: Self.token, upstream: toCentral))
        let a = NumberedLines(prefix: "edge-a", path: base + "/a.log")
        let b = NumberedLines(prefix: "edge-b", path: base + "/b.log")
        let edgeA = try TestNode(
            name: "edge-a", dir: base + "/edge-a",
            config: edgeConfig(name: "edge-a", input: a.path, upstreams: [toRelay]))
        let edgeB = try TestNode(
            name: "edge-b", dir: base + "/edge-b",
            config: edgeConfig(name: "edge-b", input: b.path, upstreams: [toCentral, toRelay]))
        let nodes = [edgeA, edgeB, relay, central]
        defer { for n in nodes { n.stop() } }
        func logs() -> String { nodes.map { $0.logTail() }.joined(separator: "\n") }
        let store = central.dir + "/store"
        let storeA = store + "/edge-a"

        try central.start()
        try relay.start()
        try edgeA.start()
        try edgeB.start()

        // Phase 1: no faults. Every document's _id is the one the edge's journal gives.
        try a.append(0..<Self.phase1A)
        try b.append(0..<Self.phase1B)
        let phase1 = Self.phase1A + Self.phase1B
        #expect(
            await eventually(timeout: 120, interval: 0.2) { storedLineCount(under: store) >= phase1 },
            "phase 1: \(storedLineCount(under: store)) of \(phase1) arrived\n\(logs())")
        try await Task.sleep(for: .milliseconds(500))  // a straggling duplicate would show up now
        var expected = Set(a.lines(0..<Self.phase1A) + b.lines(0..<Self.phase1B))
        var ids = try await edgeDocumentIDs(edgeA, a, 0..<Self.phase1A, base: base)
        ids.merge(try await edgeDocumentIDs(edgeB, b, 0..<Self.phase1B, base: base)) { x, _ in x }
        var report = ExactlyOnceReport(documents: storedDocuments(under: store), expected: expected, ids: ids)
        #expect(report.isExact, "phase 1: \(report)\n\(logs())")
        #expect(report.documents == phase1)

        // Same ID at every tier: the relay's journal holds A's events (and B's second copies) under the edges' IDs;
        // the relay's own identity names nothing.
        let relayIDs = try await journalDocumentIDs(dataDir: relay.dataDir, scratch: base)
        let relayA = relayIDs.filter { $0.key.hasPrefix("edge-a-") }
        let relayB = relayIDs.filter { $0.key.hasPrefix("edge-b-") }
        #expect(relayA.count == Self.phase1A && relayB.count == Self.phase1B, "relay journal: \(relayIDs.count) events")
        #expect(relayA.allSatisfy { ids[$0.key] == $0.value }, "the relay changed edge A's document IDs")
        #expect(relayB.allSatisfy { ids[$0.key] == $0.value }, "the relay changed edge B's document IDs")
        if let relayHex = relay.identity {
            #expect(!relayIDs.values.contains { $0.hasPrefix(relayHex) }, "an event got the relay's identity")
        }
        // The two edges' sequences overlap (both start at 1); their IDs differ only by the node part.
        if let hexA = edgeA.identity, let hexB = edgeB.identity {
            #expect(hexA != hexB)
            #expect(ids[a.line(0)] == "\(hexA)-1", "edge A's first event: \(ids[a.line(0)] ?? "no ID")")
            #expect(ids[b.line(0)] == "\(hexB)-1", "edge B's first event: \(ids[b.line(0)] ?? "no ID")")
        }

        // Phase 2: edge A streams; SIGKILL the relay three times while events flow through it, restart it each time.
        var nextA = Self.phase1A
        var nextB = Self.phase1B
        let killAt = [2600, 3400, 4200]  // edge A's documents at the central
        var kills = 0
        let deadline = Date().addingTimeInterval(180)
        while (kills < killAt.count || nextA < Self.totalA) && Date() < deadline {
            if nextA < Self.totalA {
                try a.append(nextA..<min(nextA + 100, Self.totalA))
                nextA = min(nextA + 100, Self.totalA)
            }
            if nextB < Self.totalB {
                try b.append(nextB..<min(nextB + 20, Self.totalB))
                nextB = min(nextB + 20, Self.totalB)
            }
            if kills < killAt.count, storedLineCount(under: storeA) >= killAt[kills] {
                relay.kill9()
                kills += 1
                try relay.start()
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(kills == killAt.count, "the relay was killed \(kills) times\n\(logs())")
        try b.append(nextB..<Self.totalB)
        let total = Self.totalA + Self.totalB
        #expect(
            await eventually(timeout: 120, interval: 0.2) { storedLineCount(under: store) >= total },
            "phase 2: \(storedLineCount(under: store)) of \(total) arrived\n\(logs())")
        try await Task.sleep(for: .milliseconds(500))
        expected = Set(a.lines(0..<Self.totalA) + b.lines(0..<Self.totalB))
        ids = try await edgeDocumentIDs(edgeA, a, 0..<Self.totalA, base: base)
        ids.merge(try await edgeDocumentIDs(edgeB, b, 0..<Self.totalB, base: base)) { x, _ in x }
        report = ExactlyOnceReport(documents: storedDocuments(under: store), expected: expected, ids: ids)
        #expect(report.isExact, "after 3 relay kills: \(report)\n\(logs())")
        #expect(report.documents == total)
    }
}

/// Message → the document ID edge `node`'s journal gives it, for `lines` `range`; every line must be there.
func edgeDocumentIDs(_ node: TestNode, _ lines: NumberedLines, _ range: Range<Int>, base: String) async throws
    -> [String: String]
{
    let ids = try await journalDocumentIDs(dataDir: node.dataDir, scratch: base)
    let want = lines.lines(range)
    let missing = want.filter { ids[$0] == nil }
    #expect(missing.isEmpty, "\(node.name)'s journal has no record of \(missing.count) lines: \(missing.prefix(3))")
    return ids.filter { $0.key.hasPrefix(lines.prefix + "-") }
}
