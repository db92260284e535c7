import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryJournal

/// Model-based test: a seeded random mix of appends, reads, cursor commits, close/reopen and cap hits, each
/// compared with a plain in-memory model (every accepted record by sequence number, the last number, the
/// committed cursors). Properties checked after every step:
/// - `append` numbers records consecutively; an append refused under `drop-newest` changes nothing and was
///   refused only when the batch really did not fit.
/// - The journal retains exactly the records `firstSequence...lastSequence`, byte for byte as appended: reads
///   from any position return them in order, with no gap and no stranger.
/// - Nothing undelivered is deleted except by `drop-oldest`; retained bytes never exceed `max_bytes`.
/// - Cursors and sequence numbers survive close/reopen exactly as committed, and reopening is clean.
struct JournalModelTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        var seed: UInt64
        var whenFull: FullPolicy
        var fsync: FsyncPolicy
        var testDescription: String {
            "seed 0x\(String(seed, radix: 16)), \(whenFull.rawValue), fsync \(fsync.rawValue)"
        }
    }

    static let scenarios = [
        Scenario(seed: 0x5EED_0001, whenFull: .dropNewest, fsync: .never),
        Scenario(seed: 0x5EED_0002, whenFull: .dropOldest, fsync: .never),
        Scenario(seed: 0x5EED_0003, whenFull: .dropNewest, fsync: .always),
        Scenario(seed: 0x5EED_0004, whenFull: .dropOldest, fsync: .interval),
    ]

    struct Model {
        var records: [UInt64: [UInt8]] = [:]
        var lastSeq: UInt64 = 0
        var cursors: [String: UInt64] = [:]
    }

    @Test(arguments: scenarios)
    func randomOperationsAgreeWithTheModel(_ scenario: Scenario) async throws {
        try await withTemporaryDirectory { dir in
            let config = JournalConfiguration(
                directory: dir, segmentBytes: 4096, maxBytes: 16384, fsync: scenario.fsync,
                fsyncInterval: .milliseconds(1), whenFull: scenario.whenFull, maxRecordBytes: 2048)
            var rng = SplitMix64(seed: scenario.seed)
            var journal = try await openJournal(config)
            var model = Model()
            var refused = 0
            var dropped: UInt64 = 0
            var reopens = 0
            var previousLow: UInt64 = 1
            let steps = 800
            for step in 0..<steps {
                let context = "\(scenario.testDescription), step \(step)"
                switch rng.below(100) {
                case 0..<45:
                    let batch = (0..<(1 + rng.below(4))).map { _ in randomPayload(&rng) }
                    do {
                        let range = try await journal.append(batch)
                        #expect(range == (model.lastSeq + 1)...(model.lastSeq + UInt64(batch.count)), "\(context)")
                        for (i, p) in batch.enumerated() { model.records[range.lowerBound + UInt64(i)] = p }
                        model.lastSeq = range.upperBound
                    } catch SpoolError.full {
                        #expect(scenario.whenFull == .dropNewest, "\(context): full under \(scenario.whenFull)")
                        // Refused only when the batch really does not fit beside what must be kept.
                        #expect(journal.stat().bytes + RecordHeader.batchSize(batch) > config.maxBytes, "\(context)")
                        refused += 1
                    }
                case 45..<70:
                    let after = rng.below(2) == 0 ? rng.below(Int(model.lastSeq) + 2) : Int(model.cursors["a"] ?? 0)
                    let maxRecords = 1 + rng.below(40)
                    let got = try await journal.read(after: UInt64(after), maxRecords: maxRecords, maxBytes: 1 << 20)
                    let first = max(UInt64(after) + 1, journal.stat().firstSequence ?? (model.lastSeq + 1))
                    let expected =
                        first > model.lastSeq ? [] : Array(first...min(model.lastSeq, first + UInt64(maxRecords) - 1))
                    #expect(got.map(\.seq) == expected, "\(context): read after \(after)")
                    for r in got { #expect(r.payload == model.records[r.seq], "\(context): payload of \(r.seq)") }
                case 70..<88:
                    let name = rng.below(3) == 0 ? "b" : "a"
                    let current = model.cursors[name] ?? 0
                    let target = current + UInt64(rng.below(Int(model.lastSeq - min(current, model.lastSeq)) + 1))
                    try await journal.commit(cursor: name, through: target, state: Array("\(name)@\(target)".utf8))
                    model.cursors[name] = target
                    #expect(journal.stat().cursors.first { $0.name == name }?.seq == target, "\(context)")
                case 88..<93:
                    dropped += journal.stat().droppedOldestRecords
                    await journal.close()
                    journal = try await openJournal(config)
                    reopens += 1
                    #expect(journal.recoveryReport.isClean, "\(context): \(journal.recoveryReport)")
                    #expect(await journal.lastSequence() == model.lastSeq, "\(context)")
                    let cursors = Dictionary(uniqueKeysWithValues: journal.stat().cursors.map { ($0.name, $0.seq) })
                    #expect(cursors == model.cursors, "\(context)")
                    for (name, seq) in model.cursors {
                        let reopened = try await journal.openCursor(name)
                        #expect(reopened.state == Array("\(name)@\(seq)".utf8), "\(context)")
                    }
                default:
                    try await expectRetainedSuffix(journal, model, context)
                }

                let stat = journal.stat()
                #expect(stat.lastSequence == model.lastSeq, "\(context)")
                #expect(stat.bytes <= config.maxBytes, "\(context)")
                // Records below `low` are gone. Under drop-newest they may go only once every cursor passed them
                // (and with no cursor, never).
                let low = stat.firstSequence ?? (model.lastSeq + 1)
                if scenario.whenFull == .dropNewest && low > previousLow {
                    let delivered = model.cursors.values.min() ?? 0
                    #expect(low - 1 <= delivered, "\(context): deleted through \(low - 1), delivered \(delivered)")
                }
                previousLow = low
            }
            try await expectRetainedSuffix(journal, model, "\(scenario.testDescription), end")
            dropped += journal.stat().droppedOldestRecords
            await journal.close()
            #expect(reopens > 0)
            // The caps were actually hit.
            if scenario.whenFull == .dropNewest { #expect(refused > 0) } else { #expect(dropped > 0) }
        }
    }

    /// Reading everything returns exactly `firstSequence...lastSequence`, as appended.
    private func expectRetainedSuffix(_ journal: Journal, _ model: Model, _ context: String) async throws {
        let all = try await readAll(journal)
        guard let first = journal.stat().firstSequence, first <= model.lastSeq else {
            #expect(all.isEmpty, "\(context)")
            return
        }
        #expect(all.map(\.seq) == Array(first...model.lastSeq), "\(context)")
        for r in all { #expect(r.payload == model.records[r.seq], "\(context): payload of \(r.seq)") }
    }

    private func randomPayload(_ rng: inout SplitMix64) -> [UInt8] {
        (0..<(1 + rng.below(600))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }
}
