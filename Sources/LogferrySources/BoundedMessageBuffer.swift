import LogferryCore
import Synchronization

/// The hand-off between a reader thread that cannot be held back (datagrams) and the async consumer that
/// journals. Bounded in messages: a push that does not fit is refused and the caller counts the drop. The
/// consumer takes everything waiting at once, so while one journal commit is in flight the next batch grows
/// instead of queueing many small commits (group commit at the source).
final class BoundedMessageBuffer: Sendable {
    private struct State {
        var messages: [RawMessage] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Appends `batch` if it fits; returns false (and keeps nothing) when it does not.
    func push(_ batch: [RawMessage]) -> Bool {
        let (accepted, waiter) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
            guard s.messages.count + batch.count <= capacity else { return (false, nil) }
            s.messages.append(contentsOf: batch)
            let w = s.waiter
            s.waiter = nil
            return (true, w)
        }
        waiter?.resume()
        return accepted
    }

    func finish() {
        let w = state.withLock { s in
            s.finished = true
            let w = s.waiter
            s.waiter = nil
            return w
        }
        w?.resume()
    }

    /// Waits for messages and takes up to `max` of them; nil once finished and drained, or when cancelled.
    func take(max: Int) async -> [RawMessage]? {
        while true {
            let taken: [RawMessage]? = state.withLock { s in
                if s.messages.isEmpty { return s.finished ? [] : nil }
                if s.messages.count <= max {
                    defer { s.messages.removeAll(keepingCapacity: true) }
                    return s.messages
                }
                let head = Array(s.messages.prefix(max))
                s.messages.removeFirst(max)
                return head
            }
            if let taken { return taken.isEmpty ? nil : taken }
            if Task.isCancelled { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { s -> Bool in
                        if !s.messages.isEmpty || s.finished || Task.isCancelled { return true }
                        s.waiter = c
                        return false
                    }
                    if ready { c.resume() }
                }
            } onCancel: {
                finish()
            }
        }
    }
}
