import Foundation
import LogferryCore
import Testing

@testable import LogferryJournal

/// The read-only inspector behind `logferry journal stat|verify|dump`: same answers as the journal itself, no
/// lock taken, nothing changed on disk, and no false alarms while a journal appends and deletes under it.
struct JournalInspectorTests {
    @Test func agreesWithTheJournalAndTakesNoLock() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir, segmentBytes: 4096))
            try await appendEach(journal, 1...100)
            try await journal.commit(cursor: "slow", through: 10, state: [])
            try await journal.commit(cursor: "fast", through: 100, state: [])

            // The journal is open (and holds the lock) while the inspector reads.
            let inspector = JournalInspector(directory: dir)
            let s = try inspector.inspect()
            let j = journal.stat()
            #expect(s.bytes == j.bytes)
            #expect(s.segments.count == j.segments)
            #expect(s.firstSequence == j.firstSequence)
            #expect(s.lastSequence == 100)
            #expect(s.nextSequence == 101)
            #expect(s.lockedByPID == getpid())
            let slow = try #require(s.cursors.first { $0.name == "slow" })
            #expect(slow.lagRecords == 90)
            #expect(slow.lagBytes == 90 * (28 + 100))
            #expect(s.cursors.first { $0.name == "fast" }?.lagRecords == 0)

            let v = try inspector.verify()
            #expect(v.isIntact && v.gaps.isEmpty)
            #expect(v.records == 100 - Int(s.firstSequence! - 1))
            var seen: [UInt64] = []
            try inspector.forEachRecord(from: 42) { r in
                #expect(r.payload == payload(Int(r.seq)))
                seen.append(r.seq)
                return seen.count < 5
            }
            #expect(seen == [42, 43, 44, 45, 46])
            await journal.close()
        }
    }

    @Test func reportsDamageWithoutRepairingIt() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir, segmentBytes: 1 << 20))
            try await appendEach(journal, 1...20)
            await journal.close()
            let path = try #require(try segmentPaths(dir).first)
            var bytes = try fileBytes(path)
            let record = 28 + 100
            bytes[5 * record + 40] ^= 0xFF  // inside record 6's payload
            bytes.removeLast(7)  // and a torn tail in record 20
            try writeBytes(path, bytes)

            let v = try JournalInspector(directory: dir).verify()
            #expect(
                v.damagedRegions == [
                    DamagedRegion(
                        segment: URL(fileURLWithPath: path).lastPathComponent, offset: 5 * record, length: record,
                        truncated: false),
                    DamagedRegion(
                        segment: URL(fileURLWithPath: path).lastPathComponent, offset: 19 * record, length: record - 7,
                        truncated: true),
                ])
            #expect(v.gaps == [.init(after: 5, next: 7)])
            #expect(v.records == 18)
            // Read-only: the bytes are still there for recovery to find.
            #expect(try fileBytes(path) == bytes)
        }
    }

    @Test func keepsItsFootingWhileAJournalAppendsAndDeletes() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir, segmentBytes: 4096, maxBytes: 64 << 10))
            try await appendEach(journal, 1...10)
            let writer = Task {
                var n = 11
                while !Task.isCancelled {
                    let range = try await journal.append((0..<5).map { payload(n + $0) })
                    n += 5
                    // A destination that keeps up: delivered segments are deleted all the time.
                    try await journal.commit(
                        cursor: "dest", through: range.upperBound > 20 ? range.upperBound - 20 : 0, state: [])
                }
            }
            let inspector = JournalInspector(directory: dir)
            for _ in 0..<30 {
                let report = try await onThread { try inspector.verify() }
                #expect(report.isIntact && report.gaps.isEmpty, "\(report)")
                _ = try await onThread { try inspector.inspect() }
                let seqs = try await onThread {
                    var seqs: [UInt64] = []
                    try inspector.forEachRecord { r in
                        if r.payload != payload(Int(r.seq)) { seqs.append(0) }
                        seqs.append(r.seq)
                        return true
                    }
                    return seqs
                }
                #expect(!seqs.contains(0), "a record with a wrong payload was handed out")
                #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count)
            }
            writer.cancel()
            _ = try? await writer.value
            await journal.close()
        }
    }

    @Test func aDirectoryThatIsNoJournalIsAUserError() throws {
        #expect(throws: JournalInspector.Error.noJournal(path: "/nonexistent/journal")) {
            try JournalInspector(directory: "/nonexistent/journal").inspect()
        }
    }
}

/// Runs blocking inspector calls on their own thread, off the cooperative pool the journal's callers use.
private func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
