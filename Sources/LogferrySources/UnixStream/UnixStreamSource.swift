import Glibc
import LogferryCore
import Logging
import NIOCore
import NIOPosix

/// Configuration of a `unix-stream` source (`type: unix-stream`): a stream socket that supervisor (through socat),
/// `logger -T` and rsyslog's omuxsock write to.
public struct UnixStreamConfiguration: Sendable, Equatable {
    /// How a connection's byte stream is cut into messages (shared with the tcp source).
    public typealias FramingMode = StreamFramingMode

    /// The configured source name.
    public var name: String
    /// Filesystem path of the socket. A stale socket there is replaced; any other kind of file is refused.
    public var path: String
    /// Permission bits of the socket file (`mode: "0660"`); writers need write permission.
    public var mode: mode_t
    /// `owner` and `group` of the socket file (name or number resolved at config load); nil leaves them.
    public var owner: uid_t?
    public var group: gid_t?
    /// Longer messages are kept cut to this size and flagged as truncated; the rest of the message is skipped.
    public var maxMessageBytes: Int
    /// Connections open at once; a connection beyond this is closed at once and counted in `refused`.
    public var maxConnections: Int
    /// `framing: auto | lines | octet-counted`.
    public var framing: FramingMode
    /// `idle_timeout`: a connection that sends nothing for this long is closed and counted in `idleClosed`
    /// (time spent waiting for a full journal does not count); nil keeps idle connections open.
    public var idleTimeout: Duration?

    public init(
        name: String, path: String, mode: mode_t = 0o666, maxMessageBytes: Int = 64 * 1024,
        maxConnections: Int = 256, framing: FramingMode = .auto, idleTimeout: Duration? = nil
    ) {
        self.name = name
        self.path = path
        self.mode = mode
        self.maxMessageBytes = maxMessageBytes
        self.maxConnections = maxConnections
        self.framing = framing
        self.idleTimeout = idleTimeout
    }

    var serving: StreamServingSettings {
        StreamServingSettings(
            sourceName: name, kind: "unix-stream", framing: framing, maxMessageBytes: maxMessageBytes,
            maxConnections: maxConnections, idleTimeout: idleTimeout)
    }
}

/// Receives messages on a unix stream socket, one task per connection, with pushback (see `StreamServer`).
public struct UnixStreamSource: Source {
    public let config: UnixStreamConfiguration
    public let counters: StreamSourceCounters
    private let group: any EventLoopGroup
    private let logger: Logger

    public var name: String { config.name }

    public init(
        config: UnixStreamConfiguration, counters: StreamSourceCounters = .init(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.config = config
        self.counters = counters
        self.group = group
        self.logger = logger
    }

    public func run(deliver: @escaping Deliver) async throws {
        try UnixSocketFile.prepareForBind(config.path)
        let settings = config.serving
        let counters = self.counters
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .bind(unixDomainSocketPath: config.path) { channel in
                StreamServer.makeConnection(channel, settings: settings, counters: counters, tls: nil)
            }
        defer { unlink(config.path) }
        do { try UnixSocketFile.applyMode(config.path, config.mode, owner: config.owner, group: config.group) } catch {
            try? await server.channel.close()
            throw error
        }
        logger.info("unix-stream source listening", metadata: ["source": "\(name)", "path": "\(config.path)"])
        try await StreamServer.serve(server, settings: settings, counters: counters, logger: logger, deliver: deliver)
    }
}
