import LogferryCore
import Logging
import Synchronization

/// Moves the destination's journal cursor to the highest acknowledged position, one commit at a time and never
/// backwards. Acks only raise a target; the loop commits the latest target, so a burst of acks costs one
/// durable commit.
final class CursorCommitter: Sendable {
    private struct State {
        var target: UInt64
        var committed: UInt64
        var waiter = WaiterSlot()
    }

    private let spool: any Spool
    private let name: String
    private let logger: Logger
    private let state: Mutex<State>

    init(spool: any Spool, name: String, start: UInt64, logger: Logger) {
        self.spool = spool
        self.name = name
        self.logger = logger
        self.state = Mutex(State(target: start, committed: start))
    }

    /// The highest acknowledged position (committed or about to be).
    var target: UInt64 { state.withLock { $0.target } }
    /// The position durably committed.
    var committed: UInt64 { state.withLock { $0.committed } }

    /// Everything through `seq` is delivered.
    func advance(to seq: UInt64) {
        let w: Waiter? = state.withLock { s in
            guard seq > s.target else { return nil }
            s.target = seq
            return s.waiter.take()
        }
        w?.resume()
    }

    /// Commits until cancelled.
    func run() async {
        while !Task.isCancelled {
            await waitForWork()
            if Task.isCancelled { return }
            if await !commitOnce() {
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Commits the current target if it is ahead; false when the commit failed.
    @discardableResult
    func commitOnce() async -> Bool {
        let (target, committed) = state.withLock { ($0.target, $0.committed) }
        guard target > committed else { return true }
        do {
            try await spool.commit(cursor: name, through: target, state: [])
            state.withLock { $0.committed = max($0.committed, target) }
            return true
        } catch {
            logger.warning(
                "journal cursor commit failed; will retry", metadata: ["cursor": "\(name)", "error": "\(error)"])
            return false
        }
    }

    private func waitForWork() async {
        await suspend(until: { $0.target > $0.committed }, in: state, slot: \.waiter)
    }
}
