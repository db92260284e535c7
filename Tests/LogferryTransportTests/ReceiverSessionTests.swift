import LogferryCore
import Testing

@testable import LogferryTransport

@Suite struct ReceiverSessionTests {
    let node = NodeIdentity(hex: "0102030405060708090a0b0c0d0e0f10")!

    func batch(_ n: UInt64, seqs: [UInt64]) -> WireMessage {
        .batch(
            Batch(batch: n, events: seqs.map { WireEvent(seq: $0, origin: EventOrigin(node: node, seq: $0), doc: [:]) })
        )
    }

    func code(_ body: () throws -> Void) -> WireErrorCode? {
        do {
            try body()
            return nil
        } catch let error as WireError {
            return error.code
        } catch {
            return nil
        }
    }

    @Test func helloThenIncreasingBatches() throws {
        var s = ReceiverSession()
        #expect(try s.receive(.hello(Hello(stream: "st", node: "n"))) == .welcome(stream: "st"))
        #expect(try s.receive(batch(1, seqs: [1, 2])) != .welcome(stream: "st"))
        guard case .ingest(let b) = try s.receive(batch(2, seqs: [5, 9])) else {
            Issue.record("expected ingest")
            return
        }
        #expect(b.events.map(\.seq) == [5, 9])
    }

    @Test func outOfOrderMessagesAreRejected() {
        var fresh = ReceiverSession()
        #expect(code { _ = try fresh.receive(batch(1, seqs: [1])) } == .unexpected)

        var s = ReceiverSession()
        _ = try? s.receive(.hello(Hello(stream: "st", node: "n")))
        #expect(code { _ = try s.receive(.hello(Hello(stream: "st", node: "n"))) } == .unexpected)
        _ = try? s.receive(batch(5, seqs: [10, 11]))
        #expect(code { _ = try s.receive(batch(5, seqs: [12])) } == .unexpected)  // batch number repeated
        #expect(code { _ = try s.receive(batch(6, seqs: [11])) } == .unexpected)  // seq went back
        #expect(code { _ = try s.receive(batch(7, seqs: [13, 13])) } == .unexpected)
        #expect(code { _ = try s.receive(.ack(Ack(batch: 1, through: 1, ids: []))) } == .unknownType)
    }

    @Test func helloIsChecked() {
        var s1 = ReceiverSession()
        #expect(code { _ = try s1.receive(.hello(Hello(version: 2, stream: "st", node: "n"))) } == .unsupportedVersion)
        var s2 = ReceiverSession()
        #expect(code { _ = try s2.receive(.hello(Hello(stream: "", node: "n"))) } == .malformed)
        var s3 = ReceiverSession()
        #expect(
            code { _ = try s3.receive(.hello(Hello(stream: String(repeating: "x", count: 300), node: ""))) }
                == .malformed)
        var s4 = ReceiverSession()
        #expect(code { _ = try s4.receive(.hello(Hello(stream: "a\nb", node: ""))) } == .malformed)
    }
}
