import LogferryCore

/// How a websocket destination forwards the journal to a receiver.
public struct SenderConfiguration: Sendable {
    /// Receiver URL, `ws://host:port/v1/ingest` or `wss://...` (TLS; see the `tls*` fields). With `wss` the URL's host
    /// is sent as SNI and checked against the receiver certificate (a DNS name against its DNS SANs, an IP address
    /// against its IP SANs).
    public var url: String
    /// Bearer token sent at the handshake (`Authorization: Bearer ...`); never logged.
    public var token: String?
    /// The destination's name; its journal cursor is `ws-<name>`, and it is part of the stream name.
    public var destinationName: String
    /// Most events in one batch (the receiver's `max_batch_events` lowers it).
    public var maxBatchEvents: Int
    /// About the largest batch message, in bytes (the receiver's `max_message_bytes` lowers it).
    public var maxBatchBytes: Int
    /// How long a batch that is not full waits for more records before it is sent.
    public var batchLinger: Duration
    /// Most batches sent and not yet acknowledged.
    public var window: Int
    /// First reconnect delay ceiling; doubles per failed attempt (full jitter: the delay is random below it).
    public var backoffInitial: Duration
    /// Largest reconnect delay ceiling.
    public var backoffMax: Duration
    /// Interval of websocket pings; a receiver that does not answer one before the next is disconnected.
    public var pingInterval: Duration
    /// Largest websocket frame sent or accepted, in bytes (acks of big batches exceed the 16 KiB library default).
    public var maxFrameSize: Int
    /// Offer permessage-deflate (less bandwidth, more CPU).
    public var compression: Bool
    /// How long to wait for `welcome` after connecting.
    public var handshakeTimeout: Duration
    /// How long the oldest unacknowledged batch may wait for its ack before the connection is dropped and redone.
    public var ackTimeout: Duration
    /// Which events to send (config keys `inputs` and `filter`; LogferryFormat's `DocumentSelector`); nil sends
    /// every event. A rejected event is not sent and counts as delivered: the cursor moves past it with the
    /// acknowledged batches around it. Set it after `init` (`configuration.selector = ...`).
    public var selector: (any EventSelector)? = nil
    /// `wss`: PEM file of the CA certificate(s) to trust for the receiver's certificate (YAML `ca_file`); nil: the
    /// system's trust roots.
    public var caFile: String?
    /// `wss`, mutual TLS: PEM file with this node's client certificate, followed by any intermediates
    /// (YAML `tls_client_cert`). Set together with `tlsClientKeyFile`.
    public var tlsClientCertificateFile: String?
    /// `wss`, mutual TLS: PEM file with the client certificate's private key (YAML `tls_client_key`).
    public var tlsClientKeyFile: String?
    /// `wss`: verify the receiver's certificate chain and name (YAML `tls_verify`, default true). False accepts any
    /// certificate — anyone on the path can read and inject traffic — and logs a warning at every start.
    public var tlsVerify: Bool
    /// `wss`: the name sent as SNI and checked against the certificate instead of the URL's host
    /// (YAML `tls_server_name`, optional), e.g. to connect by IP address to a receiver whose certificate names it.
    public var tlsServerName: String?
    /// Receipts: which journal seq the receiver stored under which document ID, kept on disk for a bounded time
    /// (`ReceiptsConfiguration`: directory `<data_dir>/receipts/<destination>`, YAML `receipts_retention`, default
    /// 24 h; read them with `Receipts`). Nil: none kept.
    public var receipts: ReceiptsConfiguration?

    public init(
        url: String,
        token: String? = nil,
        destinationName: String,
        maxBatchEvents: Int = 1000,
        maxBatchBytes: Int = 1 << 20,
        batchLinger: Duration = .milliseconds(5),
        window: Int = 8,
        backoffInitial: Duration = .milliseconds(250),
        backoffMax: Duration = .seconds(30),
        pingInterval: Duration = .seconds(15),
        maxFrameSize: Int = 4 << 20,
        compression: Bool = false,
        handshakeTimeout: Duration = .seconds(10),
        ackTimeout: Duration = .seconds(60),
        caFile: String? = nil,
        tlsClientCertificateFile: String? = nil,
        tlsClientKeyFile: String? = nil,
        tlsVerify: Bool = true,
        tlsServerName: String? = nil,
        receipts: ReceiptsConfiguration? = nil
    ) {
        self.url = url
        self.token = token
        self.destinationName = destinationName
        self.maxBatchEvents = maxBatchEvents
        self.maxBatchBytes = maxBatchBytes
        self.batchLinger = batchLinger
        self.window = window
        self.backoffInitial = backoffInitial
        self.backoffMax = backoffMax
        self.pingInterval = pingInterval
        self.maxFrameSize = maxFrameSize
        self.compression = compression
        self.handshakeTimeout = handshakeTimeout
        self.ackTimeout = ackTimeout
        self.caFile = caFile
        self.tlsClientCertificateFile = tlsClientCertificateFile
        self.tlsClientKeyFile = tlsClientKeyFile
        self.tlsVerify = tlsVerify
        self.tlsServerName = tlsServerName
        self.receipts = receipts
    }

    /// Whether the URL asks for TLS (`wss://`).
    public var usesTLS: Bool { url.lowercased().hasPrefix("wss://") }

    /// What is wrong with this configuration, one sentence per problem (empty when it is usable). Checks the
    /// combination of keys only; unreadable or invalid PEM files are reported when the sender starts
    /// (`TransportTLS.clientConfiguration(for:)` performs the same loading, for a config check).
    public func problems() -> [String] {
        var out: [String] = []
        let lower = url.lowercased()
        if !lower.hasPrefix("ws://") && !lower.hasPrefix("wss://") {
            out.append("url must start with ws:// or wss://")
        }
        if tlsClientCertificateFile != nil, tlsClientKeyFile == nil {
            out.append("tls_client_cert is set but tls_client_key is not: set both (PEM files) for mutual TLS")
        }
        if tlsClientKeyFile != nil, tlsClientCertificateFile == nil {
            out.append("tls_client_key is set but tls_client_cert is not: set both (PEM files) for mutual TLS")
        }
        if !usesTLS {
            var set: [String] = []
            if caFile != nil { set.append("ca_file") }
            if tlsClientCertificateFile != nil { set.append("tls_client_cert") }
            if tlsClientKeyFile != nil { set.append("tls_client_key") }
            if !tlsVerify { set.append("tls_verify") }
            if tlsServerName != nil { set.append("tls_server_name") }
            if !set.isEmpty {
                out.append("\(set.joined(separator: ", ")) only apply to a wss:// url; use wss:// or remove them")
            }
        }
        return out
    }

    /// The journal cursor this destination moves.
    public var cursorName: String { "ws-" + destinationName }
}
