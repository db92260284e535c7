import LogferryCore

/// Counters of one sender since it started; read them with `WebSocketSender.statistics`.
public struct SenderStatistics: Sendable, Equatable {
    /// Connections that got as far as `welcome`.
    public var connections = 0
    /// Connection attempts that failed or ended (each followed by a backoff).
    public var disconnects = 0
    /// Connection attempts that failed in TLS: handshake, an untrusted or misnamed receiver certificate, or a
    /// receiver that refused this node's client certificate (counted in `disconnects` too).
    public var tlsFailures = 0
    public var batchesSent = 0
    public var batchesAcked = 0
    public var eventsAcked = 0
    /// Journal records that are not a logferry event (or whose document is not a JSON object): skipped.
    public var recordsUndecodable = 0
    /// Events larger than the receiver accepts in one message: skipped.
    public var recordsOversized = 0
    /// Events the selector (`inputs`, `filter`) rejected: not sent, committed past.
    public var recordsFiltered = 0
    /// The journal position durably committed for this destination.
    public var committed: UInt64 = 0
    /// A link is up: the receiver answered `welcome` and the link has not failed since.
    public var connected = false
    /// Wall-clock time of the last ack, nanoseconds since the Unix epoch (0 before the first).
    public var lastAckUnixNanos: Int64 = 0
    /// Seconds from the journal append of each acknowledged batch's oldest record to its ack: the delivery
    /// latency this node's journal and the receiver's durable store add (an upper bound for every event of it).
    public var ackLatency = Histogram(bounds: SenderStatistics.ackLatencyBounds)

    public static let ackLatencyBounds: [Double] = [
        0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ]

    public init() {}
}

typealias SenderCounters = LockedValue<SenderStatistics>
