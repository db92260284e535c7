/// Reconnect delays: exponential ceiling with full jitter (a uniformly random delay below the ceiling), so a
/// fleet that lost its receiver at once does not reconnect at once.
public struct Backoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    /// Failed attempts since the last reset.
    public private(set) var attempt = 0

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The ceiling of the next delay: `initial * 2^attempt`, at most `maximum`.
    public var ceiling: Duration {
        let factor = 1 << min(attempt, 40)
        let scaled = initial * factor
        return scaled > maximum || scaled < .zero ? maximum : scaled
    }

    /// The delay before the next attempt, and one more failed attempt counted.
    public mutating func next<R: RandomNumberGenerator>(using rng: inout R) -> Duration {
        let cap = ceiling
        attempt += 1
        let c = cap.components
        let nanos = UInt64(c.seconds) * 1_000_000_000 + UInt64(c.attoseconds / 1_000_000_000)
        guard nanos > 0 else { return .zero }
        return .nanoseconds(Int64(UInt64.random(in: 0...nanos, using: &rng)))
    }

    public mutating func next() -> Duration {
        var g = SystemRandomNumberGenerator()
        return next(using: &g)
    }

    /// After a healthy connection: start again from `initial`.
    public mutating func reset() { attempt = 0 }
}
