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
        helloTimeout: Duration = .seconds(10)
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
    }
}
