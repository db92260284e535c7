import Foundation
import LogferryCore
import Testing

@testable import LogferryJournal

/// Recovery from what crashes and disks leave behind. Crashes are simulated by copying the directory while
/// the journal is open (`crashImage`), then damaging the copy.
struct RecoveryTests {
    /// Ten 128-byte records (seq 1...10) in one segment, as a crash would leave them; returns the copy's path.
    private func crashedJournalWithTenRecords(_ dir: String) async throws -> String {
        let journal = try await openJournal(testConfiguration(dir))
        try await appendEach(journal, 1...10)
        let image = try crashImage(of: dir)
        await journal.close()
        return image
    }

    @Test(arguments: [1, 27, 28, 29, 127, 128, 129, 640, 700, 1279, 1280])
    func tornTailIsCutAndEveryCompleteRecordKept(cutAt: Int) async throws {
        try await withTemporaryDirectory { dir in
            let image = try await crashedJournalWithTenRecords(dir)
            let segment = try #require(try segmentPaths(image).first)
            try writeBytes(segment, Array(try fileBytes(segment)[0..<cutAt]))

            let journal = try await openJournal(testConfiguration(image))
            let complete = cutAt / 128
            let report = journal.recoveryReport
            #expect(report.recordsFound == complete)
            #expect(report.bytesCut == cutAt - complete * 128)
            #expect(report.damagedRegions.count == (cutAt % 128 == 0 ? 0 : 1))
            if let region = report.damagedRegions.first {
                #expect(region.truncated)
                #expect(region.offset == complete * 128)
                let saved = try #require(region.savedAs)
                #expect(try fileBytes(saved).count == region.length)
            }
            let records = try await readAll(journal)
            #expect(records.map(\.seq) == (0..<complete).map { UInt64($0 + 1) })
            #expect(records.map(\.payload) == (0..<complete).map { payload($0 + 1) })
            #expect(try await journal.append([payload(99)]) == UInt64(complete + 1)...UInt64(complete + 1))
            await journal.close()

            // The repair sticks: the next open finds a clean journal.
            let again = try await openJournal(testConfiguration(image))
            #expect(again.recoveryReport.isClean)
            #expect(try await readAll(again).count == complete + 1)
            await again.close()
        }
    }

    @Test(arguments: [1, 37, 4096])
    func garbageAfterTheLastRecordIsCutOff(garbageBytes: Int) async throws {
        try await withTemporaryDirectory { dir in
            let image = try await crashedJournalWithTenRecords(dir)
            let segment = try #require(try segmentPaths(image).first)
            var generator = SystemRandomNumberGenerator()
            let garbage = (0..<garbageBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try writeBytes(segment, try fileBytes(segment) + garbage)

            let journal = try await openJournal(testConfiguration(image))
            #expect(journal.recoveryReport.bytesCut == garbageBytes)
            #expect(journal.recoveryReport.recordsFound == 10)
            #expect(try fileBytes(segment).count == 1280)
            let damaged = try FileManager.default.contentsOfDirectory(atPath: image + "/damaged")
            #expect(damaged == ["seg-00000000000000000001-1280.bin"])
            #expect(try await readAll(journal).map(\.seq) == Array(1...10))
            #expect(try await journal.append([payload(11)]) == 11...11)
            await journal.close()
        }
    }

    @Test func zeroFilledTailFromAPowerCutIsCutOff() async throws {
        try await withTemporaryDirectory { dir in
            let image = try await crashedJournalWithTenRecords(dir)
            let segment = try #require(try segmentPaths(image).first)
            var bytes = try fileBytes(segment)
            for i in 1000..<1280 { bytes[i] = 0 }
            try writeBytes(segment, bytes)

            let journal = try await openJournal(testConfiguration(image))
            #expect(journal.recoveryReport.bytesCut == 1280 - 896)
            #expect(try await readAll(journal).map(\.seq) == Array(1...7))
            // Records 8...10 could have been delivered before the crash; their numbers are not reused only if a
            // cursor or meta says so. Here neither does: the journal continues after the last intact record.
            #expect(try await journal.append([payload(8)]) == 8...8)
            await journal.close()
        }
    }

    @Test func aNewestSegmentWithNothingIntactIsRemoved() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...40)  // segments 1-32 and 33-40
            let image = try crashImage(of: dir)
            await journal.close()
            let newest = try #require(try segmentPaths(image).last)
            try writeBytes(newest, Array(try fileBytes(newest)[0..<20]))

            let reopened = try await openJournal(testConfiguration(image))
            #expect(try segmentPaths(image).count == 1)
            #expect(try await readAll(reopened).map(\.seq) == Array(1...32))
            #expect(try await reopened.append([payload(33)]) == 33...33)
            #expect(try await readAll(reopened, after: 30).map(\.seq) == [31, 32, 33])
            await reopened.close()
        }
    }

    /// Byte offsets inside record 5 (which starts at 512): magic, length, seq, CRC, payload.
    @Test(arguments: [0, 5, 9, 25, 80])
    func flippedByteInAnOlderSegmentSkipsThatRecord(offsetInRecord: Int) async throws {
        try await withTemporaryDirectory { dir in
            var journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...100)  // four segments; record 5 is in the first
            await journal.close()
            let first = try #require(try segmentPaths(dir).first)
            var bytes = try fileBytes(first)
            bytes[4 * 128 + offsetInRecord] ^= 0x20
            try writeBytes(first, bytes)

            journal = try await openJournal(testConfiguration(dir))
            #expect(journal.recoveryReport.isClean)  // only the newest segment is checked at open
            let seqs = try await readAll(journal, batch: 7).map(\.seq)
            #expect(seqs == Array(1...4) + Array(6...100))
            #expect(journal.stat().damagedRegionsSkipped == 1)

            let report = try await journal.verify()
            #expect(report.damagedRegions.map(\.offset) == [512])
            #expect(report.damagedRegions.first?.length == 128)
            #expect(report.gaps == [.init(after: 4, next: 6)])
            #expect(report.records == 99)
            await journal.close()
        }
    }

    @Test func flippedByteInTheNewestSegmentIsReportedAtOpenAndSkipped() async throws {
        try await withTemporaryDirectory { dir in
            var journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...10)
            await journal.close()
            let segment = try #require(try segmentPaths(dir).first)
            var bytes = try fileBytes(segment)
            bytes[3 * 128 + 60] ^= 1
            try writeBytes(segment, bytes)

            journal = try await openJournal(testConfiguration(dir))
            let report = journal.recoveryReport
            #expect(report.recordsFound == 9)
            #expect(report.bytesCut == 0)
            #expect(report.damagedRegions.count == 1)
            #expect(report.damagedRegions.first?.truncated == false)
            #expect(report.damagedRegions.first?.offset == 384)
            #expect(try await readAll(journal).map(\.seq) == [1, 2, 3, 5, 6, 7, 8, 9, 10])
            #expect(try await journal.append([payload(11)]) == 11...11)
            await journal.close()
        }
    }

    @Test func corruptCursorFileIsSetAsideAndTheCursorStartsOver() async throws {
        try await withTemporaryDirectory { dir in
            var journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...10)
            try await journal.commit(cursor: "central", through: 8, state: [4, 2])
            await journal.close()
            let path = dir + "/cursors/central.cursor"
            var bytes = try fileBytes(path)
            bytes[bytes.count - 1] ^= 0xFF
            try writeBytes(path, bytes)

            journal = try await openJournal(testConfiguration(dir))
            #expect(journal.recoveryReport.corruptCursorFiles == ["central.cursor"])
            #expect(FileManager.default.fileExists(atPath: dir + "/damaged/cursor-central.cursor"))
            #expect(try await journal.openCursor("central") == SpoolCursor(name: "central", seq: 0, state: []))
            await journal.close()
        }
    }

    @Test func leftoverTemporaryFilesAndADamagedMetaDoNotStopTheJournal() async throws {
        try await withTemporaryDirectory { dir in
            var journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...3)
            try await journal.commit(cursor: "a", through: 2, state: [])
            await journal.close()
            try writeBytes(dir + "/cursors/a.cursor.tmp", [1, 2, 3])
            try writeBytes(dir + "/meta", [0, 0, 0])

            journal = try await openJournal(testConfiguration(dir))
            #expect(journal.recoveryReport.metaDamaged)
            #expect(!FileManager.default.fileExists(atPath: dir + "/cursors/a.cursor.tmp"))
            #expect(try await journal.openCursor("a").seq == 2)
            #expect(try await journal.append([payload(4)]) == 4...4)
            await journal.close()
        }
    }

    @Test func unrecoverableIOStillThrows() async throws {
        try await withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try writeBytes(dir + "/not-a-directory", [1])
            await #expect(throws: SpoolError.self) {
                _ = try await openJournal(testConfiguration(dir + "/not-a-directory/journal"))
            }
        }
    }
}
