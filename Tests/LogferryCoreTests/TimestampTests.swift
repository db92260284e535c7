import LogferryCore
import Testing

struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(1_795_262_400_123_000_000), "2026-11-21T12:00:00.123Z"),
        (Int64(951_782_400_000_001_000), "2000-02-29T00:00:00.000001Z"),
        (Int64(-1_000_000_000), "1969-12-31T23:59:59.000Z"),
    ])
    func rendersRFC3339UTC(_ nanos: Int64, _ expected: String) {
        #expect(Timestamp(nanos: nanos).iso8601 == expected)
    }

    @Test func civilFieldsWithOffsetConvertToUTC() throws {
        let t = try #require(
            Timestamp(year: 2026, month: 11, day: 21, hour: 13, minute: 0, second: 0, offsetSeconds: 3600))
        #expect(t.iso8601 == "2026-11-21T12:00:00.000Z")
        #expect(Timestamp(year: 2026, month: 13, day: 1, hour: 0, minute: 0, second: 0) == nil)
    }

    @Test func daysRoundTrip() {
        for days in stride(from: -800_000, to: 800_000, by: 997) {
            let c = Timestamp.civilFromDays(days)
            #expect(Timestamp.daysFromCivil(year: c.year, month: c.month, day: c.day) == days)
        }
    }
}

struct TimestampRangeTests {
    @Test(arguments: [1, 1600, 2263, 9999])
    func yearsOutsideTheRepresentableRangeAreNoTimestamp(_ year: Int) {
        #expect(Timestamp(year: year, month: 12, day: 31, hour: 23, minute: 59, second: 59) == nil)
    }
}
