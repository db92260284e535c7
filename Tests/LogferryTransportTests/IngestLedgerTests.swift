import LogferryCore
import Testing

@testable import LogferryTransport

@Suite struct IngestLedgerTests {
    let local = NodeIdentity(hex: "11111111111111111111111111111111")!
    let edge = NodeIdentity(hex: "22222222222222222222222222222222")!

    func origins(_ seqs: ClosedRange<UInt64>) -> [EventOrigin] { seqs.map { EventOrigin(node: edge, seq: $0) } }

    @Test func classifiesAgainstStoredAndWithinTheGroup() async throws {
        var index = DedupIndex()
        index.raise(edge, to: 5)
        let ledger = IngestLedger(localNode: local, index: index, checkpointThrough: 0)
        let group = origins(4...7) + [EventOrigin(node: edge, seq: 7), EventOrigin(node: local, seq: 99)]
        let plan = try await ledger.plan(origins: group, floor: 0)
        #expect(plan.decisions == [.duplicate, .duplicate, .new, .new, .duplicate, .duplicate])
        await ledger.finish(plan, stored: true, stream: "s", through: 40)
        #expect(await ledger.currentIndex.highwater(edge) == 7)
        #expect(await ledger.committed(stream: "s") == 40)
    }

    @Test func aSecondConnectionWaitsForTheFirstAndThenSeesDuplicates() async throws {
        let ledger = IngestLedger(localNode: local, index: DedupIndex(), checkpointThrough: 0)
        let first = try await ledger.plan(origins: origins(1...10), floor: 0)
        #expect(first.newCount == 10)
        let second = Task { try await ledger.plan(origins: origins(1...12), floor: 0) }
        // The second group needs the same origin: it must not be classified while the first is in flight.
        try await waitUntil("the second plan to wait") { await ledger.waitingPlans == 1 }
        await ledger.finish(first, stored: true, stream: "s", through: 10)
        let plan = try await second.value
        #expect(plan.decisions == Array(repeating: .duplicate, count: 10) + [.new, .new])
        await ledger.finish(plan, stored: true, stream: "s", through: 12)
        #expect(await ledger.currentIndex.highwater(edge) == 12)
    }

    @Test func aFailedAppendLeavesEventsUnseen() async throws {
        let ledger = IngestLedger(localNode: local, index: DedupIndex(), checkpointThrough: 0)
        let first = try await ledger.plan(origins: origins(1...3), floor: 0)
        await ledger.finish(first, stored: false, stream: "s", through: 3)
        let again = try await ledger.plan(origins: origins(1...3), floor: 0)
        #expect(again.newCount == 3)
        #expect(await ledger.committed(stream: "s") == 0)
    }

    @Test func aWaitingPlanCanBeCancelled() async throws {
        let ledger = IngestLedger(localNode: local, index: DedupIndex(), checkpointThrough: 0)
        _ = try await ledger.plan(origins: origins(1...3), floor: 0)
        let waiting = Task { try await ledger.plan(origins: origins(1...3), floor: 0) }
        try await waitUntil("the plan to wait") { await ledger.waitingPlans == 1 }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }

    @Test func checkpointsStayBelowAppendsInFlight() async throws {
        let ledger = IngestLedger(localNode: local, index: DedupIndex(), checkpointThrough: 0)
        let plan = try await ledger.plan(origins: origins(1...3), floor: 100)
        // The spool has 130 records, but the group in flight may get sequences above 100.
        let s1 = try #require(await ledger.snapshot(lastSequence: 130))
        #expect(s1.through == 100)
        await ledger.checkpointed(s1)
        await ledger.finish(plan, stored: true, stream: "s", through: 3)
        let s2 = try #require(await ledger.snapshot(lastSequence: 133))
        #expect(s2.through == 133)
        #expect(try DedupIndex(serialized: s2.state).highwater(edge) == 3)
        await ledger.checkpointed(s2)
        #expect(await ledger.snapshot(lastSequence: 133) == nil)  // nothing changed
    }
}
