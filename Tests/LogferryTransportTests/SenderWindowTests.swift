import Testing

@testable import LogferryTransport

@Suite struct SenderWindowTests {
    @Test func acksInOrderReleaseRoomAndCommitPositions() throws {
        var w = SenderWindow(capacity: 2)
        #expect(w.sent(lastSeq: 10, eventCount: 10, commitThrough: 10) == 1)
        #expect(w.sent(lastSeq: 20, eventCount: 10, commitThrough: 20) == 2)
        #expect(!w.hasRoom)
        #expect(try w.acked(Ack(batch: 1, through: 10, ids: Array(repeating: "id", count: 10))) == 10)
        #expect(w.hasRoom)
        #expect(try w.acked(Ack(batch: 2, through: 20, ids: Array(repeating: "id", count: 10))) == 20)
        #expect(w.isEmpty)
        #expect(w.nextNumber == 3)
    }

    @Test func rejectsAcksThatDoNotMatch() {
        var w = SenderWindow(capacity: 4)
        #expect(throws: SenderWindow.AckError.nothingInFlight(batch: 1)) {
            try w.acked(Ack(batch: 1, through: 1, ids: ["a"]))
        }
        w.sent(lastSeq: 5, eventCount: 2, commitThrough: 5)
        w.sent(lastSeq: 9, eventCount: 1, commitThrough: 9)
        #expect(throws: SenderWindow.AckError.outOfOrder(got: 2, expected: 1)) {
            try w.acked(Ack(batch: 2, through: 9, ids: ["a"]))
        }
        #expect(throws: SenderWindow.AckError.wrongThrough(batch: 1, got: 4, expected: 5)) {
            try w.acked(Ack(batch: 1, through: 4, ids: ["a", "b"]))
        }
        #expect(throws: SenderWindow.AckError.wrongIDCount(batch: 1, got: 1, expected: 2)) {
            try w.acked(Ack(batch: 1, through: 5, ids: ["a"]))
        }
        // A rejected ack leaves the window as it was.
        #expect(w.inFlight.count == 2)
    }

    @Test func skippedRecordsRideOnTheNewestBatchOrCommitAtOnce() throws {
        var w = SenderWindow(capacity: 4)
        #expect(w.skipped(through: 3) == 3)  // nothing in flight: commit now
        w.sent(lastSeq: 10, eventCount: 7, commitThrough: 10)
        #expect(w.skipped(through: 12) == nil)  // the cursor may only pass them with batch 1's ack
        #expect(try w.acked(Ack(batch: 1, through: 10, ids: Array(repeating: "x", count: 7))) == 12)
    }
}
