/// How a websocket destination forwards the journal to a receiver.
public struct SenderConfiguration: Sendable {
    /// Receiver URL, `ws://host:port/v1/ingest` or `wss://...` (TLS with the system's trust roots).
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

    public init(
        url: String,
        token: String? = nil,
        destinationName: String,
        maxBatchEvents: Int = 1000,
        maxBatchBytes: Int = 1 << 20,
        batchLinger: Duration = .milliseconds(20),
        window: Int = 8,
        backoffInitial: Duration = .milliseconds(250),
        backoffMax: Duration = .seconds(30),
        pingInterval: Duration = .seconds(15),
        maxFrameSize: Int = 4 << 20,
        compression: Bool = false,
        handshakeTimeout: Duration = .seconds(10),
        ackTimeout: Duration = .seconds(60)
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
    }

    /// The journal cursor this destination moves.
    public var cursorName: String { "ws-" + destinationName }
}
