import LogferryCore
import Synchronization

/// The window of one connection, shared by its writer (sends, waits for room) and its reader (acks).
final class SenderLink: Sendable {
    private struct State {
        var window: SenderWindow
        var waiter = WaiterSlot()
        /// The journal seqs of each batch in flight, kept only when receipts are (batch number -> seqs).
        var seqs: [UInt64: [UInt64]] = [:]
        /// The journal append time of each batch's oldest record, in flight (batch number -> Unix nanoseconds).
        var appendTimes: [UInt64: Int64] = [:]
    }

    private let state: Mutex<State>

    init(capacity: Int) {
        state = Mutex(State(window: SenderWindow(capacity: capacity)))
    }

    var nextNumber: UInt64 { state.withLock { $0.window.nextNumber } }
    var isEmpty: Bool { state.withLock { $0.window.isEmpty } }
    var oldestSentAt: ContinuousClock.Instant? { state.withLock { $0.window.oldestSentAt } }

    /// `oldestAppendNanos`: when the batch's oldest record was appended to the journal (for the ack latency).
    func sent(lastSeq: UInt64, eventCount: Int, commitThrough: UInt64, oldestAppendNanos: Int64) {
        state.withLock {
            $0.appendTimes[$0.window.nextNumber] = oldestAppendNanos
            _ = $0.window.sent(lastSeq: lastSeq, eventCount: eventCount, commitThrough: commitThrough)
        }
    }

    /// The append time remembered for batch `number`, forgotten now.
    func takeAppendTime(forBatch number: UInt64) -> Int64? {
        state.withLock { $0.appendTimes.removeValue(forKey: number) }
    }

    /// Keeps the seqs of batch `number` for its receipt.
    func remember(seqs: [UInt64], forBatch number: UInt64) {
        state.withLock { $0.seqs[number] = seqs }
    }

    /// The seqs remembered for batch `number`, forgotten now.
    func takeSeqs(forBatch number: UInt64) -> [UInt64]? {
        state.withLock { $0.seqs.removeValue(forKey: number) }
    }

    func skipped(through seq: UInt64) -> UInt64? {
        state.withLock { $0.window.skipped(through: seq) }
    }

    func acked(_ ack: Ack) throws(SenderWindow.AckError) -> UInt64 {
        let (result, waiter) = state.withLock {
            s -> (Result<UInt64, SenderWindow.AckError>, Waiter) in
            let r: Result<UInt64, SenderWindow.AckError>
            do throws(SenderWindow.AckError) {
                r = .success(try s.window.acked(ack))
            } catch {
                r = .failure(error)
            }
            return (r, s.waiter.take())
        }
        waiter.resume()
        return try result.get()
    }

    func waitForRoom() async throws { try await wait { $0.hasRoom } }
    func waitUntilEmpty() async throws { try await wait { $0.isEmpty } }

    /// Waits until `condition` holds; checked under the lock, so an ack between the check and the wait is not lost.
    private func wait(_ condition: @Sendable (SenderWindow) -> Bool) async throws {
        while !state.withLock({ condition($0.window) }) {
            try Task.checkCancellation()
            await suspend(until: { condition($0.window) }, in: state, slot: \.waiter)
        }
    }
}
