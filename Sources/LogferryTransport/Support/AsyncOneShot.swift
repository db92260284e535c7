import Synchronization

/// A value set once that any number of tasks can wait for (a welcome arriving, a drain starting).
final class AsyncOneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    var value: Value? { state.withLock { $0.value } }

    /// Sets the value (the first call wins) and wakes every waiter.
    func fire(_ value: Value) {
        let waiters: [CheckedContinuation<Value?, Never>] = state.withLock { s in
            guard s.value == nil else { return [] }
            s.value = value
            let w = Array(s.waiters.values)
            s.waiters.removeAll()
            return w
        }
        for w in waiters { w.resume(returning: value) }
    }

    /// The value once set; nil if the task is cancelled first.
    func wait() async -> Value? {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Value?, Never>) in
                let ready: Value?? = state.withLock { s in
                    if let v = s.value { return .some(v) }
                    if Task.isCancelled { return .some(nil) }
                    s.waiters[id] = c
                    return .none
                }
                if let r = ready { c.resume(returning: r) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }
}

extension AsyncOneShot where Value == Void {
    var isFired: Bool { value != nil }
    func fire() { fire(()) }
}
