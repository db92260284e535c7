import LogferryCore

/// Turns the bytes of one message into an `Event`.
///
/// Total by design: every input, however malformed, yields exactly one event, and nothing here throws or traps.
/// Input that does not parse as the configured format becomes an event whose `message` and `raw` hold the text
/// (invalid UTF-8 replaced by U+FFFD) and whose `parseError` says why. docs/PARSING.md lists the dialects
/// accepted and the choices made where real senders disagree.
public struct SyslogParser: Sendable {
    public var format: InputFormat

    public init(format: InputFormat = .auto) {
        self.format = format
    }

    public func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes, context: ParseContext) -> Event {
        if let event = bytes.withContiguousStorageIfAvailable({ parse(buffer: $0, context: context) }) {
            return event
        }
        return Array(bytes).withUnsafeBufferPointer { parse(buffer: $0, context: context) }
    }

    public func parse(_ text: String, context: ParseContext) -> Event {
        var text = text
        return text.withUTF8 { parse(buffer: $0, context: context) }
    }

    /// Parses a frame from `FrameSplitter`; a framing error is recorded as the event's `parseError` (with `raw`),
    /// on top of whatever the content itself parsed to.
    public func parse(_ frame: Frame, context: ParseContext) -> Event {
        var event = parse(frame.bytes, context: context)
        if let error = frame.error {
            event.parseError = event.parseError.map { "\(error); \($0)" } ?? error
            if event.raw == nil {
                event.raw = frame.bytes.withUnsafeBufferPointer {
                    SyslogParser.decode($0, 0..<SyslogParser.contentEnd($0, limit: context.maxMessageBytes))
                }
            }
        }
        return event
    }

    public func parse(buffer: UnsafeBufferPointer<UInt8>, context: ParseContext) -> Event {
        let b = UnsafeBufferPointer(
            rebasing: buffer[0..<SyslogParser.contentEnd(buffer, limit: context.maxMessageBytes)])
        switch format {
        case .raw:
            return Event(message: SyslogParser.decode(b), source: context.source, receivedAt: context.receivedAt)
        case .json:
            return parseJSON(b, context: context, fallbackToRaw: false)
        case .rfc5424:
            guard !b.isEmpty else { return failure(b, "empty message", context) }
            switch PRI.parse(b) {
            case .absent: return failure(b, "missing PRI (<0>..<191>)", context)
            case .invalid(let reason): return failure(b, reason, context)
            case .valid(let pri, let end): return parse5424(b, pri: pri, at: end, context: context)
            }
        case .rfc3164:
            guard !b.isEmpty else { return failure(b, "empty message", context) }
            switch PRI.parse(b) {
            case .absent: return parse3164(b, pri: nil, at: 0, context: context)
            case .invalid(let reason): return failure(b, reason, context)
            case .valid(let pri, let end): return parse3164(b, pri: pri, at: end, context: context)
            }
        case .auto:
            guard let first = b.first else {
                return Event(message: "", source: context.source, receivedAt: context.receivedAt)
            }
            if first == UInt8(ascii: "<") {
                switch PRI.parse(b) {
                case .absent:
                    break  // "<html>", "<-- comment": not syslog, a plain line
                case .invalid(let reason):
                    return failure(b, reason, context)
                case .valid(let pri, let end):
                    if end + 1 < b.count, b[end] == UInt8(ascii: "1"), b[end + 1] == 0x20 {
                        return parse5424(b, pri: pri, at: end, context: context)
                    }
                    return parse3164(b, pri: pri, at: end, context: context)
                }
            } else if first == UInt8(ascii: "{") {
                return parseJSON(b, context: context, fallbackToRaw: true)
            }
            return Event(message: SyslogParser.decode(b), source: context.source, receivedAt: context.receivedAt)
        }
    }

    /// The event for input that did not parse: the whole text as message and raw, with the reason.
    func failure(_ b: UnsafeBufferPointer<UInt8>, _ reason: String, _ context: ParseContext, pri: PRI? = nil) -> Event {
        let text = SyslogParser.decode(b)
        return Event(
            message: text, source: context.source, receivedAt: context.receivedAt, facility: pri?.facility,
            severity: pri?.severity, parseError: reason, raw: text)
    }

    static func decode(_ b: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: b, as: UTF8.self)
    }

    static func decode(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[range]), as: UTF8.self)
    }

    /// The end of the message proper: trailing NULs (Python's SysLogHandler appends one) and one trailing
    /// `\n` or `\r\n` are not part of it; then the size limit, cut back to a UTF-8 character boundary.
    static func contentEnd(_ b: UnsafeBufferPointer<UInt8>, limit: Int) -> Int {
        var end = b.count
        while end > 0, b[end - 1] == 0 { end -= 1 }
        if end > 0, b[end - 1] == 0x0A {
            end -= 1
            if end > 0, b[end - 1] == 0x0D { end -= 1 }
        }
        while end > 0, b[end - 1] == 0 { end -= 1 }
        if limit > 0, end > limit {
            end = limit
            // Back off over continuation bytes (10xxxxxx) so no character is cut in half.
            var back = 0
            while back < 3, end > 0, b[end] & 0xC0 == 0x80 {
                end -= 1
                back += 1
            }
        }
        return end
    }
}

/// A syslog PRI value: `<N>` with 0 ≤ N ≤ 191, facility N/8, severity N%8.
struct PRI: Equatable {
    var value: Int
    var facility: Facility { Facility(rawValue: value >> 3)! }
    var severity: Severity { Severity(rawValue: value & 7)! }

    enum Result {
        /// The input does not start with `<` and a digit: no PRI was attempted.
        case absent
        case invalid(String)
        /// The PRI and the index just past its `>`.
        case valid(PRI, Int)
    }

    /// Leading zeros are accepted (`<013>`); RFC 5424 forbids them but they are unambiguous.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Result {
        guard b.count >= 2, b[0] == UInt8(ascii: "<"), b[1] >= 0x30, b[1] <= 0x39 else { return .absent }
        var i = 1
        var v = 0
        while i < b.count, i <= 4, b[i] >= 0x30, b[i] <= 0x39 {
            v = v * 10 + Int(b[i] - 0x30)
            i += 1
        }
        guard i - 1 <= 3 else { return .invalid("invalid PRI: more than 3 digits") }
        guard i < b.count, b[i] == UInt8(ascii: ">") else { return .invalid("invalid PRI: missing '>'") }
        guard v <= 191 else { return .invalid("invalid PRI \(v): must be 0..191") }
        return .valid(PRI(value: v), i + 1)
    }
}
