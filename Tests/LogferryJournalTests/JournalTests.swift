import Foundation
import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryJournal

struct JournalTests {
    // MARK: Appending and reading

    @Test(arguments: [FsyncPolicy.never, .interval, .always])
    func roundTripAcrossSeveralSegments(fsync: FsyncPolicy) async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir, fsync: fsync))
            // 128-byte records, 32 per 4 KiB segment: 100 records in 4 segments; batches of 1..7.
            var next = 1
            var batch = 1
            while next <= 100 {
                let last = min(100, next + batch - 1)
                let range = try await journal.append((next...last).map { payload($0) })
                #expect(range == UInt64(next)...UInt64(last))
                next = last + 1
                batch = batch % 7 + 1
            }
            // A batch never straddles two segments, so some segments hold fewer than 32 records.
            let segmentCount = try segmentPaths(dir).count
            #expect(segmentCount >= 4)
            #expect(await journal.lastSequence() == 100)

            for readBatch in [1, 3, 32, 1000] {
                let records = try await readAll(journal, batch: readBatch)
                #expect(records.map(\.seq) == Array(1...100))
                #expect(records.map(\.payload) == (1...100).map { payload($0) })
                #expect(records.allSatisfy { $0.timeNanos == 1_700_000_000_000_000_000 })
            }
            // Starting in the middle of a segment, without a cached position.
            let middle = try await journal.read(after: 70, maxRecords: 2, maxBytes: 1 << 20)
            #expect(middle.map(\.seq) == [71, 72])
            #expect(try await journal.read(after: 100, maxRecords: 10, maxBytes: 1 << 20).isEmpty)

            let stat = journal.stat()
            #expect(stat.segments == segmentCount)
            #expect(stat.firstSequence == 1)
            #expect(stat.lastSequence == 100)
            #expect(stat.appendedRecords == 100)
            if fsync != .never { #expect(stat.fsyncs >= 1) }
            await journal.close()

            // Everything is still there after a reopen.
            let reopened = try await openJournal(testConfiguration(dir))
            #expect(reopened.recoveryReport.isClean)
            #expect(reopened.recoveryReport.nextSequence == 101)
            #expect(try await readAll(reopened, batch: 9).map(\.seq) == Array(1...100))
            #expect(try await reopened.append([payload(101)]) == 101...101)
            await reopened.close()
        }
    }

    @Test func readHonoursMaxBytesButReturnsAtLeastOneRecord() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            _ = try await journal.append((1...5).map { payload($0) })
            #expect(try await journal.read(after: 0, maxRecords: 10, maxBytes: 10).map(\.seq) == [1])
            #expect(try await journal.read(after: 0, maxRecords: 10, maxBytes: 250).map(\.seq) == [1, 2])
            #expect(try await journal.read(after: 0, maxRecords: 0, maxBytes: 1000).isEmpty)
            await journal.close()
        }
    }

    @Test func refusesOversizedRecordsAndHandlesEmptyBatches() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            await #expect(throws: SpoolError.recordTooLarge(2049)) {
                _ = try await journal.append([payload(1, size: 2049)])
            }
            _ = try await journal.append([payload(1)])
            #expect(try await journal.append([]) == 1...1)
            #expect(await journal.lastSequence() == 1)
            await journal.close()
        }
    }

    @Test func concurrentAppendsGetDistinctConsecutiveSequencesAndShareFsyncs() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir, fsync: .always))
            let ranges = try await withThrowingTaskGroup(of: ClosedRange<UInt64>.self) { group in
                for i in 0..<50 { group.addTask { try await journal.append([payload(i), payload(i)]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let seqs = ranges.flatMap { Array($0) }.sorted()
            #expect(seqs == Array(1...100))
            #expect(try await readAll(journal).count == 100)
            #expect(journal.stat().fsyncs <= 50 + 3)  // at most one per append, plus segment rotations
            await journal.close()
        }
    }

    @Test func closedJournalRefusesWork() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            await journal.close()
            await journal.close()
            await #expect(throws: SpoolError.closed) { try await journal.append([payload(1)]) }
            await #expect(throws: SpoolError.closed) {
                _ = try await journal.read(after: 0, maxRecords: 1, maxBytes: 1)
            }
            await #expect(throws: SpoolError.closed) { try await journal.waitForRecords(after: 0) }
            await #expect(throws: SpoolError.closed) { _ = try await journal.openCursor("x") }
        }
    }

    @Test func aSecondOpenOfTheSameDirectoryIsRefused() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            let error = await #expect(throws: SpoolError.self) { _ = try await openJournal(testConfiguration(dir)) }
            if case .io(let operation, _, _) = error {
                #expect(operation == "lock")
            } else {
                Issue.record("expected a lock error, got \(String(describing: error))")
            }
            await journal.close()
            let again = try await openJournal(testConfiguration(dir))
            await again.close()
        }
    }

    @Test func underIntervalReadersSeeOnlyRecordsTheirFsyncCovered() async throws {
        try await withTemporaryDirectory { dir in
            var config = testConfiguration(dir, fsync: .interval)
            // Far longer than the test: the second fsync cannot happen by time, only by close (no timing race
            // when the machine is loaded).
            config.fsyncInterval = .seconds(3600)
            let journal = try await openJournal(config)
            // The first fsync runs at once; the next may only start an interval after it.
            #expect(try await journal.append([payload(1)]) == 1...1)
            let second = Task { try await journal.append([payload(2)]) }
            #expect(await eventually(timeout: 5) { journal.stat().lastWrittenSequence == 2 })
            // Written, not yet durable: invisible.
            #expect(await journal.lastSequence() == 1)
            #expect(try await journal.read(after: 1, maxRecords: 10, maxBytes: 1 << 20).isEmpty)
            // Close fsyncs what was written: the waiting append returns and the record is durable.
            await journal.close()
            #expect(try await withTimeout { try await second.value } == 2...2)
            let reopened = try await openJournal(config)
            #expect(await reopened.lastSequence() == 2)
            #expect(try await reopened.read(after: 1, maxRecords: 10, maxBytes: 1 << 20).map(\.seq) == [2])
            await reopened.close()
        }
    }

    @Test func positionCacheRemembersWhereReadsStoppedAndForgetsDeletedSegments() {
        var cache = PositionCache(capacity: 3)
        cache.store(after: 10, .init(segment: 1, offset: 100))
        cache.store(after: 20, .init(segment: 1, offset: 200))
        cache.store(after: 30, .init(segment: 33, offset: 0))
        #expect(cache.lookup(after: 20) == .init(segment: 1, offset: 200))
        cache.store(after: 40, .init(segment: 33, offset: 50))
        #expect(cache.lookup(after: 10) == nil)  // the oldest entry made room
        cache.forget(segment: 1)
        #expect(cache.lookup(after: 20) == nil)
        #expect(cache.lookup(after: 40) == .init(segment: 33, offset: 50))
    }

    // MARK: Waiting

    @Test func waitForRecordsWakesOnAppend() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir, fsync: .interval))
            _ = try await journal.append([payload(1)])
            try await journal.waitForRecords(after: 0)  // already there: returns at once

            let waiter = Task { try await journal.waitForRecords(after: 1) }
            #expect(await eventually(timeout: 5) { journal.recordWaiterCount == 1 })
            _ = try await journal.append([payload(2)])
            try await withTimeout { try await waiter.value }
            await journal.close()
        }
    }

    @Test func cancelledWaiterThrowsCancellationError() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            let waiter = Task { try await journal.waitForRecords(after: 0) }
            #expect(await eventually(timeout: 5) { journal.recordWaiterCount == 1 })
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await withTimeout { try await waiter.value } }

            // Cancelled before it even started waiting.
            let early = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                try await journal.waitForRecords(after: 0)
            }
            await #expect(throws: CancellationError.self) { try await withTimeout { try await early.value } }
            await journal.close()
        }
    }

    @Test func closeWakesWaiters() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            let waiter = Task { try await journal.waitForRecords(after: 0) }
            #expect(await eventually(timeout: 5) { journal.recordWaiterCount == 1 })
            await journal.close()
            await #expect(throws: SpoolError.closed) { try await withTimeout { try await waiter.value } }
        }
    }

    // MARK: Cursors and retention

    @Test func cursorCommitPersistsAcrossReopen() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...10)
            let fresh = try await journal.openCursor("central")
            #expect(fresh == SpoolCursor(name: "central", seq: 0, state: []))
            try await journal.commit(cursor: "central", through: 7, state: [1, 2, 3])
            #expect(try await journal.openCursor("central") == SpoolCursor(name: "central", seq: 7, state: [1, 2, 3]))
            await journal.close()

            let reopened = try await openJournal(testConfiguration(dir))
            #expect(try await reopened.openCursor("central") == SpoolCursor(name: "central", seq: 7, state: [1, 2, 3]))
            #expect(reopened.stat().cursors == [.init(name: "central", seq: 7, lag: 3)])
            await reopened.close()
        }
    }

    @Test func newCursorStartsAtTheOldestRetainedRecord() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...100)
            _ = try await journal.openCursor("a")
            try await journal.commit(cursor: "a", through: 70, state: [])
            // Segments hold 1-32, 33-64, 65-96, 97-100: the first two are gone.
            #expect(journal.stat().firstSequence == 65)
            #expect(try await journal.openCursor("b").seq == 64)
            await journal.close()
        }
    }

    @Test func commitPastTheEndIsLowered() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...3)
            try await journal.commit(cursor: "a", through: 99, state: [])
            #expect(try await journal.openCursor("a").seq == 3)
            await journal.close()
        }
    }

    @Test func segmentsAreDeletedOnlyAfterEveryCursorPassedThem() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            _ = try await journal.openCursor("fast")
            _ = try await journal.openCursor("slow")
            try await appendEach(journal, 1...100)  // segments start at 1, 33, 65, 97
            #expect(try segmentPaths(dir).count == 4)

            try await journal.commit(cursor: "fast", through: 100, state: [])
            #expect(try segmentPaths(dir).count == 4)

            try await journal.commit(cursor: "slow", through: 40, state: [])
            #expect(
                try segmentPaths(dir).map { ($0 as NSString).lastPathComponent }.first == "seg-00000000000000000033.log"
            )

            try await journal.commit(cursor: "slow", through: 100, state: [])
            // Every record is delivered; the active segment stays for the next appends.
            #expect(try segmentPaths(dir).count == 1)
            #expect(try await readAll(journal, after: 64).map(\.seq) == Array(97...100))
            await journal.close()
        }
    }

    @Test func withoutCursorsSegmentsAreKept() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...100)
            #expect(try segmentPaths(dir).count == 4)
            await journal.close()
        }
    }

    @Test func removingALaggingCursorReleasesSegments() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            _ = try await journal.openCursor("kept")
            _ = try await journal.openCursor("gone")
            try await appendEach(journal, 1...100)
            try await journal.commit(cursor: "kept", through: 100, state: [])
            #expect(try segmentPaths(dir).count == 4)
            try await journal.removeCursor("gone")
            #expect(try segmentPaths(dir).count == 1)
            #expect(journal.stat().cursors.map(\.name) == ["kept"])
            try await journal.removeCursor("never-existed")
            await journal.close()

            let reopened = try await openJournal(testConfiguration(dir))
            #expect(reopened.stat().cursors.map(\.name) == ["kept"])
            await reopened.close()
        }
    }

    // MARK: Full

    /// 4 KiB segments of 3 records of 1028 bytes; 16 KiB hold 15 records.
    private func fullConfiguration(_ dir: String, _ policy: FullPolicy) -> JournalConfiguration {
        testConfiguration(dir, segmentBytes: 4096, maxBytes: 16384, whenFull: policy)
    }

    @Test func dropNewestThrowsFullAndCounts() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(fullConfiguration(dir, .dropNewest))
            _ = try await journal.openCursor("a")
            try await appendEach(journal, 1...15, size: 1000)
            await #expect(throws: SpoolError.full) { try await journal.append([payload(16, size: 1000)]) }
            #expect(journal.stat().rejectedNewestRecords == 1)
            #expect(journal.stat().bytes <= 16384)

            try await journal.commit(cursor: "a", through: 3, state: [])
            #expect(try await journal.append([payload(16, size: 1000)]) == 16...16)
            await journal.close()
        }
    }

    @Test func blockWaitsUntilACommitFreesSpace() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(fullConfiguration(dir, .block))
            _ = try await journal.openCursor("a")
            try await appendEach(journal, 1...15, size: 1000)

            let blocked = Task { try await journal.append([payload(16, size: 1000)]) }
            let queuedBehind = Task {
                try await Task.sleep(for: .milliseconds(50))
                return try await journal.append([payload(17, size: 1000)])
            }
            #expect(await eventually(timeout: 5) { journal.stat().blockedAppends == 2 })
            #expect(journal.stat().lastWrittenSequence == 15)

            try await journal.commit(cursor: "a", through: 6, state: [])
            #expect(try await withTimeout { try await blocked.value } == 16...16)
            #expect(try await withTimeout { try await queuedBehind.value } == 17...17)
            #expect(journal.stat().blockedAppends == 0)
            #expect(journal.stat().bytes <= 16384)
            await journal.close()
        }
    }

    @Test func blockedAppendCanBeCancelledAndWritesNothing() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(fullConfiguration(dir, .block))
            _ = try await journal.openCursor("a")
            try await appendEach(journal, 1...15, size: 1000)
            let blocked = Task { try await journal.append([payload(16, size: 1000)]) }
            #expect(await eventually(timeout: 5) { journal.stat().blockedAppends == 1 })
            blocked.cancel()
            await #expect(throws: CancellationError.self) { try await withTimeout { try await blocked.value } }
            #expect(journal.stat().blockedAppends == 0)

            try await journal.commit(cursor: "a", through: 15, state: [])
            #expect(try await journal.append([payload(16, size: 1000)]) == 16...16)
            await journal.close()
        }
    }

    @Test func closeFailsBlockedAppends() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(fullConfiguration(dir, .block))
            try await appendEach(journal, 1...15, size: 1000)
            let blocked = Task { try await journal.append([payload(16, size: 1000)]) }
            #expect(await eventually(timeout: 5) { journal.stat().blockedAppends == 1 })
            await journal.close()
            await #expect(throws: SpoolError.closed) { try await withTimeout { try await blocked.value } }
        }
    }

    @Test func blockDeletesAFullyDeliveredActiveSegmentRatherThanWaitForever() async throws {
        try await withTemporaryDirectory { dir in
            // One segment can hold everything maxBytes allows: deleting only finished segments would deadlock.
            let config = testConfiguration(dir, segmentBytes: 1 << 20, maxBytes: 16384, whenFull: .block)
            let journal = try await openJournal(config)
            _ = try await journal.openCursor("a")
            try await appendEach(journal, 1...15, size: 1000)
            try await journal.commit(cursor: "a", through: 15, state: [])
            #expect(try await withTimeout { try await journal.append([payload(16, size: 1000)]) } == 16...16)
            #expect(try await journal.read(after: 15, maxRecords: 10, maxBytes: 1 << 20).map(\.seq) == [16])
            await journal.close()
        }
    }

    @Test func dropOldestDeletesUndeliveredSegmentsAndMovesCursors() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(fullConfiguration(dir, .dropOldest))
            _ = try await journal.openCursor("a")
            try await appendEach(journal, 1...15, size: 1000)
            #expect(try await journal.append([payload(16, size: 1000)]) == 16...16)
            let stat = journal.stat()
            #expect(stat.droppedOldestRecords == 3)
            #expect(stat.firstSequence == 4)
            #expect(stat.cursors.first?.seq == 3)
            #expect(stat.bytes <= 16384)
            #expect(try await readAll(journal).map(\.seq) == Array(4...16))
            await journal.close()
        }
    }

    @Test func dropOldestWithoutCursorsKeepsTheNewest() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(fullConfiguration(dir, .dropOldest))
            try await appendEach(journal, 1...40, size: 1000)
            let seqs = try await readAll(journal).map(\.seq)
            #expect(seqs.last == 40)
            #expect(seqs == Array(seqs.first!...40))
            #expect(journal.stat().bytes <= 16384)
            #expect(journal.stat().droppedOldestRecords == UInt64(40 - seqs.count))
            await journal.close()
        }
    }

    // MARK: Sequence numbers

    @Test func sequenceNeverGoesBackwardsWhenEverySegmentIsGone() async throws {
        try await withTemporaryDirectory { dir in
            var journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...50)
            await journal.close()
            for path in try segmentPaths(dir) { try FileManager.default.removeItem(atPath: path) }

            journal = try await openJournal(testConfiguration(dir))
            #expect(await journal.lastSequence() == 50)
            #expect(try await journal.append([payload(51)]) == 51...51)
            // A new cursor starts after everything that is gone.
            #expect(try await journal.openCursor("late").seq == 50)
            #expect(try await readAll(journal).map(\.seq) == [51])
            await journal.close()
        }
    }

    @Test func cursorsAloneKeepSequenceNumbersGoingUp() async throws {
        try await withTemporaryDirectory { dir in
            var journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...20)
            try await journal.commit(cursor: "a", through: 20, state: [])
            await journal.close()
            for path in try segmentPaths(dir) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.removeItem(atPath: dir + "/meta")

            journal = try await openJournal(testConfiguration(dir))
            #expect(try await journal.append([payload(21)]) == 21...21)
            await journal.close()
        }
    }

    // MARK: Inspection

    @Test func verifyAndStatDescribeAHealthyJournal() async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir))
            try await appendEach(journal, 1...100)
            _ = try await journal.openCursor("a")
            try await journal.commit(cursor: "a", through: 90, state: [])
            let report = try await journal.verify()
            #expect(report.isIntact)
            #expect(report.records == 36)  // segments 65-96 and 97-100 remain
            #expect(report.firstSequence == 65)
            #expect(report.lastSequence == 100)
            #expect(report.gaps.isEmpty)
            let stat = journal.stat()
            #expect(stat.segments == 2)
            #expect(stat.bytes == 36 * 128)
            #expect(stat.cursors == [.init(name: "a", seq: 90, lag: 10)])
            await journal.close()
        }
    }
}

/// Issue 4's disk-full case: input far above `max_bytes` under `block`. Appenders pause (nothing is written
/// past the cap, nothing is refused or dropped), and once a destination reads and commits, everything
/// drains: every record arrives exactly once, in order, as appended.
struct JournalBlockDrainTests {
    @Test func appendersPauseAtTheCapAndEverythingDrainsOnceACursorCommits() async throws {
        try await withTemporaryDirectory { dir in
            let maxBytes = 16384
            let config = testConfiguration(dir, segmentBytes: 4096, maxBytes: maxBytes, whenFull: .block)
            let journal = try await openJournal(config)
            _ = try await journal.openCursor("dest")
            let appenders = 8
            let perAppender = 60  // 8 × 60 × 228 bytes ≈ 109 KB: almost 7 times max_bytes
            let producers = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for a in 0..<appenders {
                        group.addTask {
                            for i in 0..<perAppender {
                                _ = try await journal.append([payload(a * 1000 + i, size: 200)])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            // Nobody commits yet: appenders pause at the cap.
            #expect(await eventually(timeout: 30) { journal.stat().blockedAppends > 0 })
            let paused = journal.stat()
            try await Task.sleep(for: .milliseconds(100))
            #expect(journal.stat().lastWrittenSequence == paused.lastWrittenSequence)
            #expect(paused.bytes <= maxBytes)
            #expect(paused.rejectedNewestRecords == 0 && paused.droppedOldestRecords == 0)

            // A destination drains: read after its cursor, commit; repeat until everything arrived.
            var received: [SpoolRecord] = []
            let total = appenders * perAppender
            try await withTimeout(seconds: 30) { [received] in
                var received = received
                var cursor: UInt64 = 0
                while received.count < total {
                    let batch = try await journal.read(after: cursor, maxRecords: 7, maxBytes: 1 << 20)
                    if batch.isEmpty {
                        try await journal.waitForRecords(after: cursor)
                        continue
                    }
                    #expect(journal.stat().bytes <= maxBytes)
                    received += batch
                    cursor = batch.last!.seq
                    try await journal.commit(cursor: "dest", through: cursor, state: [])
                }
                return received
            }.forEach { received.append($0) }
            try await withTimeout { try await producers.value }

            #expect(received.map(\.seq) == Array(1...UInt64(total)))
            let expected = Set(
                (0..<appenders).flatMap { a in (0..<perAppender).map { payload(a * 1000 + $0, size: 200) } })
            #expect(Set(received.map(\.payload)) == expected)
            #expect(received.count == expected.count)
            let end = journal.stat()
            #expect(end.blockedAppends == 0 && end.rejectedNewestRecords == 0 && end.droppedOldestRecords == 0)
            #expect(end.appendedRecords == UInt64(total))
            await journal.close()
        }
    }
}
