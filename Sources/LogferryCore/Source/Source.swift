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

    public init(
        bytes: [UInt8], receivedAt: Timestamp, file: String? = nil, offset: Int64? = nil, truncated: Bool = false
    ) {
        self.bytes = bytes
        self.receivedAt = receivedAt
        self.file = file
        self.offset = offset
        self.truncated = truncated
    }
}

/// What `deliver` returns: the batch is written to the journal (in call order); `durable()` returns once it is
/// durable there. A source that checkpoints a position (a file offset) moves it only after `durable()`; it may
/// keep reading and delivering meanwhile, so waiting for the group fsync does not pace its reads.
public struct Delivery: Sendable {
    private let wait: @Sendable () async throws -> Void
    /// The journal sequence numbers the batch was written under, one per message in order; nil when the batch
    /// was not journaled (dropped under `when_full: drop-newest`). A local event's document ID is
    /// `EventOrigin(node: <this node>, seq: seq).documentID`, so a source that answers its client (HTTP ingest)
    /// can name the IDs once `durable()` returned.
    public let sequences: ClosedRange<UInt64>?

    public init(sequences: ClosedRange<UInt64>? = nil, waitDurable: @escaping @Sendable () async throws -> Void) {
        self.sequences = sequences
        self.wait = waitDurable
    }

    /// Returns once the delivered batch is durable in the journal.
    public func durable() async throws { try await wait() }

    /// A delivery that is durable at once (tests, in-memory spools).
    public static let immediate = Delivery {}
}

/// Hands a batch to the journal; see `Delivery`.
public typealias Deliver = @Sendable ([RawMessage]) async throws -> Delivery

/// Called on the journal's writer with the sequence numbers a batch gets, right before its bytes are written
/// (see `Spool.write(_:beforeWrite:)`).
public typealias WriteHook = @Sendable (ClosedRange<UInt64>) -> Void

/// `Deliver` with a hook: the file source writes its pending offsets in the hook, so no kill -9 can separate durable
/// lines from the offsets that cover them. A node that must split a batch (a journal too small for it) does not
/// call the hook; the source then confirms its offsets after `durable()` as usual.
public typealias DeliverWithHook = @Sendable ([RawMessage], WriteHook?) async throws -> Delivery

/// A source that can use `DeliverWithHook`; the node runs it through `run(deliverWithHook:)`.
public protocol HookedSource: Source {
    func run(deliverWithHook: @escaping DeliverWithHook) async throws
}

/// A source of log messages: a socket, a tailed file, a listener.
///
/// The contract (every source keeps it):
/// - `run` hands batches to `deliver` and returns only when cancelled or on a failure it cannot recover from.
/// - `deliver` returns once the batch is written to the journal, in order, and waits while the journal is full
///   (`when_full: block`). A source that can be held back (files, stream sockets) therefore stops reading while
///   the journal is full, and checkpoints its position only after the returned `Delivery` is `durable()`; a
///   source that cannot be held back (datagrams) keeps reading into a bounded buffer and counts what it drops.
/// - Bad input never ends `run`: it is delivered as-is (the parser flags it) or counted and skipped.
public protocol Source: Sendable {
    /// The configured name (`sources.NAME`), stamped on events as `source`.
    var name: String { get }
    func run(deliver: @escaping Deliver) async throws
}
