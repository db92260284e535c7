import Testing

@testable import LogferryJournal

struct SegmentTests {
    @Test func fileNamesRoundTrip() {
        #expect(SegmentFile.fileName(firstSeq: 1) == "seg-00000000000000000001.log")
        #expect(SegmentFile.fileName(firstSeq: UInt64.max) == "seg-18446744073709551615.log")
        #expect(SegmentFile.firstSeq(fromFileName: "seg-00000000000000000042.log") == 42)
        for name in [
            "seg-42.log", "seg-0000000000000000004x.log", "seg-00000000000000000000.log", "x.log",
            "seg-00000000000000000001.log.tmp",
        ] {
            #expect(SegmentFile.firstSeq(fromFileName: name) == nil)
        }
    }

    private func index(_ firsts: [UInt64], active: Bool = true) -> SegmentIndex {
        SegmentIndex(
            entries: firsts.map { SegmentEntry(file: SegmentFile(firstSeq: $0, directory: "/nonexistent"), size: 100) },
            hasActive: active)
    }

    @Test func binarySearchFindsTheSegmentThatMayHoldASequence() {
        let idx = index([1, 11, 21, 31])
        #expect(idx.index(forSeq: 0) == 0)
        #expect(idx.index(forSeq: 1) == 0)
        #expect(idx.index(forSeq: 10) == 0)
        #expect(idx.index(forSeq: 11) == 1)
        #expect(idx.index(forSeq: 30) == 2)
        #expect(idx.index(forSeq: 1000) == 3)
        #expect(index([]).index(forSeq: 5) == nil)
        #expect(SegmentIndex.index(in: idx.entries, ofFirstSeq: 21) == 2)
        #expect(SegmentIndex.index(in: idx.entries, ofFirstSeq: 22) == nil)
    }

    @Test func deletablePrefixStopsAtTheFirstSegmentSomeoneNeeds() {
        var idx = index([1, 11, 21])
        idx.appended(bytes: 10, records: 5, lastSeq: 25)
        #expect(idx.deletablePrefix(through: 9, includeActive: true) == 0)
        #expect(idx.deletablePrefix(through: 10, includeActive: true) == 1)
        #expect(idx.deletablePrefix(through: 24, includeActive: true) == 2)
        #expect(idx.deletablePrefix(through: 25, includeActive: false) == 2)
        #expect(idx.deletablePrefix(through: 25, includeActive: true) == 3)
        #expect(idx.totalBytes == 310)
        idx.removeFirst(2)
        #expect(idx.totalBytes == 110)
        #expect(idx.entries.map(\.firstSeq) == [21])
    }

    @Test func anEmptyActiveSegmentIsNeverDeletable() {
        var idx = index([1])
        idx.startSegment(SegmentFile(firstSeq: 11, directory: "/nonexistent"))
        #expect(idx.lastSeq(at: 0) == 10)
        #expect(idx.lastSeq(at: 1) == nil)
        #expect(idx.deletablePrefix(through: 100, includeActive: true) == 1)
        #expect(idx.recordCount(at: 0) == 10)
    }
}
