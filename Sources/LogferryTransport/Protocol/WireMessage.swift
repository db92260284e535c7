import LogferryCore

/// One protocol message: a JSON object in one websocket text message (docs/PROTOCOL.md, "Messages").
public enum WireMessage: Sendable, Equatable {
    case hello(Hello)
    case welcome(Welcome)
    case batch(Batch)
    case ack(Ack)
    case error(ErrorMessage)

    /// The `type` field's value.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .welcome: "welcome"
        case .batch: "batch"
        case .ack: "ack"
        case .error: "error"
        }
    }
}

/// Sender -> receiver, first message: who is sending.
public struct Hello: Sendable, Equatable {
    public var version: Int
    /// Identifies one sender journal read by one cursor; the receiver keys `welcome.committed` by it.
    public var stream: String
    /// The sender's node name (for logs and metrics only).
    public var node: String

    public init(version: Int = ProtocolV1.version, stream: String, node: String) {
        self.version = version
        self.stream = stream
        self.node = node
    }
}

/// Receiver -> sender, reply to `hello`: where the stream stands and the receiver's limits.
public struct Welcome: Sendable, Equatable {
    public var version: Int
    /// Highest stream sequence of this stream the receiver has durably committed (0 when unknown).
    public var committed: UInt64
    /// Largest message the receiver accepts, in bytes (optional on the wire).
    public var maxMessageBytes: Int?
    /// Most events the receiver accepts in one batch (optional on the wire).
    public var maxBatchEvents: Int?

    public init(
        version: Int = ProtocolV1.version, committed: UInt64, maxMessageBytes: Int? = nil, maxBatchEvents: Int? = nil
    ) {
        self.version = version
        self.committed = committed
        self.maxMessageBytes = maxMessageBytes
        self.maxBatchEvents = maxBatchEvents
    }
}

/// Sender -> receiver: events in sender journal order.
public struct Batch: Sendable, Equatable {
    /// Batch number, increasing on a connection (the sender numbers 1, 2, 3, ... per connection).
    public var batch: UInt64
    public var events: [WireEvent]

    public init(batch: UInt64, events: [WireEvent]) {
        self.batch = batch
        self.events = events
    }
}

/// One event in a batch.
public struct WireEvent: Sendable, Equatable {
    /// Sequence of the record in the sender's journal (the stream position).
    public var seq: UInt64
    /// Where the event entered the system; its document ID derives from it.
    public var origin: EventOrigin
    /// The event document: the bytes of one JSON object, as they came (decoded batches keep the sender's bytes
    /// after checking them, so nothing is parsed into values and rendered again), without an `_id` member.
    public var document: [UInt8]

    /// `document` must be one JSON object without `_id` (`WireCodec.decode` guarantees it for what it returns).
    public init(seq: UInt64, origin: EventOrigin, document: [UInt8]) {
        self.seq = seq
        self.origin = origin
        self.document = document
    }

    public init(seq: UInt64, origin: EventOrigin, doc: JSONObject) {
        self.init(seq: seq, origin: origin, document: JSONWriter.render(.object(doc)))
    }

    /// The document parsed (tests and tools; the receiver keeps the bytes).
    public var doc: JSONObject {
        if case .object(let o)? = try? JSONParser.parse(document) { return o }
        return JSONObject()
    }
}

/// Receiver -> sender: the batch is durable; the IDs it is stored under, in event order.
public struct Ack: Sendable, Equatable {
    public var batch: UInt64
    /// The highest `seq` in the batch.
    public var through: UInt64
    public var ids: [String]

    public init(batch: UInt64, through: UInt64, ids: [String]) {
        self.batch = batch
        self.through = through
        self.ids = ids
    }
}

/// Receiver -> sender before it closes the connection: why.
public struct ErrorMessage: Sendable, Equatable {
    /// A `WireErrorCode` raw value (unknown codes are kept as they came).
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public init(_ code: WireErrorCode, _ message: String) {
        self.init(code: code.rawValue, message: message)
    }
}
