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
        // Slots per recvmmsg: the batch size, fewer for very long max_message_bytes (at most ~4 MiB of buffers,
        // of which only the pages datagrams actually fill become resident).
        let slots = max(1, min(DatagramReceiver.batchSize, (4 << 20) / maxBytes))
        let receiver = VectoredReceiver(slots: slots, maxBytes: maxBytes)
        defer { receiver.deallocate() }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !stop.load(ordering: .relaxed) {
            if poll(&pfd, 1, 200) <= 0 { continue }
            // Drain everything queued, up to `slots` datagrams per system call.
            while true {
                let now = Timestamp.now()
                var batch: [RawMessage] = []
                batch.reserveCapacity(slots)
                let got = receiver.receive(fd) { bytes, length in
                    let cut = length > maxBytes
                    batch.append(
                        RawMessage(
                            bytes: Array(UnsafeRawBufferPointer(start: bytes, count: min(length, maxBytes))),
                            receivedAt: now, truncated: cut))
                    if cut { counters.truncated.add(1, ordering: .relaxed) }
                }
                if !batch.isEmpty {
                    counters.received.add(batch.count, ordering: .relaxed)
                    emit(batch)
                }
                if got < slots { break }  // the queue is empty (or an error other than EINTR): poll again
            }
        }
    }
}

/// recvmmsg(2): many datagrams per system call (one `recv` per datagram was ~12 % of a unix-dgram node's CPU).
/// Looked up with dlsym because Glibc's Swift module map hides it (it needs _GNU_SOURCE) and no listed package
/// exports it; `mmsghdr` is declared here with C's layout (a `msghdr`, then the length; stride 64 on LP64).
/// Falls back to one `recv` per call when the symbol is missing.
private struct VectoredReceiver {
    private struct MMsgHdr {
        var hdr: msghdr
        var len: UInt32
    }
    private typealias RecvMMsg =
        @convention(c) (Int32, UnsafeMutableRawPointer?, UInt32, Int32, UnsafeMutableRawPointer?) -> Int32
    nonisolated(unsafe) private static let recvmmsg: RecvMMsg? = dlsym(nil, "recvmmsg").map {
        unsafeBitCast($0, to: RecvMMsg.self)
    }

    let slots: Int
    let maxBytes: Int
    private let buffers: UnsafeMutableRawPointer
    private let iovecs: UnsafeMutablePointer<iovec>
    private let headers: UnsafeMutablePointer<MMsgHdr>

    init(slots: Int, maxBytes: Int) {
        self.slots = slots
        self.maxBytes = maxBytes
        buffers = .allocate(byteCount: slots * maxBytes, alignment: 16)
        iovecs = .allocate(capacity: slots)
        headers = .allocate(capacity: slots)
        for i in 0..<slots {
            iovecs[i] = iovec(iov_base: buffers + i * maxBytes, iov_len: maxBytes)
            var h = msghdr()
            h.msg_iov = iovecs + i
            h.msg_iovlen = 1
            headers[i] = MMsgHdr(hdr: h, len: 0)
        }
    }

    func deallocate() {
        buffers.deallocate()
        iovecs.deallocate()
        headers.deallocate()
    }

    /// Receives what is queued without waiting, up to `slots` datagrams, handing each to `body` with its real
    /// length (MSG_TRUNC: longer than `maxBytes` when it was cut). Returns how many were received.
    func receive(_ fd: Int32, _ body: (UnsafeRawPointer, Int) -> Void) -> Int {
        guard let recvmmsg = Self.recvmmsg else {
            while true {
                let got = recv(fd, buffers, maxBytes, Int32(MSG_DONTWAIT | MSG_TRUNC))
                if got < 0 && errno == EINTR { continue }
                if got < 0 { return 0 }
                body(buffers, got)
                return 1
            }
        }
        var got: Int32
        repeat {
            for i in 0..<slots { headers[i].hdr.msg_flags = 0 }
            got = recvmmsg(fd, headers, UInt32(slots), Int32(MSG_DONTWAIT | MSG_TRUNC), nil)
        } while got < 0 && errno == EINTR
        guard got > 0 else { return 0 }
        for i in 0..<Int(got) {
            var length = Int(headers[i].len)
            // msg_len is what was copied on some kernels; MSG_TRUNC in msg_flags still says it was cut.
            if headers[i].hdr.msg_flags & Int32(MSG_TRUNC) != 0, length <= maxBytes { length = maxBytes + 1 }
            body(buffers + i * maxBytes, length)
        }
        return Int(got)
    }
}
