import LogferryCore

/// Counters of one receiver since it started; read them with `WebSocketReceiver.statistics`.
public struct ReceiverStatistics: Sendable, Equatable {
    /// Websocket connections upgraded.
    public var connectionsAccepted = 0
    /// Upgrades refused: bad or missing token (401), wrong path (404), no `logferry.v1` subprotocol (400).
    public var connectionsRefused = 0
    /// `wss` connections refused during the TLS handshake (no or untrusted client certificate, a client that does
    /// not trust this certificate, not TLS at all).
    public var tlsHandshakesFailed = 0
    /// Connections closed for breaking the protocol (malformed, oversized, out of order, binary).
    public var protocolErrors = 0
    /// Batches stored and acknowledged.
    public var batchesAcked = 0
    /// Events appended to the journal.
    public var eventsStored = 0
    /// Events acknowledged without storing them again (already stored).
    public var eventsDuplicate = 0
    /// Appends the journal refused (connections closed with 1011).
    public var storageFailures = 0

    public init() {}
}

typealias ReceiverCounters = LockedValue<ReceiverStatistics>
