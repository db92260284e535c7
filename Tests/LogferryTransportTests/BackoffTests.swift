import Testing

@testable import LogferryTransport

/// A deterministic generator for jitter tests (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct BackoffTests {
    @Test func ceilingDoublesUpToTheMaximum() {
        var b = Backoff(initial: .milliseconds(250), maximum: .seconds(30))
        var g = SeededGenerator(state: 1)
        var ceilings: [Duration] = []
        for _ in 0..<10 {
            ceilings.append(b.ceiling)
            _ = b.next(using: &g)
        }
        #expect(
            ceilings.prefix(8) == [
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8),
                .seconds(16),
                .seconds(30),
            ])
        #expect(ceilings.last == .seconds(30))
        for _ in 0..<100 { _ = b.next(using: &g) }
        #expect(b.ceiling == .seconds(30))  // no overflow after many attempts
    }

    @Test func delaysAreJitteredBelowTheCeiling() {
        var g = SeededGenerator(state: 42)
        var delays: Set<Duration> = []
        for _ in 0..<200 {
            var b = Backoff(initial: .milliseconds(250), maximum: .seconds(30))
            for _ in 0..<3 { _ = b.next(using: &g) }
            let d = b.next(using: &g)
            #expect(d >= .zero && d <= .seconds(2))
            delays.insert(d)
        }
        #expect(delays.count > 150)  // spread, not one value
    }

    @Test func resetStartsOver() {
        var b = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        for _ in 0..<5 { _ = b.next() }
        #expect(b.ceiling == .seconds(1))
        b.reset()
        #expect(b.attempt == 0)
        #expect(b.ceiling == .milliseconds(100))
    }
}
