import Synchronization

/// The port a listener bound (useful with port 0), for callers that wait until it is known. A listener calls
/// `resolve` once: with the port when it listens, with an error when it failed first (or stopped before binding);
/// `wait()` returns or throws that, at once for late callers. Shared by the websocket receiver and the http source.
public final class BoundPort: Sendable {
    private enum State {
        case pending([CheckedContinuation<Int, any Error>])
        case settled(Result<Int, any Error>)
    }

    private let state = Mutex(State.pending([]))

    public init() {}

    /// The bound port, once known; throws the listener's failure.
    public func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { c in
            let ready: Result<Int, any Error>? = state.withLock { s in
                switch s {
                case .settled(let r): return r
                case .pending(var list):
                    list.append(c)
                    s = .pending(list)
                    return nil
                }
            }
            if let ready { c.resume(with: ready) }
        }
    }

    /// Settles the port; only the first call counts.
    public func resolve(_ result: Result<Int, any Error>) {
        let waiters: [CheckedContinuation<Int, any Error>] = state.withLock { s in
            guard case .pending(let list) = s else { return [] }
            s = .settled(result)
            return list
        }
        for w in waiters { w.resume(with: result) }
    }
}
