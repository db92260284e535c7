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
        var consumer = WaiterSlot()
    }
    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Appends `batch` if it fits; returns false (and keeps nothing) when it does not.
    func push(_ batch: [RawMessage]) -> Bool {
        let (accepted, waiter) = state.withLock { s -> (Bool, Waiter?) in
            guard s.messages.count + batch.count <= capacity else { return (false, nil) }
            s.messages.append(contentsOf: batch)
            return (true, s.consumer.take())
        }
        waiter?.resume()
        return accepted
    }

    func finish() {
        state.withLock { s in
            s.finished = true
            return s.consumer.take()
        }.resume()
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
            await suspend(until: { !$0.messages.isEmpty || $0.finished }, in: state, slot: \.consumer)
        }
    }
}
