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

    public init() {}
}

typealias SenderCounters = LockedValue<SenderStatistics>
