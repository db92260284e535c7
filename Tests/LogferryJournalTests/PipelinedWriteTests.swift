import LogferryCore
import Testing

@testable import LogferryJournal

/// `write` + `waitDurable`: the pipelining pair a receiver and a datagram source use.
struct PipelinedWriteTests {
    @Test(arguments: [FsyncPolicy.never, .interval, .always])
    func writesReturnInOrderAndBecomeDurable(fsync: FsyncPolicy) async throws {
        try await withTemporaryDirectory { dir in
            let journal = try await openJournal(testConfiguration(dir, fsync: fsync))
            var ranges: [ClosedRange<UInt64>] = []
            for i in 0..<20 { ranges.append(try await journal.write([payload(2 * i), payload(2 * i + 1)])) }
            let expected: [ClosedRange<UInt64>] = (0..<20).map { (i: Int) -> ClosedRange<UInt64> in
                let first = UInt64(2 * i + 1)
                return first...(first + 1)
            }
            #expect(ranges == expected)
            try await journal.waitDurable(through: 40)
            #expect(await journal.lastSequence() == 40)
            #expect(try await readAll(journal).map(\.payload) == (0..<40).map { payload($0) })
            // Already durable: returns at once.
            try await journal.waitDurable(through: 3)
            await journal.close()
        }
    }

    /// With an fsync interval far longer than the test's time limit, writes that waited for their fsync could
    /// never finish: finishing proves they did not wait, and readers do not see them until the fsync.
    @Test(.timeLimit(.minutes(1))) func intervalWritesDoNotWaitForTheFsync() async throws {
        try await withTemporaryDirectory { dir in
            var config = testConfiguration(dir, fsync: .interval)
            config.fsyncInterval = .seconds(3600)
            let journal = try await openJournal(config)
            _ = try await journal.append([payload(0)])  // the first fsync runs at once and starts the interval
            var last: UInt64 = 0
            for i in 1...50 { last = try await journal.write([payload(i)]).upperBound }
            #expect(last == 51)
            // Written but not durable: invisible to readers.
            #expect(await journal.lastSequence() == 1)
            #expect(try await readAll(journal).count == 1)
            await journal.close()  // close fsyncs what was written
            let reopened = try await openJournal(config)
            #expect(try await readAll(reopened).count == 51)
            await reopened.close()
        }
    }

    @Test func waitDurableFailsOnClose() async throws {
        try await withTemporaryDirectory { dir in
            var config = testConfiguration(dir, fsync: .interval)
            config.fsyncInterval = .seconds(30)
            let journal = try await openJournal(config)
            _ = try await journal.append([payload(0)])
            let seq = try await journal.write([payload(1)]).upperBound
            await journal.close()
            // Close fsyncs what was written, so the record is durable: waiting returns.
            try await journal.waitDurable(through: seq)
            await #expect(throws: SpoolError.self) { try await journal.waitDurable(through: seq + 5) }
        }
    }
}
