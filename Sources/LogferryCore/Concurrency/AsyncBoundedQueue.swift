import Synchronization

/// A FIFO between one producer and one consumer with a bound: `push` waits while it is full (so a fast peer
/// is held back by TCP instead of filling memory), `takeAll` hands over everything queued at once (so the
/// consumer can store several batches in one journal append).
public final class AsyncBoundedQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var closed = false
        var consumer = WaiterSlot()
        var producer = WaiterSlot()
    }

    private enum PushStep { case pushed(Waiter), closed, full }
    private enum TakeStep { case items([Element], Waiter), done, empty }

    private let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        precondition(capacity > 0, "a queue needs room for one element")
        self.capacity = capacity
    }

    /// Appends, waiting while full. Returns false when the queue was closed (the element is dropped).
    @discardableResult
    public func push(_ element: Element) async -> Bool {
        while true {
            let step: PushStep = state.withLock { s in
                if s.closed { return .closed }
                if s.items.count >= capacity { return .full }
                s.items.append(element)
                return .pushed(s.consumer.take())
            }
            switch step {
            case .pushed(let consumer):
                consumer.resume()
                return true
            case .closed:
                return false
            case .full:
                if Task.isCancelled { return false }
                await suspend(until: { $0.closed || $0.items.count < capacity }, in: state, slot: \.producer)
            }
        }
    }

    /// Everything queued, waiting while empty. Nil once closed and drained, or when the task is cancelled.
    public func takeAll() async -> [Element]? {
        while true {
            let step: TakeStep = state.withLock { s in
                if !s.items.isEmpty {
                    let items = s.items
                    s.items.removeAll(keepingCapacity: true)
                    return .items(items, s.producer.take())
                }
                return s.closed ? .done : .empty
            }
            switch step {
            case .items(let items, let producer):
                producer.resume()
                return items
            case .done:
                return nil
            case .empty:
                if Task.isCancelled { return nil }
                await suspend(until: { $0.closed || !$0.items.isEmpty }, in: state, slot: \.consumer)
            }
        }
    }

    /// No more pushes; the consumer still gets what is queued.
    public func close() {
        let (a, b) = state.withLock { s in
            s.closed = true
            return (s.consumer.take(), s.producer.take())
        }
        a.resume()
        b.resume()
    }
}
