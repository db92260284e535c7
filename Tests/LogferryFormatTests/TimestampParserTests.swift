import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct TimestampParserTests {
    @Test(
        arguments: [
            ("2026-11-21T12:00:00Z", utc(2026, 11, 21, 12, 0, 0)),
            ("2026-11-21T12:00:00.123456789Z", utc(2026, 11, 21, 12, 0, 0, nanos: 123_456_789)),
            ("2026-11-21T12:00:00.1234567891Z", utc(2026, 11, 21, 12, 0, 0, nanos: 123_456_789)),
            ("2026-11-21T12:00:00,5Z", utc(2026, 11, 21, 12, 0, 0, nanos: 500_000_000)),
            ("2026-11-21T12:00:00+05:30", utc(2026, 11, 21, 6, 30, 0)),
            ("2026-11-21T12:00:00-0800", utc(2026, 11, 21, 20, 0, 0)),
            ("2026-11-21 12:00:00Z", utc(2026, 11, 21, 12, 0, 0)),
            ("2026-11-21T12:00:00", utc(2026, 11, 21, 12, 0, 0)),
            ("2024-02-29T00:00:00Z", utc(2024, 2, 29, 0, 0, 0)),
            ("2026-12-31T23:59:60Z", utc(2026, 12, 31, 23, 59, 59)),  // leap second folds onto :59
        ] as [(String, Timestamp)])
    func rfc3339(text: String, expected: Timestamp) {
        #expect(TimestampParser.parseRFC3339(text) == expected)
    }

    @Test(arguments: [
        "", "2026-11-21", "2026-11-21T12:00", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-21T24:00:00Z",
        "2026-11-21T12:00:00+24:00", "2026-11-21T12:00:00Zjunk", "26-11-21T12:00:00Z", "2026-11-21X12:00:00Z",
        "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "1699-12-31T23:59:59Z",
    ])
    func rfc3339Rejects(text: String) {
        #expect(TimestampParser.parseRFC3339(text) == nil)
    }

    @Test func defaultOffsetForZonelessStamps() {
        #expect(
            TimestampParser.parseRFC3339("2026-11-21T12:00:00", defaultOffset: -3600) == utc(2026, 11, 21, 13, 0, 0))
    }
}
