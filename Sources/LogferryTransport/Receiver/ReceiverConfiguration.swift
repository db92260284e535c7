/// How a websocket receiver listens and what it accepts (the `websocket` source of a relay or central node).
public struct ReceiverConfiguration: Sendable {
    /// Address to bind, e.g. `0.0.0.0` or `127.0.0.1`.
    public var host: String
    /// TCP port; 0 picks a free one (see `WebSocketReceiver.boundPort()`).
    public var port: Int
    /// The ingest path websocket upgrades must ask for.
    public var path: String
    /// Accepted bearer tokens. Empty: no authentication (a warning is logged once at start).
    public var tokens: [String]
    /// Largest message accepted, in bytes; a larger frame or message closes the connection with 1009. Told to the
    /// sender in `welcome`, so it sizes its batches to fit.
    public var maxMessageBytes: Int
    /// Most events accepted in one batch; more closes the connection with 1008. Told to the sender in `welcome`.
    public var maxBatchEvents: Int
    /// The configured source name (for example `central`), used in logs.
    public var sourceName: String
    /// Accept permessage-deflate when a sender offers it.
    public var compression: Bool
    /// Interval of websocket pings to each sender; a sender that does not answer is disconnected. Nil: no pings.
    public var pingInterval: Duration?
    /// How often the dedup index is checkpointed into the journal (`receiver-index` cursor), when it changed.
    public var checkpointInterval: Duration
    /// Batches read ahead per connection while earlier ones are being stored.
    public var readAheadBatches: Int
    /// How long a new connection may take to send `hello` before it is closed (1008).
    public var helloTimeout: Duration
    /// TLS (`wss`): PEM file with the server certificate, followed by any intermediates (YAML `tls_cert`).
    /// Set together with `tlsKeyFile`; nil: plain `ws`.
    public var tlsCertificateFile: String?
    /// TLS: PEM file with the server certificate's private key (YAML `tls_key`).
    public var tlsKeyFile: String?
    /// Mutual TLS: PEM file with the CA certificate(s) that sign client certificates (YAML `tls_client_ca`).
    /// When set, a client that presents no certificate, or one not signed by these CAs, is refused during the TLS
    /// handshake (before any HTTP). Needs `tlsCertificateFile`. Tokens, when configured, are checked as well.
    public var tlsClientCAFile: String?

    public init(
        host: String = "127.0.0.1",
        port: Int = 7000,
        path: String = ProtocolV1.path,
        tokens: [String] = [],
        maxMessageBytes: Int = 4 << 20,
        maxBatchEvents: Int = 10_000,
        sourceName: String = "websocket",
        compression: Bool = true,
        pingInterval: Duration? = .seconds(30),
        checkpointInterval: Duration = .seconds(1),
        readAheadBatches: Int = 16,
        helloTimeout: Duration = .seconds(10),
        tlsCertificateFile: String? = nil,
        tlsKeyFile: String? = nil,
        tlsClientCAFile: String? = nil
    ) {
        self.host = host
        self.port = port
        self.path = path
        self.tokens = tokens
        self.maxMessageBytes = maxMessageBytes
        self.maxBatchEvents = maxBatchEvents
        self.sourceName = sourceName
        self.compression = compression
        self.pingInterval = pingInterval
        self.checkpointInterval = checkpointInterval
        self.readAheadBatches = readAheadBatches
        self.helloTimeout = helloTimeout
        self.tlsCertificateFile = tlsCertificateFile
        self.tlsKeyFile = tlsKeyFile
        self.tlsClientCAFile = tlsClientCAFile
    }

    /// Whether the listener speaks TLS (`wss`).
    public var usesTLS: Bool { tlsCertificateFile != nil }

    /// What is wrong with this configuration, one sentence per problem (empty when it is usable). Checks the
    /// combination of keys only; unreadable or invalid PEM files are reported when the receiver starts
    /// (`TransportTLS.serverConfiguration(for:)` performs the same loading, for a config check).
    public func problems() -> [String] {
        var out: [String] = []
        if tlsCertificateFile != nil, tlsKeyFile == nil {
            out.append("tls_cert is set but tls_key is not: set both (PEM files) to listen with TLS")
        }
        if tlsKeyFile != nil, tlsCertificateFile == nil {
            out.append("tls_key is set but tls_cert is not: set both (PEM files) to listen with TLS")
        }
        if tlsClientCAFile != nil, tlsCertificateFile == nil {
            out.append("tls_client_ca (mutual TLS) needs tls_cert and tls_key: client certificates are checked in TLS")
        }
        return out
    }
}
