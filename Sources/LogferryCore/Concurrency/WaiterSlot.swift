import Synchronization

/// Room for one task suspended until some state behind a `Mutex` changes: a consumer waiting for items, a
/// producer waiting for room, a loop waiting for work. The state keeps a `WaiterSlot`; whoever changes the
/// state calls `take()` under the lock and `resume()`s what it took after unlocking.
///
/// Used with `suspend(until:in:slot:)`, which checks the condition and parks in one locked step, so a change
/// between the check and the wait is never lost, and which resumes the waiter when its task is cancelled.
public struct WaiterSlot: Sendable {
    fileprivate var continuation: CheckedContinuation<Void, Never>?

    public init() {}

    /// Empties the slot; resume the result after releasing the lock.
    public mutating func take() -> Waiter { Waiter(continuation: continuation.take()) }
}

/// A parked task taken out of its slot (or nothing).
public struct Waiter: Sendable {
    fileprivate let continuation: CheckedContinuation<Void, Never>?

    /// Lets the parked task re-check its condition.
    public func resume() { continuation?.resume() }
}

/// Suspends until `ready` holds for the state in `mutex`. Returns at once when it already holds, and when the
/// task is cancelled (callers re-check both). Only one task may wait on a slot at a time.
public func suspend<State>(
    until ready: (borrowing State) -> Bool, in mutex: borrowing Mutex<State>,
    slot: WritableKeyPath<State, WaiterSlot> & Sendable
) async {
    await withTaskCancellationHandler {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = mutex.withLock { s -> Bool in
                if ready(s) || Task.isCancelled { return true }
                s[keyPath: slot].continuation = c
                return false
            }
            if now { c.resume() }
        }
    } onCancel: {
        mutex.withLock { $0[keyPath: slot].take() }.resume()
    }
}
