import Glibc

/// A plain OS thread for blocking loops (socket reads) that must not occupy the cooperative pool.
final class ThreadBox: @unchecked Sendable {
    // @unchecked: `body` is set once before the thread starts and read once by it.
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    var tid = pthread_t()
    let box = Unmanaged.passRetained(ThreadBox(body))
    let rc = pthread_create(
        &tid, nil,
        { arg in
            let box = Unmanaged<ThreadBox>.fromOpaque(arg!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return tid
}

func joinThread(_ tid: pthread_t) {
    pthread_join(tid, nil)
}
