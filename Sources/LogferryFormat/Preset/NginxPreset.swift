import LogferryCore

/// `preset: nginx`. Three kinds of line, recognised by their shape; anything else passes unchanged.
///
/// 1. **JSON access log** (`log_format NAME escape=json '{...}'`). The body may arrive as the message (through
///    syslog) or already under `fields` (a file source with `format: auto`/`json`). Its keys go to `fields`. nginx
///    writes every variable as a string, so the well-known numeric variables (`integerVariables`,
///    `floatVariables`, named as the nginx variables are) become JSON numbers; `pipe` becomes a boolean. Such a
///    variable whose value is `""` or `-` is left out: nginx writes that when the value does not apply (no
///    upstream, no body), and an empty string where a number belongs would break typed stores. A value that is not
///    one number (`upstream_response_time` is `0.001, 0.002` after a retry, `upstream_status` may be `502, 200`)
///    stays a string. Other keys are kept as written. `msec` also sets `@timestamp` (millisecond precision). When
///    the body was the message, the message becomes `REQUEST STATUS` (`GET / HTTP/1.1 200`), or whatever of the two
///    is known, so the document does not say everything twice.
/// 2. **Error log** `2026/11/21 12:00:00 [error] 1234#1234: *5 open() "/x" failed (2: No such file or directory),
///    client: 127.0.0.1, server: localhost, request: "GET /x HTTP/1.1", host: "127.0.0.1:8080"` (from a file, or
///    through syslog with or without the date): fields `level`, `pid`, `tid`, `connection_id` (numbers), and from
///    the context after the text `client`, `server`, `request`, `subrequest`, `upstream`, `host`, `referrer`
///    (quotes removed); the message is the text alone (`open() "/x" failed (2: No such file or directory)`).
///    When the event has no severity (no PRI), it comes from the level; without a timestamp, from the date (local
///    time, like every stamp without a zone); without a PID, from the line.
/// 3. **Combined access log** (nginx's default `combined` format): fields `remote_addr`, `remote_user`, `request`,
///    `status`, `body_bytes_sent` (numbers), `http_referer`, `http_user_agent` (`-` values left out);
///    `@timestamp` from `[$time_local]` when the event has none. The message stays as it is.
enum NginxPreset {
    /// nginx variables that hold one integer.
    static let integerVariables: Set<String> = [
        "status", "body_bytes_sent", "bytes_sent", "request_length", "content_length", "connection",
        "connection_requests", "upstream_status", "upstream_response_length", "upstream_bytes_received",
        "upstream_bytes_sent", "remote_port", "server_port", "pid",
    ]
    /// nginx variables that hold one decimal number (seconds, ratios).
    static let floatVariables: Set<String> = [
        "request_time", "upstream_response_time", "upstream_connect_time", "upstream_header_time", "msec",
        "gzip_ratio",
    ]

    enum VariableKind { case integer, float }
    /// Both sets in one table: one hash per field instead of two (the preset types every field of every line).
    static let variableKinds: [String: VariableKind] =
        Dictionary(uniqueKeysWithValues: integerVariables.map { ($0, .integer) } + floatVariables.map { ($0, .float) })

    static func apply(to event: inout Event, assumeTimeZoneOffset: Int?) {
        var messageWasJSON = false
        if let first = event.message.utf8.first, first == UInt8(ascii: "{") || first == 0x20,
            let object = Template.jsonObject(in: event.message)
        {
            for (key, value) in object { event.fields[key] = value }
            messageWasJSON = true
        }
        if !event.fields.isEmpty { typeAccessFields(&event) }
        if messageWasJSON || (event.message.isEmpty && event.fields["request"] != nil) {
            let request = event.fields["request"]?.stringValue
            let status = event.fields["status"].flatMap(MacroString.text(of:))
            if request != nil || status != nil {
                event.message = [request, status].compactMap { $0 }.joined(separator: " ")
            }
            return
        }
        var message = event.message
        let recognised = message.withUTF8 { b in
            parseErrorLine(b, into: &event, assumeTimeZoneOffset: assumeTimeZoneOffset)
        }
        if !recognised {
            _ = message.withUTF8 { b in parseCombined(b, into: &event) }
        }
    }

    /// Types the well-known variables in `fields`; one pass, a new object only when something changes.
    static func typeAccessFields(_ event: inout Event) {
        var changed = false
        var out = JSONObject()
        for (key, value) in event.fields {
            guard case .string(let s) = value else {
                out.appendUnchecked(key, value)
                continue
            }
            let kind = variableKinds[key]
            if kind == .integer {
                changed = true
                if s.isEmpty || s == "-" { continue }
                out.appendUnchecked(key, Int64(s).map(JSONValue.int) ?? value)
            } else if kind == .float {
                changed = true
                if s.isEmpty || s == "-" { continue }
                if let d = Double(s), d.isFinite {
                    out.appendUnchecked(key, .double(d))
                    if key == "msec", d > 0, d < 9.2e9 {
                        event.timestamp = Timestamp(nanos: Int64((d * 1000).rounded()) * 1_000_000)
                    }
                } else {
                    out.appendUnchecked(key, value)
                }
            } else if key == "pipe", s == "p" || s == "." {
                changed = true
                out.appendUnchecked(key, .bool(s == "p"))
            } else {
                out.appendUnchecked(key, value)
            }
        }
        if changed { event.fields = out }
    }

    /// The keys nginx appends after an error message, in the order it writes them.
    static let contextKeys: [StaticString] = [
        "client", "server", "request", "subrequest", "upstream", "host", "referrer",
    ]

    /// `[DATE TIME ][[level] ][pid#tid: ][*cid ]text[, client: ..., server: ...]`; needs `[level]` or `*cid`.
    static func parseErrorLine(_ b: UnsafeBufferPointer<UInt8>, into event: inout Event, assumeTimeZoneOffset: Int?)
        -> Bool
    {
        var i = 0
        var stamp: (y: Int, mo: Int, d: Int, h: Int, mi: Int, s: Int)?
        if let dt = PresetScan.dateTime(b, 0, dateSeparator: UInt8(ascii: "/")), b.count > 19, b[19] == 0x20 {
            stamp = dt
            i = 20
        }
        var level: Range<Int>?
        if i < b.count, b[i] == UInt8(ascii: "[") {
            var j = i + 1
            while j < b.count, j - i <= 7, b[j] >= UInt8(ascii: "a"), b[j] <= UInt8(ascii: "z") { j += 1 }
            guard j > i + 1, j + 1 < b.count, b[j] == UInt8(ascii: "]"), b[j + 1] == 0x20 else { return false }
            level = (i + 1)..<j
            i = j + 2
        }
        var pid: Int64?
        var tid: Int64?
        if let p = PresetScan.number(b, i), p.end < b.count, b[p.end] == UInt8(ascii: "#"),
            let t = PresetScan.number(b, p.end + 1), PresetScan.has(b, t.end, ": ")
        {
            pid = p.value
            tid = t.value
            i = t.end + 2
        }
        var connection: Int64?
        if i < b.count, b[i] == UInt8(ascii: "*"), let c = PresetScan.number(b, i + 1), c.end < b.count,
            b[c.end] == 0x20
        {
            connection = c.value
            i = c.end + 1
        }
        guard level != nil || connection != nil else { return false }

        // The context starts at the last ", client: " (the message text itself may mention a client).
        var textEnd = b.count
        var k = b.count - 10
        while k >= i {
            if PresetScan.has(b, k, ", client: ") {
                textEnd = k
                break
            }
            k -= 1
        }
        var fields = event.fields
        if let level {
            let name = PresetScan.string(b, level)
            fields["level"] = .string(name)
            if event.severity == nil { event.severity = Severity(name: name) }
        }
        if let pid {
            fields["pid"] = .int(pid)
            if event.pid == nil { event.pid = String(pid) }
        }
        if let tid { fields["tid"] = .int(tid) }
        if let connection { fields["connection_id"] = .int(connection) }
        if textEnd < b.count { parseContext(b, from: textEnd + 2, into: &fields) }
        if let s = stamp, event.timestamp == nil {
            event.timestamp = Timestamp(
                year: s.y, month: s.mo, day: s.d, hour: s.h, minute: s.mi, second: s.s,
                offsetSeconds: PresetScan.offset(assumeTimeZoneOffset, event))
        }
        event.fields = fields
        event.message = PresetScan.string(b, i..<textEnd)
        return true
    }

    /// `key: value, key: "value", ...` from `start` to the end, keys from `contextKeys`. A value runs to the next
    /// `, KEY: ` of a known key; a quoted one to a `"` followed by that or the end.
    static func parseContext(_ b: UnsafeBufferPointer<UInt8>, from start: Int, into fields: inout JSONObject) {
        func key(at i: Int) -> (name: StaticString, valueStart: Int)? {
            for name in contextKeys where PresetScan.has(b, i, name) {
                let after = i + name.utf8CodeUnitCount
                if PresetScan.has(b, after, ": ") { return (name, after + 2) }
            }
            return nil
        }
        func isSeparator(_ i: Int) -> Bool { PresetScan.has(b, i, ", ") && key(at: i + 2) != nil }
        var i = start
        while i < b.count, let found = key(at: i) {
            let (name, v) = found
            var end = v
            var valueRange: Range<Int>
            if v < b.count, b[v] == UInt8(ascii: "\"") {
                var q = v + 1
                while q < b.count, !(b[q] == UInt8(ascii: "\"") && (q + 1 == b.count || isSeparator(q + 1))) {
                    q += 1
                }
                guard q < b.count else {
                    valueRange = v..<b.count  // unterminated quote: keep what is there
                    fields[name.description] = .string(PresetScan.string(b, valueRange))
                    return
                }
                valueRange = (v + 1)..<q
                end = q + 1
            } else {
                while end < b.count, !isSeparator(end) { end += 1 }
                valueRange = v..<end
            }
            fields[name.description] = .string(PresetScan.string(b, valueRange))
            guard end < b.count else { return }
            i = end + 2
        }
    }

    /// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
    /// "$http_user_agent"`, possibly followed by more; the referer and agent are optional (`common` format).
    static func parseCombined(_ b: UnsafeBufferPointer<UInt8>, into event: inout Event) -> Bool {
        var i = 0
        while i < b.count, b[i] != 0x20 { i += 1 }
        let addr = 0..<i
        guard i > 0, PresetScan.has(b, i, " - ") else { return false }
        i += 3
        let userStart = i
        while i < b.count, b[i] != 0x20 { i += 1 }
        let user = userStart..<i
        guard PresetScan.has(b, i, " ["), i + 29 <= b.count, b[i + 28] == UInt8(ascii: "]") else { return false }
        let time = Self.timeLocal(b, i + 2)
        i += 29
        guard PresetScan.has(b, i, " \"") else { return false }
        guard let request = quoted(b, i + 1) else { return false }
        i = request.upperBound + 1
        guard i < b.count, b[i] == 0x20, let status = PresetScan.number(b, i + 1), status.end < b.count,
            b[status.end] == 0x20, let bytes = PresetScan.number(b, status.end + 1)
        else { return false }
        i = bytes.end
        var fields = event.fields
        fields["remote_addr"] = .string(PresetScan.string(b, addr))
        if !(user.count == 1 && b[user.lowerBound] == UInt8(ascii: "-")) {
            fields["remote_user"] = .string(PresetScan.string(b, user))
        }
        fields["request"] = .string(PresetScan.string(b, request))
        fields["status"] = .int(status.value)
        fields["body_bytes_sent"] = .int(bytes.value)
        for name in ["http_referer", "http_user_agent"] {
            guard PresetScan.has(b, i, " \""), let value = quoted(b, i + 1) else { break }
            i = value.upperBound + 1
            if !(value.count == 1 && b[value.lowerBound] == UInt8(ascii: "-")) {
                fields[name] = .string(PresetScan.string(b, value))
            }
        }
        event.fields = fields
        if event.timestamp == nil, let time { event.timestamp = time }
        return true
    }

    /// The text between the quote at `i` and the next quote (nginx writes a quote inside as `\x22`).
    static func quoted(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Range<Int>? {
        guard i < b.count, b[i] == UInt8(ascii: "\"") else { return nil }
        var j = i + 1
        while j < b.count, b[j] != UInt8(ascii: "\"") { j += 1 }
        return j < b.count ? (i + 1)..<j : nil
    }

    static let months: [StaticString] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// `21/Nov/2026:16:28:34 +0000` at `i`.
    static func timeLocal(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Timestamp? {
        guard i + 26 <= b.count, let d = PresetScan.digits(b, i, 2),
            let mo = months.firstIndex(where: { PresetScan.has(b, i + 3, $0) }),
            let y = PresetScan.digits(b, i + 7, 4), let h = PresetScan.digits(b, i + 12, 2),
            let mi = PresetScan.digits(b, i + 15, 2), let s = PresetScan.digits(b, i + 18, 2),
            b[i + 20] == 0x20, b[i + 21] == UInt8(ascii: "+") || b[i + 21] == UInt8(ascii: "-"),
            let zh = PresetScan.digits(b, i + 22, 2), let zm = PresetScan.digits(b, i + 24, 2)
        else { return nil }
        let offset = (zh * 3600 + zm * 60) * (b[i + 21] == UInt8(ascii: "-") ? -1 : 1)
        return Timestamp(year: y, month: mo + 1, day: d, hour: h, minute: mi, second: s, offsetSeconds: offset)
    }
}
