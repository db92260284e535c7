import LogferryCore

// RFC 3164 and the dialects real senders use:
//   <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG     the RFC form, remote senders
//   <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG          syslog(3), logger to /dev/log, nginx, systemd: no HOST
//   <PRI>2026-11-21T12:00:00.123+01:00 HOST TAG: MSG   rsyslog's ISO stamp in the 3164 position
//   <PRI>TAG: MSG  /  <PRI>MSG                 Python's SysLogHandler: no timestamp at all

extension SyslogParser {
    /// The longest TAG accepted; longer first words are message text.
    static let maxTagLength = 48

    func parse3164(_ b: UnsafeBufferPointer<UInt8>, pri: PRI?, at start: Int, context: ParseContext) -> Event {
        var event = Event(
            message: "", source: context.source, receivedAt: context.receivedAt, facility: pri?.facility,
            severity: pri?.severity)
        var i = start
        var hasTimestamp = false
        if let (ts, end) = TimestampParser.bsd(
            b, from: i, receivedAt: context.receivedAt, offset: context.assumeTimeZoneOffset)
            ?? TimestampParser.rfc3339(b, from: i, defaultOffset: context.assumeTimeZoneOffset, allowSpace: false),
            end == b.count || b[end] == 0x20
        {
            event.timestamp = ts
            hasTimestamp = true
            i = end
            while i < b.count, b[i] == 0x20 { i += 1 }
        }

        // The first word is the TAG when it looks like one (`name:` or `name[pid]`); hostnames never end with
        // ':' or contain '['. After a timestamp, any other first word followed by more text is the HOST.
        var word = Self.word(b, at: i)
        var tag = Self.tag(b, word)
        if hasTimestamp, tag == nil, Self.couldBeHost(b, word), word.upperBound < b.count {
            var next = word.upperBound
            while next < b.count, b[next] == 0x20 { next += 1 }
            if next < b.count {
                event.host = SyslogParser.decode(b, word)
                i = next
                word = Self.word(b, at: i)
                tag = Self.tag(b, word) ?? Self.bareTag(b, word)
            }
        }
        if let (program, pid) = tag {
            event.program = program
            event.pid = pid
            i = word.upperBound
            if i < b.count, b[i] == 0x20 { i += 1 }  // the one space syslog(3) writes after "TAG:"
        }
        event.message = SyslogParser.decode(b, i..<b.count)
        return event
    }

    /// A word ending with ':' or holding '[' is a (too long or malformed) tag, never a hostname.
    private static func couldBeHost(_ b: UnsafeBufferPointer<UInt8>, _ word: Range<Int>) -> Bool {
        guard !word.isEmpty, b[word.upperBound - 1] != UInt8(ascii: ":") else { return false }
        for k in word where b[k] == UInt8(ascii: "[") { return false }
        return true
    }

    private static func word(_ b: UnsafeBufferPointer<UInt8>, at start: Int) -> Range<Int> {
        var end = start
        while end < b.count, b[end] != 0x20 { end += 1 }
        return start..<end
    }

    /// After a HOST, a first word without ':' or '[' that is followed by more text is the TAG when it looks like a
    /// program name (a letter, then letters, digits and `_ - . / @`, at most 48): RFC 3164 §4.1.3 ends the TAG at
    /// the first character that cannot be in it, and rsyslog and syslog-ng read `host app text` this way. rsyslog
    /// itself forwards RFC 5424 messages without a PROCID as `HOST APP-NAME MSG`, with no colon.
    private static func bareTag(_ b: UnsafeBufferPointer<UInt8>, _ word: Range<Int>) -> (String, String?)? {
        guard !word.isEmpty, word.count <= maxTagLength, word.upperBound < b.count else { return nil }
        guard isLetter(b[word.lowerBound]) else { return nil }
        for k in word {
            let c = b[k]
            guard
                isLetter(c) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
                    || c == UInt8(ascii: ".") || c == UInt8(ascii: "/") || c == UInt8(ascii: "@")
            else { return nil }
        }
        return (SyslogParser.decode(b, word), nil)
    }

    private static func isLetter(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
    }

    /// `name:`, `name[pid]:` or `name[pid]` → (program, pid). The name is 1…48 printable ASCII characters
    /// other than `[ ] { } "` (so the start of a JSON message, `{"a":`, is not mistaken for a tag).
    private static func tag(_ b: UnsafeBufferPointer<UInt8>, _ word: Range<Int>) -> (String, String?)? {
        guard !word.isEmpty else { return nil }
        var end = word.upperBound
        let colon = b[end - 1] == UInt8(ascii: ":")
        if colon { end -= 1 }
        var nameEnd = word.lowerBound
        while nameEnd < end, b[nameEnd] != UInt8(ascii: "[") {
            switch b[nameEnd] {
            case 0x21...0x7E
            where b[nameEnd] != UInt8(ascii: "]") && b[nameEnd] != UInt8(ascii: "{")
                && b[nameEnd] != UInt8(ascii: "}") && b[nameEnd] != UInt8(ascii: "\""):
                nameEnd += 1
            default:
                return nil
            }
        }
        let nameLength = nameEnd - word.lowerBound
        guard nameLength >= 1, nameLength <= maxTagLength else { return nil }
        let name = SyslogParser.decode(b, word.lowerBound..<nameEnd)
        if nameEnd == end { return colon ? (name, nil) : nil }
        // "[pid]" must close the word (before the optional ':').
        guard b[nameEnd] == UInt8(ascii: "["), end - nameEnd >= 2, b[end - 1] == UInt8(ascii: "]") else { return nil }
        let pidRange = (nameEnd + 1)..<(end - 1)
        for k in pidRange where b[k] == UInt8(ascii: "[") || b[k] == UInt8(ascii: "]") { return nil }
        return (name, pidRange.isEmpty ? nil : SyslogParser.decode(b, pidRange))
    }
}
