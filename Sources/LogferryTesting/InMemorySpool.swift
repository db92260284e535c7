import LogferryCore
import Synchronization

/// A `Spool` kept in memory, for testing sources, transport and destinations without the journal.
/// It keeps the `Spool` invariants (consecutive sequences from 1, cursors, removal once every cursor passed)
/// and can simulate a crash: `restart()` keeps what a durable journal would keep (records and committed
/// cursors) and forgets nothing else, so tests can check replay behaviour.
public final class InMemorySpool: Spool {
    private struct State {
        var records: [SpoolRecord] = []  // retained, ordered by seq
        var nextSeq: UInt64 = 1
        var cursors: [String: SpoolCursor] = [:]
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var waiterID: UInt64 = 0
        /// When set, `append` throws it (to test failure handling).
        var failAppends: SpoolError?
    }
    private let state = Mutex(State())

    public init() {}

    public func append(_ payloads: [[UInt8]]) async throws -> ClosedRange<UInt64> {
        let (range, wake): (ClosedRange<UInt64>, [CheckedContinuation<Void, any Error>]) = try state.withLock { s in
            if let e = s.failAppends { throw e }
            let first = s.nextSeq
            let now = Timestamp.now().nanos
            for p in payloads {
                s.records.append(SpoolRecord(seq: s.nextSeq, timeNanos: now, payload: p))
                s.nextSeq += 1
            }
            let all = Array(s.waiters.values)
            s.waiters.removeAll()
            return (first...(s.nextSeq - 1), all)
        }
        for c in wake { c.resume() }
        return range
    }

    /// In memory everything is "durable" at once.
    public func write(_ payloads: [[UInt8]]) async throws -> ClosedRange<UInt64> { try await append(payloads) }

    public func waitDurable(through seq: UInt64) async throws {}

    public func read(after: UInt64, maxRecords: Int, maxBytes: Int) async throws -> [SpoolRecord] {
        state.withLock { s in
            var out: [SpoolRecord] = []
            var bytes = 0
            for r in s.records where r.seq > after {
                if !out.isEmpty && (out.count >= maxRecords || bytes + r.payload.count > maxBytes) { break }
                out.append(r)
                bytes += r.payload.count
            }
            return out
        }
    }

    public func waitForRecords(after: UInt64) async throws {
        let id = state.withLock { s -> UInt64 in
            s.waiterID += 1
            return s.waiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let ready = state.withLock { s -> Bool in
                    if s.nextSeq - 1 > after || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if ready { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s in s.waiters.removeValue(forKey: id) }
            c?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    public func openCursor(_ name: String) async throws -> SpoolCursor {
        state.withLock { s in
            if let c = s.cursors[name] { return c }
            let c = SpoolCursor(name: name, seq: (s.records.first?.seq ?? s.nextSeq) - 1, state: [])
            s.cursors[name] = c
            return c
        }
    }

    public func commit(cursor name: String, through seq: UInt64, state cstate: [UInt8]) async throws {
        state.withLock { s in
            s.cursors[name] = SpoolCursor(name: name, seq: seq, state: cstate)
            if let minSeq = s.cursors.values.map(\.seq).min() {
                s.records.removeAll { $0.seq <= minSeq }
            }
        }
    }

    public func lastSequence() async -> UInt64 { state.withLock { $0.nextSeq - 1 } }

    /// Payloads currently retained (not yet passed by every cursor).
    public var retainedCount: Int { state.withLock { $0.records.count } }

    /// Makes every following `append` throw `error` (nil restores normal behaviour).
    public func setAppendFailure(_ error: SpoolError?) { state.withLock { $0.failAppends = error } }
}
