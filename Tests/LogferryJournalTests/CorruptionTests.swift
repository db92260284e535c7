import Foundation
import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryJournal

/// Issue 4's corruption test: a segment truncated at every byte offset, and bytes flipped at random in any
/// segment. Whatever the damage, the journal opens, counts it, hands out no damaged record, and delivers every
/// record none of whose bytes were touched.
struct CorruptionTests {
    /// Where each record sits in a segment file.
    struct Placement {
        var segment: String
        var offset: Int
        var length: Int
        var seq: UInt64
    }

    /// A closed journal in `dir` holding `count` records of random sizes, with each record's payload and placement.
    private func buildJournal(
        _ dir: String, count: Int, segmentBytes: Int, maxPayload: Int = 120, rng: inout SplitMix64
    ) async throws -> (payloads: [UInt64: [UInt8]], placements: [Placement]) {
        let journal = try await openJournal(testConfiguration(dir, segmentBytes: segmentBytes))
        var payloads: [UInt64: [UInt8]] = [:]
        for _ in 0..<count {
            let p = (0..<(1 + rng.below(maxPayload))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            payloads[try await journal.append([p]).lowerBound] = p
        }
        await journal.close()
        var placements: [Placement] = []
        for path in try segmentPaths(dir) {
            let bytes = try fileBytes(path)
            var offset = 0
            while offset < bytes.count {
                let header = try #require(
                    bytes.withUnsafeBytes {
                        RecordHeader.parse(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + RecordHeader.size)]))
                    })
                let length = RecordHeader.size + Int(header.length)
                placements.append(
                    Placement(
                        segment: URL(fileURLWithPath: path).lastPathComponent, offset: offset, length: length,
                        seq: header.seq))
                offset += length
            }
        }
        #expect(placements.count == count)
        return (payloads, placements)
    }

    @Test func aSegmentCutAtEveryByteOffsetOpensAndKeepsEveryWholeRecord() async throws {
        try await withTemporaryDirectory { dir in
            var rng = SplitMix64(seed: 0xC07)
            // Few, small records: every offset is still a different case (inside a header, inside a payload, on
            // a boundary), and each case costs an open and a close with their fsyncs.
            let (payloads, placements) = try await buildJournal(
                dir, count: 4, segmentBytes: 1 << 20, maxPayload: 40, rng: &rng)
            let segment = try #require(try segmentPaths(dir).first)
            let original = try fileBytes(segment)
            let lanes = 4
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<lanes {
                    group.addTask {
                        let image = dir + "-cut\(lane)"
                        defer { try? FileManager.default.removeItem(atPath: image) }
                        for cut in stride(from: lane, through: original.count, by: lanes) {
                            try await self.cutAndRecover(
                                dir, image: image, segment: segment, original: original, cut: cut,
                                payloads: payloads, placements: placements)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    private func cutAndRecover(
        _ dir: String, image: String, segment: String, original: [UInt8], cut: Int, payloads: [UInt64: [UInt8]],
        placements: [Placement]
    ) async throws {
        try? FileManager.default.removeItem(atPath: image)
        try FileManager.default.copyItem(atPath: dir, toPath: image)
        let cutSegment = image + "/" + URL(fileURLWithPath: segment).lastPathComponent
        try writeBytes(cutSegment, Array(original[0..<cut]))
        let whole = placements.filter { $0.offset + $0.length <= cut }

        // The read-only inspector sees the torn tail without touching it...
        let verify = try JournalInspector(directory: image, tailSettleAttempts: 0).verify()
        #expect(verify.records == whole.count, "cut at \(cut)")
        let boundary = whole.last.map { $0.offset + $0.length } ?? 0
        #expect(verify.damagedRegions.count == (cut == boundary ? 0 : 1), "cut at \(cut)")

        // ...and the journal cuts it off, keeps every whole record, and goes on numbering.
        let journal = try await openJournal(testConfiguration(image, segmentBytes: 1 << 20))
        #expect(journal.recoveryReport.bytesCut == cut - boundary, "cut at \(cut)")
        let records = try await readAll(journal)
        #expect(records.map(\.seq) == whole.map(\.seq), "cut at \(cut)")
        #expect(records.allSatisfy { payloads[$0.seq] == $0.payload }, "cut at \(cut)")
        // Numbers already handed out are never reused (meta remembers them even when records are gone).
        #expect(try await journal.append([[1]]).lowerBound == UInt64(placements.count + 1), "cut at \(cut)")
        await journal.close()
    }

    @Test func randomFlippedBytesNeverHandOutDamageAndKeepEveryIntactRecord() async throws {
        try await withTemporaryDirectory { dir in
            var rng = SplitMix64(seed: 0xF11B)
            let (payloads, placements) = try await buildJournal(dir, count: 150, segmentBytes: 4096, rng: &rng)
            let segments = Set(placements.map(\.segment)).sorted()
            #expect(segments.count >= 3)
            let originals = try Dictionary(uniqueKeysWithValues: segments.map { ($0, try fileBytes(dir + "/" + $0)) })
            let image = dir + "-flip"
            for trial in 0..<120 {
                try? FileManager.default.removeItem(atPath: image)
                try FileManager.default.copyItem(atPath: dir, toPath: image)
                // 1-4 distinct positions, anywhere in any segment.
                var touched: Set<UInt64> = []
                var flips: [(String, Int)] = []
                for _ in 0..<(1 + rng.below(4)) {
                    let segment = segments[rng.below(segments.count)]
                    let offset = rng.below(originals[segment]!.count)
                    guard !flips.contains(where: { $0 == (segment, offset) }) else { continue }
                    flips.append((segment, offset))
                    if let hit = placements.first(where: {
                        $0.segment == segment && $0.offset <= offset && offset < $0.offset + $0.length
                    }) {
                        touched.insert(hit.seq)
                    }
                }
                for segment in segments where flips.contains(where: { $0.0 == segment }) {
                    var bytes = originals[segment]!
                    for (s, offset) in flips where s == segment { bytes[offset] ^= UInt8(1 + rng.below(255)) }
                    try writeBytes(image + "/" + segment, bytes)
                }
                let context = "trial \(trial): flips \(flips)"

                let journal = try await openJournal(testConfiguration(image, segmentBytes: 4096))
                let records = try await readAll(journal)
                // Nothing damaged is handed out, and nothing intact is withheld.
                #expect(
                    records.allSatisfy { payloads[$0.seq] == $0.payload && !touched.contains($0.seq) }, "\(context)")
                let intact = placements.map(\.seq).filter { !touched.contains($0) }
                #expect(records.map(\.seq) == intact, "\(context)")
                // The damage is counted: at open (newest segment) or by the readers (older ones).
                let counted = journal.recoveryReport.damagedRegions.count + journal.stat().damagedRegionsSkipped
                #expect(counted >= 1, "\(context)")
                await journal.close()
            }
            try? FileManager.default.removeItem(atPath: image)
        }
    }
}
