import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryTransport

/// Selects the events (as `localEvent(n)` writes them) whose `n` is a multiple of `every` and at most `upTo`.
/// The real selector (`DocumentSelector`) lives in LogferryFormat, which Transport does not depend on.
struct EveryNth: EventSelector {
    var every: Int64
    var upTo: Int64

    func accepts(document: [UInt8]) -> Bool {
        guard case .object(let o)? = try? JSONParser.parse(document) else { return true }
        return accepts(object: o)
    }

    func accepts(object: JSONObject) -> Bool {
        guard let n = object["n"]?.int64Value else { return false }
        return n % every == 0 && n <= upTo
    }
}

/// The websocket sender with a selector, over a real loopback to a real receiver.
@Suite struct WebSocketSenderSelectorTests {
    func makeSelectingSender(
        spool: any Spool, node: NodeIdentity, port: Int, selector: any EventSelector, maxBatchEvents: Int, window: Int
    ) -> WebSocketSender {
        var configuration = SenderConfiguration(
            url: "ws://127.0.0.1:\(port)\(ProtocolV1.path)", destinationName: "central",
            maxBatchEvents: maxBatchEvents, batchLinger: .milliseconds(5), window: window,
            backoffInitial: .milliseconds(20), backoffMax: .milliseconds(200))
        configuration.selector = selector
        return WebSocketSender(
            configuration: configuration, spool: spool, node: node, nodeName: "edge", logger: testLogger("sender"))
    }

    @Test(
        "only selected events arrive; the cursor reaches the end past a rejected tail",
        arguments: [(50, 4), (7, 1), (1000, 8)])
    func onlySelectedEventsArrive(maxBatchEvents: Int, window: Int) async throws {
        let a = InMemorySpool()
        let b = InMemorySpool()
        _ = try await b.openCursor("test-keep")
        let nodeA = NodeIdentity.random()
        // Records 901...1000 are all rejected: after the last sent batch, only skipped records remain.
        try await fill(a, count: 1000)
        let selector = EveryNth(every: 3, upTo: 900)

        let receiver = makeReceiver(spool: b)
        let r = Running(receiver)
        let sender = makeSelectingSender(
            spool: a, node: nodeA, port: try await receiver.boundPort(), selector: selector,
            maxBatchEvents: maxBatchEvents, window: window)
        let s = Running(sender)
        // Window 1 with batches of 7 is ~45 round trips: give a loaded 2-core machine time.
        try await waitUntil("A's cursor at the end", timeout: .seconds(60)) { sender.statistics.committed == 1000 }
        await s.stop()
        await r.stop()

        let stored = try await storedEvents(b)
        let seqs = try stored.map { try #require($0.origin).seq }
        #expect(seqs == Array(stride(from: UInt64(3), through: 900, by: 3)))  // each selected one, once, in order
        for event in stored {
            #expect(event.origin?.node == nodeA)
            #expect(try JSONParser.parse(event.document)["n"] == .int(Int64(event.origin!.seq)))
        }
        #expect(try await a.openCursor("ws-central").seq == 1000)
        #expect(a.retainedCount == 0)
        let stats = sender.statistics
        #expect(stats.eventsAcked == 300)
        #expect(stats.recordsFiltered == 700)
        #expect(stats.recordsUndecodable == 0)
    }

    @Test("a selector that rejects everything sends nothing and still moves the cursor to the end")
    func rejectingEverythingCommitsEverything() async throws {
        let a = InMemorySpool()
        let b = InMemorySpool()
        _ = try await b.openCursor("test-keep")
        try await fill(a, count: 250)
        let receiver = makeReceiver(spool: b)
        let r = Running(receiver)
        let sender = makeSelectingSender(
            spool: a, node: .random(), port: try await receiver.boundPort(), selector: EveryNth(every: 1, upTo: 0),
            maxBatchEvents: 10, window: 2)
        let s = Running(sender)
        try await waitUntil("A's cursor at the end") { sender.statistics.committed == 250 }
        // Records appended later are skipped as they come.
        try await fill(a, count: 5)
        try await waitUntil("A's cursor past the late records") { sender.statistics.committed == 255 }
        await s.stop()
        await r.stop()
        #expect(try await storedEvents(b).isEmpty)
        #expect(sender.statistics.batchesSent == 0)
        #expect(sender.statistics.recordsFiltered == 255)
        #expect(a.retainedCount == 0)
    }
}
