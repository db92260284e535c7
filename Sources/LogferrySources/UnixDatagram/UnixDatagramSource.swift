import Glibc
import LogferryCore
import Logging
import Synchronization

/// Configuration of a `unix-dgram` source (`type: unix-dgram`): the socket syslog(3), `logger`, `/dev/log`
/// clients and nginx's `syslog:server=unix:` write datagrams to.
public struct UnixDatagramConfiguration: Sendable, Equatable {
    /// The configured source name.
    public var name: String
    /// Filesystem path of the socket. A stale socket there is replaced; any other kind of file is refused.
    public var path: String
    /// Permission bits of the socket file (`mode: "0660"`); writers need write permission.
    public var mode: mode_t
    /// `owner` and `group` of the socket file (name or number resolved at config load); nil leaves them.
    public var owner: uid_t?
    public var group: gid_t?
    /// Longer datagrams are kept cut to this size and flagged as truncated.
    public var maxMessageBytes: Int
    /// SO_RCVBUF in bytes; nil leaves the kernel default. The kernel doubles the value it is given.
    public var receiveBufferBytes: Int?
    /// Messages held between the socket and the journal; past this, datagrams are dropped and counted
    /// (a datagram sender cannot be pushed back).
    public var bufferMessages: Int

    public init(
        name: String, path: String, mode: mode_t = 0o666, maxMessageBytes: Int = 64 * 1024,
        receiveBufferBytes: Int? = nil, bufferMessages: Int = 65536
    ) {
        self.name = name
        self.path = path
        self.mode = mode
        self.maxMessageBytes = maxMessageBytes
        self.receiveBufferBytes = receiveBufferBytes
        self.bufferMessages = bufferMessages
    }
}

/// Receives datagrams on a unix socket.
///
/// The socket is created and bound here and read on a dedicated thread (`DatagramReceiver`), not through NIO:
/// NIO's `DatagramBootstrap` rejects datagrams from unbound AF_UNIX senders, which is exactly what syslog(3),
/// logger and nginx send (see DEPENDENCIES.md). A thread blocked in `poll`/`recvmmsg` also drains the kernel
/// queue without waiting for the cooperative pool, which is what keeps a burst from overflowing
/// `net.unix.max_dgram_qlen` (senders on non-blocking sockets, like nginx, then drop silently).
public struct UnixDatagramSource: Source {
    public let config: UnixDatagramConfiguration
    public let counters: DatagramSourceCounters
    private let logger: Logger

    public var name: String { config.name }

    public init(config: UnixDatagramConfiguration, counters: DatagramSourceCounters = .init(), logger: Logger) {
        self.config = config
        self.counters = counters
        self.logger = logger
    }

    /// Creates the socket file: replaces a stale socket, refuses anything else, applies the mode.
    public static func bindSocket(_ config: UnixDatagramConfiguration) throws -> Int32 {
        try UnixSocketFile.prepareForBind(config.path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw UnixSocketError.system("socket", config.path, errno) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(config.path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard pathBytes.count < capacity else {
            close(fd)
            throw UnixSocketError.system("bind (path longer than \(capacity - 1) bytes)", config.path, ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw UnixSocketError.system("bind", config.path, e)
        }
        do { try UnixSocketFile.applyMode(config.path, config.mode, owner: config.owner, group: config.group) } catch {
            close(fd)
            throw error
        }
        DatagramReceiver.setReceiveBuffer(fd, bytes: config.receiveBufferBytes)
        return fd
    }

    public func run(deliver: @escaping Deliver) async throws {
        let fd = try Self.bindSocket(config)
        defer {
            close(fd)
            unlink(config.path)
        }
        logger.info("unix-dgram source listening", metadata: ["source": "\(name)", "path": "\(config.path)"])
        if let qlen = Self.maxDatagramQueueLength(), qlen < Self.recommendedQueueLength {
            logger.warning(
                "net.unix.max_dgram_qlen is \(qlen): a sender on a non-blocking socket (nginx) loses messages when more than \(qlen) wait in the queue; raise it: sysctl -w net.unix.max_dgram_qlen=\(Self.recommendedQueueLength)",
                metadata: ["source": "\(name)"])
        }
        try await DatagramReceiver.run(
            fd: fd, maxMessageBytes: config.maxMessageBytes, bufferMessages: config.bufferMessages,
            counters: counters, deliver: deliver)
    }

    /// Below this many queued datagrams, bursts from non-blocking senders are likely to be dropped by the kernel.
    static let recommendedQueueLength = 1024

    /// The kernel's per-socket queue limit for unix datagram sockets (`net.unix.max_dgram_qlen`; Debian's
    /// default is 10). Fixed when the socket is created. Nil when /proc is not readable.
    static func maxDatagramQueueLength() -> Int? {
        guard let text = try? readSmallFile("/proc/sys/net/unix/max_dgram_qlen") else { return nil }
        return Int(text.filter { $0.isNumber })
    }
}
