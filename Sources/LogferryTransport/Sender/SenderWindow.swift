/// The batches a connection has sent and not yet seen acknowledged, in order, and what each one's ack lets the
/// cursor commit. A value type without I/O; `WebSocketSender` keeps one per connection.
///
/// Invariants: acks arrive in send order; an ack must name the oldest batch in flight, its `through` must be
/// that batch's last `seq` and it must carry one ID per event. The cursor may move to a batch's `commitThrough`
/// only on its ack; `commitThrough` can exceed the batch's last seq when records after it were skipped
/// (undecodable or too large), so skipped records are committed with the batch before them.
public struct SenderWindow: Sendable, Equatable {
    public struct InFlight: Sendable, Equatable {
        public var number: UInt64
        public var lastSeq: UInt64
        public var eventCount: Int
        public var commitThrough: UInt64
        public var sentAt: ContinuousClock.Instant
    }

    public enum AckError: Error, Sendable, Equatable, CustomStringConvertible {
        case nothingInFlight(batch: UInt64)
        case outOfOrder(got: UInt64, expected: UInt64)
        case wrongThrough(batch: UInt64, got: UInt64, expected: UInt64)
        case wrongIDCount(batch: UInt64, got: Int, expected: Int)

        public var description: String {
            switch self {
            case .nothingInFlight(let b): "ack for batch \(b) with no batch in flight"
            case .outOfOrder(let g, let e): "ack for batch \(g), expected batch \(e)"
            case .wrongThrough(let b, let g, let e): "ack for batch \(b) says through \(g), the batch ends at \(e)"
            case .wrongIDCount(let b, let g, let e): "ack for batch \(b) has \(g) ids for \(e) events"
            }
        }
    }

    public let capacity: Int
    public private(set) var inFlight: [InFlight] = []
    public private(set) var nextNumber: UInt64 = 1

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var hasRoom: Bool { inFlight.count < capacity }
    public var isEmpty: Bool { inFlight.isEmpty }
    public var oldestSentAt: ContinuousClock.Instant? { inFlight.first?.sentAt }

    /// Records a batch as sent; returns its number (the one `nextNumber` held).
    @discardableResult
    public mutating func sent(
        lastSeq: UInt64, eventCount: Int, commitThrough: UInt64, at now: ContinuousClock.Instant = .now
    ) -> UInt64 {
        let n = nextNumber
        nextNumber += 1
        inFlight.append(
            InFlight(number: n, lastSeq: lastSeq, eventCount: eventCount, commitThrough: commitThrough, sentAt: now))
        return n
    }

    /// Records skipped through `seq` that were not sent. Returns the position to commit now when nothing is in
    /// flight; otherwise the newest batch in flight carries them and nil is returned.
    public mutating func skipped(through seq: UInt64) -> UInt64? {
        guard !inFlight.isEmpty else { return seq }
        inFlight[inFlight.count - 1].commitThrough = max(inFlight[inFlight.count - 1].commitThrough, seq)
        return nil
    }

    /// Checks an ack against the oldest batch in flight; returns the position the cursor may commit.
    public mutating func acked(_ ack: Ack) throws(AckError) -> UInt64 {
        guard let first = inFlight.first else { throw .nothingInFlight(batch: ack.batch) }
        guard ack.batch == first.number else { throw .outOfOrder(got: ack.batch, expected: first.number) }
        guard ack.through == first.lastSeq else {
            throw .wrongThrough(batch: ack.batch, got: ack.through, expected: first.lastSeq)
        }
        guard ack.ids.count == first.eventCount else {
            throw .wrongIDCount(batch: ack.batch, got: ack.ids.count, expected: first.eventCount)
        }
        inFlight.removeFirst()
        return first.commitThrough
    }
}
