import LogferryCore
import Testing

@testable import LogferryTransport

@Suite struct DedupIndexTests {
    let a = NodeIdentity(hex: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")!
    let b = NodeIdentity(hex: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")!

    @Test func admitsEachOriginSequenceOnce() {
        var index = DedupIndex()
        #expect(index.admit(origin: EventOrigin(node: a, seq: 1)) == .new)
        #expect(index.admit(origin: EventOrigin(node: a, seq: 1)) == .duplicate)
        #expect(index.admit(origin: EventOrigin(node: a, seq: 2)) == .new)
        #expect(index.admit(origin: EventOrigin(node: b, seq: 1)) == .new)
        #expect(index.admit(origin: EventOrigin(node: a, seq: 1)) == .duplicate)
        #expect(index.highwater(a) == 2)
        #expect(index.highwater(b) == 1)
    }

    @Test func gapsAreNewAndLowerIsDuplicate() {
        var index = DedupIndex()
        #expect(index.admit(origin: EventOrigin(node: a, seq: 10)) == .new)
        #expect(index.admit(origin: EventOrigin(node: a, seq: 5)) == .duplicate)  // below the mark: seen
        #expect(index.classify(EventOrigin(node: a, seq: 11)) == .new)
        #expect(index.highwater(a) == 10)  // classify does not record
    }

    @Test func marksNeverGoDown() {
        var index = DedupIndex()
        index.raise(a, to: 7)
        index.raise(a, to: 3)
        index.record(stream: "s", through: 9)
        index.record(stream: "s", through: 4)
        #expect(index.highwater(a) == 7)
        #expect(index.committed(stream: "s") == 9)
        #expect(index.committed(stream: "other") == 0)
    }

    @Test func serializationRoundTrips() throws {
        var index = DedupIndex()
        index.raise(a, to: 1_000_000)
        index.raise(b, to: UInt64.max)
        index.record(stream: "\(a.hex)/central", through: 42)
        index.record(stream: "ünïcode stream", through: 1)
        let bytes = index.serialized()
        #expect(try DedupIndex(serialized: bytes) == index)
        #expect(index.serialized() == bytes)  // deterministic
        #expect(try DedupIndex(serialized: []) == DedupIndex())
    }

    @Test func rejectsDamagedState() {
        var index = DedupIndex()
        index.raise(a, to: 5)
        index.record(stream: "s", through: 3)
        let bytes = index.serialized()
        #expect(throws: DedupIndexError.self) { try DedupIndex(serialized: Array(bytes.dropLast())) }
        #expect(throws: DedupIndexError.self) { try DedupIndex(serialized: bytes + [0]) }
        #expect(throws: DedupIndexError.self) { try DedupIndex(serialized: [0x4C, 0x46, 0x58, 0x58, 1, 0, 0, 0, 0]) }
        var badVersion = bytes
        badVersion[4] = 9
        #expect(throws: DedupIndexError.self) { try DedupIndex(serialized: badVersion) }
        var hugeCount = bytes
        hugeCount[5] = 0xFF
        hugeCount[8] = 0x7F
        #expect(throws: DedupIndexError.self) { try DedupIndex(serialized: hugeCount) }
    }
}
