import LogferryTesting
import Testing

@testable import LogferryTransport

@Suite struct BackoffTests {
    @Test func ceilingDoublesUpToTheMaximum() {
        var b = Backoff(initial: .milliseconds(250), maximum: .seconds(30))
        var g = SplitMix64(state: 1)
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
        var g = SplitMix64(state: 42)
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
