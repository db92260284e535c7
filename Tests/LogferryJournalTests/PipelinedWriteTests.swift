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

    @Test func intervalWritesDoNotWaitForTheFsync() async throws {
        try await withTemporaryDirectory { dir in
            var config = testConfiguration(dir, fsync: .interval)
            config.fsyncInterval = .seconds(1)
            let journal = try await openJournal(config)
            _ = try await journal.append([payload(0)])  // starts the interval clock
            let clock = ContinuousClock()
            let start = clock.now
            var last: UInt64 = 0
            for i in 1...50 { last = try await journal.write([payload(i)]).upperBound }
            // 50 appends would take ~50 intervals; 50 writes share the next fsync.
            #expect(clock.now - start < .milliseconds(900))
            try await journal.waitDurable(through: last)
            #expect(await journal.lastSequence() == 51)
            await journal.close()
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
