/// The contract between the parts of a node and its journal.
///
/// Sources append, destinations read through their own named cursor and commit it only after they
/// delivered. Sources, Transport and Destinations see the journal only through this protocol, so each of
/// them is tested against `InMemorySpool` (LogferryTesting) and never imports LogferryJournal.
///
/// Invariants every implementation keeps:
/// - Sequence numbers are assigned by `append`, start at 1, and grow by one per record, forever (across
///   restarts; a record that was set aside as damaged keeps its number unused).
/// - `append` returns only when the records are durable as the configured fsync policy defines it
///   (`always`: fsynced; `interval`: the group fsync that covers them ran; `never`: written).
/// - A record is handed out by `read` only when its CRC verified.
/// - `commit(cursor:)` is durable when it returns; records are only removed once every registered cursor
///   has passed them.
public protocol Spool: Sendable {
    /// Appends payloads as consecutive records; returns their sequence numbers once durable.
    /// Throws `SpoolError.full` when the spool is full and its policy is `drop-newest`; waits while full and
    /// the policy is `block`.
    func append(_ payloads: [[UInt8]]) async throws -> ClosedRange<UInt64>

    /// Like `append`, but returns once the records are written, in call order, without waiting for the fsync
    /// that makes them durable. Pair it with `waitDurable(through:)` to pipeline: keep writing while earlier
    /// records wait for their group commit. A crash can take back written records that were not yet durable,
    /// never a durable one, and never a record without every record before it.
    func write(_ payloads: [[UInt8]]) async throws -> ClosedRange<UInt64>

    /// `write`, calling `beforeWrite` with the batch's sequence numbers before its bytes are written (a source
    /// records "this batch is sequences A...B" where a crash cannot separate it from the records: a record the
    /// hook has not seen cannot exist). If the write then fails, the call throws and the numbers may be reused.
    func write(_ payloads: [[UInt8]], beforeWrite: (@Sendable (ClosedRange<UInt64>) -> Void)?) async throws
        -> ClosedRange<UInt64>

    /// Suspends until every record through `seq` is durable.
    func waitDurable(through seq: UInt64) async throws

    /// Records with sequence > `after`, in order, at most `maxRecords` and about `maxBytes` (at least one
    /// record is returned if one exists). Returns an empty array when nothing newer exists yet.
    func read(after: UInt64, maxRecords: Int, maxBytes: Int) async throws -> [SpoolRecord]

    /// Suspends until a record with sequence > `after` exists (or the task is cancelled).
    func waitForRecords(after: UInt64) async throws

    /// Registers a cursor if it does not exist yet (at the current oldest record) and returns its state.
    func openCursor(_ name: String) async throws -> SpoolCursor

    /// Moves a cursor: every record through `seq` is delivered for this cursor. `state` is opaque bytes the
    /// destination needs for crash consistency (the file store keeps file lengths here); it is made durable
    /// together with the sequence number.
    func commit(cursor name: String, through seq: UInt64, state: [UInt8]) async throws

    /// Highest sequence number assigned so far (0 when empty).
    func lastSequence() async -> UInt64
}

/// One journal record as handed to readers.
public struct SpoolRecord: Sendable, Equatable {
    /// The record's sequence number in this node's journal.
    public var seq: UInt64
    /// Wall-clock time the record was appended, nanoseconds since the Unix epoch.
    public var timeNanos: Int64
    /// The payload exactly as appended (a `SpooledEvent` encoding in a running node).
    public var payload: [UInt8]

    public init(seq: UInt64, timeNanos: Int64, payload: [UInt8]) {
        self.seq = seq
        self.timeNanos = timeNanos
        self.payload = payload
    }
}

/// A destination's durable position in the spool.
public struct SpoolCursor: Sendable, Equatable {
    public var name: String
    /// Every record through this sequence number has been delivered.
    public var seq: UInt64
    /// Opaque destination state committed with `seq`.
    public var state: [UInt8]

    public init(name: String, seq: UInt64, state: [UInt8]) {
        self.name = name
        self.seq = seq
        self.state = state
    }
}

public enum SpoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The spool is at `max_bytes` and drops new records (`when_full: drop-newest`).
    case full
    /// A payload larger than the spool accepts.
    case recordTooLarge(Int)
    /// The spool was closed.
    case closed
    /// An I/O failure: the operation, the path and errno's text.
    case io(operation: String, path: String, message: String)

    public var description: String {
        switch self {
        case .full: return "journal is full (when_full: drop-newest)"
        case .recordTooLarge(let n): return "record of \(n) bytes is larger than the journal accepts"
        case .closed: return "journal is closed"
        case .io(let op, let path, let msg): return "\(op) \(path): \(msg)"
        }
    }
}

extension Spool {
    /// For spools without a crash to survive (in memory): the hook runs after the write.
    public func write(_ payloads: [[UInt8]], beforeWrite: (@Sendable (ClosedRange<UInt64>) -> Void)?) async throws
        -> ClosedRange<UInt64>
    {
        let range = try await write(payloads)
        beforeWrite?(range)
        return range
    }
}
