import Glibc
import LogferryCore
import Logging
import NIOCore

/// Configuration of a `udp` source (`type: udp`): RFC 5426 syslog over UDP, as `logger -n HOST -d`, rsyslog's
/// omfwd and network devices send it. One datagram is one message.
public struct UDPSyslogConfiguration: Sendable, Equatable {
    /// The configured source name.
    public var name: String
    /// `listen:` host part: an IP address or a name to resolve (`0.0.0.0`, `::`, `127.0.0.1`).
    public var host: String
    /// `listen:` port part; 0 picks a free port (tests).
    public var port: Int
    /// `max_message_bytes`: longer datagrams are kept cut to this size, flagged as truncated and counted.
    public var maxMessageBytes: Int
    /// `receive_buffer_bytes`: SO_RCVBUF in bytes; nil leaves the kernel default. The kernel doubles the value
    /// and caps it at `net.core.rmem_max`. A larger buffer absorbs longer bursts before the kernel drops.
    public var receiveBufferBytes: Int?
    /// `buffer_messages`: messages held between the socket and the journal; past this, datagrams are dropped
    /// and counted (a datagram sender cannot be pushed back).
    public var bufferMessages: Int

    public init(
        name: String, host: String, port: Int, maxMessageBytes: Int = 64 * 1024, receiveBufferBytes: Int? = nil,
        bufferMessages: Int = 65536
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.maxMessageBytes = maxMessageBytes
        self.receiveBufferBytes = receiveBufferBytes
        self.bufferMessages = bufferMessages
    }
}

/// A socket that cannot be set up: the address does not resolve, the port is taken, ...
public struct NetworkSourceError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ what: String, _ address: String, errno code: Int32) {
        description = "\(what) \(address): \(String(cString: strerror(code)))"
    }
    init(_ description: String) { self.description = description }
}

/// Receives syslog datagrams on a UDP port.
///
/// Read like the unix-dgram source, on a dedicated thread that drains the kernel queue into a bounded buffer
/// (`DatagramReceiver`), rather than with NIO's `DatagramBootstrap`: one reading path for both datagram sources,
/// and the thread keeps the queue short while the cooperative pool is busy. Senders are never pushed back: what
/// the buffer cannot take is dropped and counted in `dropped` (what the kernel drops shows in `netstat -su`
/// "receive buffer errors").
public struct UDPSyslogSource: Source {
    public let config: UDPSyslogConfiguration
    public let counters: DatagramSourceCounters
    private let logger: Logger

    public var name: String { config.name }

    public init(config: UDPSyslogConfiguration, counters: DatagramSourceCounters = .init(), logger: Logger) {
        self.config = config
        self.counters = counters
        self.logger = logger
    }

    public func run(deliver: @escaping Deliver) async throws {
        try await run(deliver: deliver, onListening: { _ in })
    }

    /// `run`, telling `onListening` the bound port once the socket is bound (tests bind port 0).
    func run(deliver: @escaping Deliver, onListening: (Int) -> Void) async throws {
        let (fd, port) = try Self.bindSocket(config)
        defer { close(fd) }
        logger.info("udp source listening", metadata: ["source": "\(name)", "listen": "\(config.host):\(port)"])
        if let wanted = config.receiveBufferBytes, let got = DatagramReceiver.receiveBuffer(fd), got / 2 < wanted {
            logger.warning(
                "receive_buffer_bytes \(wanted) was capped to \(got / 2) by net.core.rmem_max: bursts beyond it are dropped by the kernel; raise it: sysctl -w net.core.rmem_max=\(wanted)",
                metadata: ["source": "\(name)"])
        }
        onListening(port)
        try await DatagramReceiver.run(
            fd: fd, maxMessageBytes: config.maxMessageBytes, bufferMessages: config.bufferMessages,
            counters: counters, deliver: deliver)
    }

    /// Creates and binds the socket; returns it and the bound port.
    static func bindSocket(_ config: UDPSyslogConfiguration) throws -> (fd: Int32, port: Int) {
        let label = "\(config.host):\(config.port)"
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(config.host, port: config.port)
        } catch {
            throw NetworkSourceError("udp listen \(label): cannot resolve the host (\(error))")
        }
        let fd = socket(address.protocol.rawValue, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NetworkSourceError("udp socket", label, errno: errno) }
        let rc = address.withSockAddr { bind(fd, $0, socklen_t($1)) }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw NetworkSourceError("udp bind", label, errno: e)
        }
        DatagramReceiver.setReceiveBuffer(fd, bytes: config.receiveBufferBytes)
        return (fd, boundPort(fd) ?? config.port)
    }

    /// The local port of a bound IPv4 or IPv6 socket.
    static func boundPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { return nil }
        return withUnsafePointer(to: &storage) { p -> Int? in
            switch Int32(p.pointee.ss_family) {
            case AF_INET:
                return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin_port))
                }
            case AF_INET6:
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            default: return nil
            }
        }
    }
}
