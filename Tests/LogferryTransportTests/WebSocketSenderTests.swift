import LogferryCore
import LogferryTesting
import ServiceLifecycle
import Testing

@testable import LogferryTransport

#if canImport(Glibc)
    import Glibc
#endif

/// Real loopback: a sender reading journal A, a receiver storing into journal B.
@Suite struct WebSocketSenderTests {
    /// B must hold each of A's events exactly once, under the ID `<node A>-<seq in A>`, with its document.
    func expectExactlyOnce(_ b: InMemorySpool, from nodeA: NodeIdentity, count: Int) async throws {
        let stored = try await storedEvents(b)
        #expect(stored.count == count, "B holds \(stored.count) events for \(count) sent")
        var seen = Set<UInt64>()
        for event in stored {
            let origin = try #require(event.origin)
            #expect(origin.node == nodeA)
            #expect(seen.insert(origin.seq).inserted, "event \(origin.documentID) stored twice")
            #expect(origin.documentID == "\(nodeA.hex)-\(origin.seq)")
            let doc = try JSONParser.parse(event.document)
            #expect(doc["n"] == .int(Int64(origin.seq)))  // A's record n holds event n
        }
        #expect(seen == Set(1...UInt64(count)))
    }

    @Test func deliversEveryEventExactlyOnce() async throws {
        let a = InMemorySpool()
        let b = InMemorySpool()
        _ = try await b.openCursor("test-keep")  // keeps B's records for inspection
        let nodeA = NodeIdentity.random()
        // LOGFERRY_LOOPBACK_EVENTS=200000 turns this into a longer throughput run.
        let count = getenv("LOGFERRY_LOOPBACK_EVENTS").flatMap { Int(String(cString: $0)) } ?? 5000
        try await fill(a, count: count)

        let receiver = makeReceiver(spool: b)
        let r = Running(receiver)
        let port = try await receiver.boundPort()
        let sender = makeSender(spool: a, node: nodeA, port: port)
        let started = ContinuousClock.now
        let s = Running(sender)
        try await waitUntil("A's cursor at the end") { sender.statistics.committed == UInt64(count) }
        let elapsed = started.duration(to: .now)
        await s.stop()
        await r.stop()

        try await expectExactlyOnce(b, from: nodeA, count: count)
        #expect(try await a.openCursor("ws-central").seq == UInt64(count))
        #expect(a.retainedCount == 0)  // the only cursor passed everything
        let stats = sender.statistics
        #expect(stats.eventsAcked == count)
        #expect(stats.recordsUndecodable == 0)
        #expect(receiver.statistics.eventsStored == count)
        // Every acked batch's append-to-ack time was observed, and none took longer than the whole run.
        #expect(stats.ackLatency.count == UInt64(stats.batchesAcked))
        #expect(stats.ackLatency.sum > 0)
        #expect(stats.ackLatency.sum / Double(stats.ackLatency.count) < 60)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("loopback: \(count) events in \(elapsed) = \(Int(Double(count) / seconds)) events/s")
    }

    @Test func reconnectsToARestartedReceiverWithoutDuplicates() async throws {
        let a = InMemorySpool()
        let b = InMemorySpool()
        _ = try await b.openCursor("test-keep")
        let nodeA = NodeIdentity.random()
        let nodeB = NodeIdentity.random()
        let count = 5000
        try await fill(a, count: count)

        let first = makeReceiver(spool: b, node: nodeB)
        let r1 = Running(first)
        let port = try await first.boundPort()
        let sender = makeSender(spool: a, node: nodeA, port: port, maxBatchEvents: 50, window: 4)
        let s = Running(sender)
        try await waitUntil("part of the stream stored") { await b.lastSequence() >= 1000 }
        await r1.stop()  // mid-stream: batches in flight are lost or stored without ack
        #expect(sender.statistics.committed < UInt64(count))

        let second = makeReceiver(spool: b, node: nodeB, port: port)
        let r2 = Running(second)
        _ = try await second.boundPort()
        try await waitUntil("A's cursor at the end") { sender.statistics.committed == UInt64(count) }
        await s.stop()
        await r2.stop()

        try await expectExactlyOnce(b, from: nodeA, count: count)
        #expect(sender.statistics.connections >= 2)
    }

    @Test func deliversWithPermessageDeflate() async throws {
        let a = InMemorySpool()
        let b = InMemorySpool()
        _ = try await b.openCursor("test-keep")
        let nodeA = NodeIdentity.random()
        try await fill(a, count: 1000)
        let receiver = makeReceiver(spool: b)
        let r = Running(receiver)
        let sender = makeSender(spool: a, node: nodeA, port: try await receiver.boundPort(), compression: true)
        let s = Running(sender)
        try await waitUntil("A's cursor at the end") { sender.statistics.committed == 1000 }
        await s.stop()
        await r.stop()
        try await expectExactlyOnce(b, from: nodeA, count: 1000)
    }

    @Test func skipsRecordsThatAreNotEventsWithoutWedging() async throws {
        let a = InMemorySpool()
        let b = InMemorySpool()
        _ = try await b.openCursor("test-keep")
        _ = try await a.append([
            localEvent(1), [0xFF, 0x00], localEvent(3),
            SpooledEvent(origin: nil, document: Array("[1]".utf8)).encoded(),
        ])
        let receiver = makeReceiver(spool: b)
        let r = Running(receiver)
        let sender = makeSender(spool: a, node: .random(), port: try await receiver.boundPort())
        let s = Running(sender)
        try await waitUntil("the cursor past the bad records") { sender.statistics.committed == 4 }
        await s.stop()
        await r.stop()
        #expect(sender.statistics.recordsUndecodable == 2)
        #expect(try await storedEvents(b).count == 2)
    }

    @Test func drainsOnGracefulShutdown() async throws {
        let a = InMemorySpool()
        let b = InMemorySpool()
        _ = try await b.openCursor("test-keep")
        try await fill(a, count: 300)
        let receiver = makeReceiver(spool: b)
        let r = Running(receiver)
        let sender = makeSender(spool: a, node: .random(), port: try await receiver.boundPort(), maxBatchEvents: 10)
        // Shut down right away: the sender still sends everything, then ends on its own.
        let group = ServiceGroup(
            configuration: .init(services: [sender], gracefulShutdownSignals: [], logger: testLogger("group")))
        let task = Task { try await group.run() }
        await group.triggerGracefulShutdown()
        try await task.value
        #expect(sender.statistics.committed == 300)
        await r.stop()
        #expect(try await storedEvents(b).count == 300)
    }
}
