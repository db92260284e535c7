import LogferryCore
import LogferryTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Configuration of a `tcp` source (`type: tcp`): syslog over TCP, RFC 6587 (octet counting or newline framing,
/// detected per connection), and with `tls_cert`/`tls_key` syslog over TLS (RFC 5425).
public struct TCPSyslogConfiguration: Sendable, Equatable {
    /// The configured source name.
    public var name: String
    /// `listen:` host part: an IP address or a name to resolve (`0.0.0.0`, `::`, `127.0.0.1`).
    public var host: String
    /// `listen:` port part; 0 picks a free port (tests).
    public var port: Int
    /// `max_message_bytes`: longer messages are kept cut to this size and flagged as truncated; the rest of the
    /// message is skipped.
    public var maxMessageBytes: Int
    /// `max_connections`: connections open at once; a connection beyond this is closed at once and counted in
    /// `refused`.
    public var maxConnections: Int
    /// `framing: auto | lines | octet-counted`.
    public var framing: StreamFramingMode
    /// `idle_timeout`: a connection that sends nothing for this long (a stalled TLS handshake included) is closed
    /// and counted in `idleClosed`; time spent waiting for a full journal does not count. nil keeps idle
    /// connections open.
    public var idleTimeout: Duration?
    /// `tls_cert`: PEM server certificate (then intermediates). Set with `tlsKeyFile` to serve TLS (RFC 5425).
    public var tlsCertificateFile: String?
    /// `tls_key`: PEM unencrypted private key of `tlsCertificateFile`.
    public var tlsKeyFile: String?
    /// `tls_client_ca`: PEM CA certificates; when set, clients must present a certificate this CA signed, and a
    /// client without one is refused and counted in `tlsFailures`. Needs `tlsCertificateFile`.
    public var tlsClientCAFile: String?

    public init(
        name: String, host: String, port: Int, maxMessageBytes: Int = 64 * 1024, maxConnections: Int = 256,
        framing: StreamFramingMode = .auto, idleTimeout: Duration? = nil, tlsCertificateFile: String? = nil,
        tlsKeyFile: String? = nil, tlsClientCAFile: String? = nil
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.maxMessageBytes = maxMessageBytes
        self.maxConnections = maxConnections
        self.framing = framing
        self.idleTimeout = idleTimeout
        self.tlsCertificateFile = tlsCertificateFile
        self.tlsKeyFile = tlsKeyFile
        self.tlsClientCAFile = tlsClientCAFile
    }

    /// The TLS server settings, loaded and checked (every file read, the key matched to the certificate); nil
    /// without `tls_cert`. A config check can call this to report `tls_*` problems.
    public func tlsConfiguration() throws(TLSSetupError) -> TLSConfiguration? {
        guard let cert = tlsCertificateFile else {
            if tlsKeyFile != nil || tlsClientCAFile != nil {
                throw TLSSetupError("tls_key/tls_client_ca are set but tls_cert is not: set tls_cert and tls_key")
            }
            return nil
        }
        return try TLSFiles.serverConfiguration(
            certificateFile: cert, keyFile: tlsKeyFile, clientCAFile: tlsClientCAFile)
    }

    var serving: StreamServingSettings {
        StreamServingSettings(
            sourceName: name, kind: "tcp", framing: framing, maxMessageBytes: maxMessageBytes,
            maxConnections: maxConnections, idleTimeout: idleTimeout)
    }
}

/// Receives syslog over TCP (and TLS), one task per connection, with pushback: while the journal is full the
/// source stops reading and TCP flow control holds the sender (see `StreamServer`).
public struct TCPSyslogSource: Source {
    public let config: TCPSyslogConfiguration
    public let counters: StreamSourceCounters
    private let group: any EventLoopGroup
    private let logger: Logger

    public var name: String { config.name }

    public init(
        config: TCPSyslogConfiguration, counters: StreamSourceCounters = .init(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.config = config
        self.counters = counters
        self.group = group
        self.logger = logger
    }

    public func run(deliver: @escaping Deliver) async throws {
        try await run(deliver: deliver, onListening: { _ in })
    }

    /// `run`, telling `onListening` the bound port once listening (tests bind port 0).
    func run(deliver: @escaping Deliver, onListening: (Int) -> Void) async throws {
        let tls = try config.tlsConfiguration().map { tls in
            do { return try NIOSSLContext(configuration: tls) } catch { throw TLSSetupError("\(error)") }
        }
        let settings = config.serving
        let counters = self.counters
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: config.host, port: config.port) { channel in
                StreamServer.makeConnection(channel, settings: settings, counters: counters, tls: tls)
            }
        let port = server.channel.localAddress?.port ?? config.port
        logger.info(
            "tcp source listening",
            metadata: ["source": "\(name)", "listen": "\(config.host):\(port)", "tls": "\(tls != nil)"])
        onListening(port)
        try await StreamServer.serve(server, settings: settings, counters: counters, logger: logger, deliver: deliver)
    }
}
