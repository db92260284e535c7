import Synchronization

/// A FIFO between one producer and one consumer with a bound: `push` waits while it is full (so a fast peer
/// is held back by TCP instead of filling memory), `takeAll` hands over everything queued at once (so the
/// consumer can store several batches in one journal append).
final class AsyncBoundedQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var closed = false
        var consumer: CheckedContinuation<Void, Never>?
        var producer: CheckedContinuation<Void, Never>?
    }

    private enum PushStep { case pushed(CheckedContinuation<Void, Never>?), closed, full }
    private enum TakeStep { case items([Element], CheckedContinuation<Void, Never>?), done, empty }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        precondition(capacity > 0, "a queue needs room for one element")
        self.capacity = capacity
    }

    /// Appends, waiting while full. Returns false when the queue was closed (the element is dropped).
    @discardableResult
    func push(_ element: Element) async -> Bool {
        while true {
            let step: PushStep = state.withLock { s in
                if s.closed { return .closed }
                if s.items.count >= capacity { return .full }
                s.items.append(element)
                let c = s.consumer
                s.consumer = nil
                return .pushed(c)
            }
            switch step {
            case .pushed(let c):
                c?.resume()
                return true
            case .closed:
                return false
            case .full:
                if Task.isCancelled { return false }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let ready = state.withLock { s -> Bool in
                            if s.closed || s.items.count < capacity || Task.isCancelled { return true }
                            s.producer = c
                            return false
                        }
                        if ready { c.resume() }
                    }
                } onCancel: {
                    state.withLock { s in
                        let c = s.producer
                        s.producer = nil
                        return c
                    }?.resume()
                }
            }
        }
    }

    /// Everything queued, waiting while empty. Nil once closed and drained, or when the task is cancelled.
    func takeAll() async -> [Element]? {
        while true {
            let step: TakeStep = state.withLock { s in
                if !s.items.isEmpty {
                    let items = s.items
                    s.items.removeAll(keepingCapacity: true)
                    let c = s.producer
                    s.producer = nil
                    return .items(items, c)
                }
                return s.closed ? .done : .empty
            }
            switch step {
            case .items(let items, let c):
                c?.resume()
                return items
            case .done:
                return nil
            case .empty:
                if Task.isCancelled { return nil }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let ready = state.withLock { s -> Bool in
                            if s.closed || !s.items.isEmpty || Task.isCancelled { return true }
                            s.consumer = c
                            return false
                        }
                        if ready { c.resume() }
                    }
                } onCancel: {
                    state.withLock { s in
                        let c = s.consumer
                        s.consumer = nil
                        return c
                    }?.resume()
                }
            }
        }
    }

    /// No more pushes; the consumer still gets what is queued.
    func close() {
        let (a, b) = state.withLock { s in
            s.closed = true
            let r = (s.consumer, s.producer)
            s.consumer = nil
            s.producer = nil
            return r
        }
        a?.resume()
        b?.resume()
    }
}
