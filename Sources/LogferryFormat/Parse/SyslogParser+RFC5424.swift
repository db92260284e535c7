import LogferryCore

// RFC 5424: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]

extension SyslogParser {
    func parse5424(_ b: UnsafeBufferPointer<UInt8>, pri: PRI, at start: Int, context: ParseContext) -> Event {
        var i = start
        func fail(_ reason: String) -> Event { failure(b, reason, context, pri: pri) }

        // VERSION: NONZERO-DIGIT 0*2DIGIT
        var version = 0
        var nDigits = 0
        while i < b.count, nDigits < 4, b[i] >= 0x30, b[i] <= 0x39 {
            version = version * 10 + Int(b[i] - 0x30)
            i += 1
            nDigits += 1
        }
        guard nDigits >= 1, nDigits <= 3, version > 0 else { return fail("RFC 5424: missing or invalid VERSION") }
        guard i < b.count, b[i] == 0x20 else { return fail("RFC 5424: expected a space after VERSION") }
        i += 1

        // TIMESTAMP
        var timestamp: Timestamp? = nil
        if i < b.count, b[i] == UInt8(ascii: "-") {
            i += 1
        } else if let (ts, end) = TimestampParser.rfc3339(
            b, from: i, defaultOffset: context.assumeTimeZoneOffset, allowSpace: false)
        {
            timestamp = ts
            i = end
        } else {
            return fail("RFC 5424: invalid TIMESTAMP")
        }
        guard i < b.count, b[i] == 0x20 else { return fail("RFC 5424: expected a space after TIMESTAMP") }
        i += 1

        // HOSTNAME, APP-NAME, PROCID: NILVALUE or a token, each followed by a space.
        var tokens: [String?] = []
        for name in ["HOSTNAME", "APP-NAME", "PROCID"] {
            guard let (value, end) = headerToken(b, at: i), end < b.count, b[end] == 0x20 else {
                return fail("RFC 5424: missing \(name)")
            }
            tokens.append(value)
            i = end + 1
        }
        // MSGID; a sender that stops right after it (no STRUCTURED-DATA) is accepted as if it had sent "-".
        guard let (msgid, msgidEnd) = headerToken(b, at: i) else { return fail("RFC 5424: missing MSGID") }
        i = msgidEnd

        var event = Event(
            message: "", source: context.source, receivedAt: context.receivedAt, timestamp: timestamp,
            host: tokens[0], program: tokens[1], pid: tokens[2], facility: pri.facility, severity: pri.severity,
            version: version, msgid: msgid)
        if i == b.count || (i + 1 == b.count && b[i] == 0x20) { return event }
        guard b[i] == 0x20 else { return fail("RFC 5424: expected a space after MSGID") }
        i += 1

        // STRUCTURED-DATA
        if b[i] == UInt8(ascii: "-") {
            i += 1
        } else if b[i] == UInt8(ascii: "[") {
            switch parseStructuredData(b, at: i) {
            case .failure(let error): return fail("RFC 5424: \(error.reason)")
            case .success(let (sd, end)):
                event.sd = sd
                i = end
            }
        } else {
            return fail("RFC 5424: invalid STRUCTURED-DATA (expected '-' or '[')")
        }

        // MSG
        if i == b.count { return event }
        guard b[i] == 0x20 else { return fail("RFC 5424: expected a space after STRUCTURED-DATA") }
        i += 1
        if i + 3 <= b.count, b[i] == 0xEF, b[i + 1] == 0xBB, b[i + 2] == 0xBF { i += 3 }
        event.message = SyslogParser.decode(b, i..<b.count)
        return event
    }

    /// A header field: up to the next space; `-` (NILVALUE) is nil. Nil result when the field is empty.
    private func headerToken(_ b: UnsafeBufferPointer<UInt8>, at start: Int) -> (String?, Int)? {
        var end = start
        while end < b.count, b[end] != 0x20 { end += 1 }
        guard end > start else { return nil }
        if end == start + 1, b[start] == UInt8(ascii: "-") { return (nil, end) }
        return (SyslogParser.decode(b, start..<end), end)
    }

    private struct SDError: Error {
        var reason: String
    }

    /// One or more SD-ELEMENTs, `[SD-ID *(SP PARAM-NAME="value")]`, with no space between elements. Values are
    /// unescaped (`\"` `\\` `\]`; any other backslash is kept as written, as RFC 5424 §6.3.3 requires). A repeated
    /// SD-ID merges into the first; a repeated PARAM-NAME (allowed, e.g. `origin ip=`) collects its values into
    /// an array so none is lost.
    private func parseStructuredData(
        _ b: UnsafeBufferPointer<UInt8>, at start: Int
    ) -> Result<(JSONObject, Int), SDError> {
        var sd = JSONObject()
        var i = start
        var scratch: [UInt8] = []
        while i < b.count, b[i] == UInt8(ascii: "[") {
            i += 1
            let idStart = i
            while i < b.count, Self.isSDNameChar(b[i]) { i += 1 }
            guard i > idStart else { return .failure(SDError(reason: "invalid SD-ID")) }
            let id = SyslogParser.decode(b, idStart..<i)
            var params = sd[id]?.objectValue ?? JSONObject()
            while i < b.count, b[i] == 0x20 {
                i += 1
                let nameStart = i
                while i < b.count, Self.isSDNameChar(b[i]) { i += 1 }
                guard i > nameStart else { return .failure(SDError(reason: "invalid PARAM-NAME in [\(id)]")) }
                let name = SyslogParser.decode(b, nameStart..<i)
                guard i + 1 < b.count, b[i] == UInt8(ascii: "="), b[i + 1] == UInt8(ascii: "\"") else {
                    return .failure(SDError(reason: "expected =\"value\" after \(name) in [\(id)]"))
                }
                i += 2
                scratch.removeAll(keepingCapacity: true)
                var closed = false
                while i < b.count {
                    let c = b[i]
                    if c == UInt8(ascii: "\"") {
                        closed = true
                        i += 1
                        break
                    }
                    if c == UInt8(ascii: "\\"), i + 1 < b.count,
                        b[i + 1] == UInt8(ascii: "\"") || b[i + 1] == UInt8(ascii: "\\")
                            || b[i + 1] == UInt8(ascii: "]")
                    {
                        scratch.append(b[i + 1])
                        i += 2
                        continue
                    }
                    scratch.append(c)
                    i += 1
                }
                guard closed else { return .failure(SDError(reason: "unterminated value of \(name) in [\(id)]")) }
                let value = JSONValue.string(String(decoding: scratch, as: UTF8.self))
                switch params[name] {
                case nil: params[name] = value
                case .array(var values)?:
                    values.append(value)
                    params[name] = .array(values)
                case let first?: params[name] = .array([first, value])
                }
            }
            guard i < b.count, b[i] == UInt8(ascii: "]") else {
                return .failure(SDError(reason: "expected ']' to close [\(id)]"))
            }
            i += 1
            sd[id] = .object(params)
        }
        return .success((sd, i))
    }

    /// SD-NAME: printable US-ASCII except '=', SP, ']' and '"'. The 32-character limit is not enforced.
    private static func isSDNameChar(_ c: UInt8) -> Bool {
        c > 0x20 && c < 0x7F && c != UInt8(ascii: "=") && c != UInt8(ascii: "]") && c != UInt8(ascii: "\"")
    }
}
