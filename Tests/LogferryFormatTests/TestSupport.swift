import LogferryCore
import LogferryTesting

@testable import LogferryFormat

/// 2026-11-21T12:00:05Z: the receive time most tests use.
let receivedAt = Timestamp(year: 2026, month: 11, day: 21, hour: 12, minute: 0, second: 5)!

func context(
    at time: Timestamp = receivedAt, offset: Int = 0, maxMessageBytes: Int = ParseContext.defaultMaxMessageBytes
) -> ParseContext {
    ParseContext(source: "test", receivedAt: time, assumeTimeZoneOffset: offset, maxMessageBytes: maxMessageBytes)
}

func parse(_ text: String, _ format: InputFormat = .auto, offset: Int = 0) -> Event {
    SyslogParser(format: format).parse(text, context: context(offset: offset))
}

func parse(bytes: [UInt8], _ format: InputFormat = .auto) -> Event {
    SyslogParser(format: format).parse(bytes, context: context())
}

func utc(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int, nanos: Int64 = 0) -> Timestamp {
    Timestamp(year: y, month: mo, day: d, hour: h, minute: mi, second: s, nanos: nanos)!
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

// Literals make expected JSON readable in tests; the library itself spells cases out.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
