import Glibc
import LogferryCore
import Synchronization

/// Counters of a datagram source (unix-dgram, udp), read by metrics and tests.
public final class DatagramSourceCounters: Sendable {
    public let received = Atomic<Int>(0)
    /// Datagrams longer than `maxMessageBytes`, kept cut and flagged.
    public let truncated = Atomic<Int>(0)
    /// Dropped because the buffer towards the journal was full.
    public let dropped = Atomic<Int>(0)
    public init() {}
}

/// Reading a bound datagram socket (unix-dgram, udp): a dedicated thread drains the kernel queue into a
/// `BoundedMessageBuffer`, and the calling task journals what gathered there. A datagram sender cannot be
/// pushed back, so a full buffer drops and counts; the thread keeps the kernel queue short even while the
/// cooperative pool is busy.
enum DatagramReceiver {
    /// Messages per journal append at most; while one append waits for its fsync, the next batch gathers.
    static let maxJournalBatch = 16384
    /// Datagrams read per hand-off to the buffer.
    static let batchSize = 64

    /// Reads `fd` until cancelled or `deliver` fails; stops and joins its thread before returning. The caller
    /// owns (and closes) `fd`.
    static func run(
        fd: Int32, maxMessageBytes: Int, bufferMessages: Int, counters: DatagramSourceCounters,
        deliver: @escaping Deliver
    ) async throws {
        let buffer = BoundedMessageBuffer(capacity: bufferMessages)
        let stop = Atomic<Bool>(false)
        let reader = ReaderThread(fd: fd, maxBytes: max(1, maxMessageBytes), counters: counters) { batch in
            if !buffer.push(batch) { counters.dropped.add(batch.count, ordering: .relaxed) }
        }
        let thread = startThread { reader.loop(stop: stop) }
        defer {
            stop.store(true, ordering: .relaxed)
            joinThread(thread)
        }
        while let batch = await buffer.take(max: maxJournalBatch) {
            // Nothing to checkpoint, so nothing waits for the fsync: reading goes on at once.
            _ = try await deliver(batch)
        }
    }

    /// SO_RCVBUF; nil leaves the kernel default. The kernel doubles the value (for its bookkeeping) and caps it
    /// at `net.core.rmem_max`; past that cap, SO_RCVBUFFORCE is tried (it needs CAP_NET_ADMIN). Returns the size
    /// in effect as the kernel reports it (doubled), nil when unknown.
    @discardableResult
    static func setReceiveBuffer(_ fd: Int32, bytes: Int?) -> Int? {
        if var size = bytes.map({ Int32(clamping: $0) }) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            if let now = receiveBuffer(fd), now / 2 < Int(size) {
                setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
            }
        }
        return receiveBuffer(fd)
    }

    static func receiveBuffer(_ fd: Int32) -> Int? {
        var size: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len) == 0 ? Int(size) : nil
    }
}

/// The blocking read loop: poll with a short timeout (so a stop request is seen), then drain with recvmmsg.
private final class ReaderThread: @unchecked Sendable {
    // @unchecked: the buffers are touched only by the one thread that runs `loop`; the rest is immutable.
    let fd: Int32
    let maxBytes: Int
    let counters: DatagramSourceCounters
    let emit: ([RawMessage]) -> Void

    init(fd: Int32, maxBytes: Int, counters: DatagramSourceCounters, emit: @escaping ([RawMessage]) -> Void) {
        self.fd = fd
        self.maxBytes = maxBytes
        self.counters = counters
        self.emit = emit
    }

    func loop(stop: borrowing Atomic<Bool>) {
        let n = DatagramReceiver.batchSize
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: maxBytes, alignment: 16)
        defer { buffer.deallocate() }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !stop.load(ordering: .relaxed) {
            if poll(&pfd, 1, 200) <= 0 { continue }
            // Drain everything queued, in batches of up to `n`. One recv per datagram: recvmmsg would save
            // syscalls but Glibc's module map does not expose it without _GNU_SOURCE.
            var drained = false
            while !drained {
                let now = Timestamp.now()
                var batch: [RawMessage] = []
                batch.reserveCapacity(n)
                while batch.count < n {
                    // MSG_TRUNC makes recv return the datagram's real length even when it did not fit.
                    let got = recv(fd, buffer, maxBytes, Int32(MSG_DONTWAIT | MSG_TRUNC))
                    if got < 0 {
                        if errno == EINTR { continue }
                        drained = true
                        break
                    }
                    let cut = got > maxBytes
                    let len = min(got, maxBytes)
                    batch.append(
                        RawMessage(
                            bytes: Array(UnsafeRawBufferPointer(start: buffer, count: len)), receivedAt: now,
                            truncated: cut))
                    if cut { counters.truncated.add(1, ordering: .relaxed) }
                }
                if !batch.isEmpty {
                    counters.received.add(batch.count, ordering: .relaxed)
                    emit(batch)
                }
            }
        }
    }
}
