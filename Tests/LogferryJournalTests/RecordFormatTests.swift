import Foundation
import LogferryCore
import Testing

@testable import LogferryJournal

struct RecordFormatTests {
    @Test func encodesTheDocumentedLayout() {
        var out: [UInt8] = []
        RecordHeader.encode([[0xAA, 0xBB]], firstSeq: 0x0102_0304_0506_0708, timeNanos: 5, into: &out)
        #expect(out.count == 30)
        #expect(Array(out[0..<4]) == [0x46, 0x4C, 1, 0])  // magic LE, version, flags
        #expect(Array(out[4..<8]) == [2, 0, 0, 0])  // length
        #expect(Array(out[8..<16]) == [8, 7, 6, 5, 4, 3, 2, 1])  // seq
        #expect(Array(out[16..<24]) == [5, 0, 0, 0, 0, 0, 0, 0])  // timeNanos
        let crc = CRC32C.update(CRC32C.checksum(Array(out[0..<24])), [0xAA, 0xBB])
        #expect(Array(out[24..<28]) == withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        #expect(Array(out[28...]) == [0xAA, 0xBB])
    }

    @Test func parsesWhatItEncodes() throws {
        var out: [UInt8] = []
        RecordHeader.encode([payload(1)], firstSeq: 42, timeNanos: -7, into: &out)
        let header = try #require(out.withUnsafeBytes { RecordHeader.parse($0) })
        #expect(header.seq == 42)
        #expect(header.timeNanos == -7)
        #expect(header.length == 100)
        #expect(out.withUnsafeBytes { RecordHeader.verify(header, record: $0) })
        out[50] ^= 1
        #expect(!out.withUnsafeBytes { RecordHeader.verify(header, record: $0) })
    }

    @Test func rejectsWrongMagicVersionAndLength() {
        var out: [UInt8] = []
        RecordHeader.encode([[1]], firstSeq: 1, timeNanos: 0, into: &out)
        for (offset, value) in [(0, UInt8(0)), (2, UInt8(9)), (7, UInt8(0x7F))] {
            var bad = out
            bad[offset] = value
            #expect(bad.withUnsafeBytes { RecordHeader.parse($0) } == nil)
        }
    }

    /// Feeds the scanner a file with records, garbage between them and a torn record at the end, through a
    /// tiny buffer so records and the magic search straddle buffer boundaries.
    @Test(arguments: [16, 33, 4096])
    func scannerResynchronisesAfterDamage(chunkSize: Int) async throws {
        try await withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = dir + "/scan"
            var bytes: [UInt8] = []
            RecordHeader.encode([payload(1, size: 10), payload(2, size: 40)], firstSeq: 1, timeNanos: 0, into: &bytes)
            let garbageAt = bytes.count
            bytes += [0x46, 0x4C, 1, 0, 0xFF, 0xFF, 0, 0] + [UInt8](repeating: 0x46, count: 20)  // a fake header
            let thirdAt = bytes.count
            RecordHeader.encode([payload(3, size: 5)], firstSeq: 3, timeNanos: 0, into: &bytes)
            let tornAt = bytes.count
            var torn: [UInt8] = []
            RecordHeader.encode([payload(4, size: 50)], firstSeq: 4, timeNanos: 0, into: &torn)
            bytes += torn[0..<40]
            try writeBytes(path, bytes)

            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            var scanner = RecordScanner(fd: fd, path: path, from: 0, to: bytes.count, chunkSize: chunkSize)
            var seen: [String] = []
            loop: while true {
                switch try scanner.next() {
                case .end: break loop
                case .record(let h, let at):
                    #expect(scanner.payload() == payload(Int(h.seq), size: Int(h.length)))
                    seen.append("r\(h.seq)@\(at)")
                case .damaged(let at, let length): seen.append("d@\(at)+\(length)")
                }
            }
            #expect(
                seen == [
                    "r1@0", "r2@38", "d@\(garbageAt)+\(thirdAt - garbageAt)", "r3@\(thirdAt)",
                    "d@\(tornAt)+40",
                ])
        }
    }
}
