import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct ParseContextTests {
    @Test func contextDefaultsToTheMachineOffset() {
        let at = utc(2026, 7, 1, 0, 0, 0)
        let ctx = ParseContext(source: "s", receivedAt: at)
        #expect(ctx.assumeTimeZoneOffset == ParseContext.localTimeZoneOffset(at: at))
        #expect(ctx.maxMessageBytes == 65536)
        #expect(abs(ctx.assumeTimeZoneOffset) <= 14 * 3600)
    }

    @Test func explicitValuesAreKept() {
        let ctx = ParseContext(source: "s", receivedAt: receivedAt, assumeTimeZoneOffset: -3600, maxMessageBytes: 10)
        #expect(ctx.source == "s")
        #expect(ctx.receivedAt == receivedAt)
        #expect(ctx.assumeTimeZoneOffset == -3600)
        #expect(ctx.maxMessageBytes == 10)
    }
}
