/// One message as a source received it, before parsing.
public struct RawMessage: Sendable, Equatable {
    /// The bytes of one message, framing removed (no datagram padding, no newline for line framing).
    public var bytes: [UInt8]
    public var receivedAt: Timestamp
    /// File sources: the file and the byte offset where the message starts.
    public var file: String?
    public var offset: Int64?
    /// The sender's message was longer than `max_message_bytes` and was cut to it.
    public var truncated: Bool

    public init(bytes: [UInt8], receivedAt: Timestamp, file: String? = nil, offset: Int64? = nil, truncated: Bool = false)
    {
        self.bytes = bytes
        self.receivedAt = receivedAt
        self.file = file
        self.offset = offset
        self.truncated = truncated
    }
}

/// A source of log messages: a socket, a tailed file, a listener.
///
/// The contract (every source keeps it):
/// - `run` hands batches to `deliver` and returns only when cancelled or on a failure it cannot recover from.
/// - `deliver` returns once the batch is durable in the journal. A source that can be held back (files, stream
///   sockets) waits for it before reading more and checkpoints its position only after it returned; a source
///   that cannot (datagrams) keeps reading into a bounded buffer and counts what it had to drop.
/// - Bad input never ends `run`: it is delivered as-is (the parser flags it) or counted and skipped.
public protocol Source: Sendable {
    /// The configured name (`sources.NAME`), stamped on events as `source`.
    var name: String { get }
    func run(deliver: @escaping @Sendable ([RawMessage]) async throws -> Void) async throws
}
