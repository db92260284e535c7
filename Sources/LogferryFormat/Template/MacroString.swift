import LogferryCore

/// A string with syslog-ng style macros, compiled once: `/var/log/central/${HOST}/${PROGRAM}.log`.
///
/// Macros: `${HOST} ${PROGRAM} ${PID} ${MESSAGE} ${FACILITY} ${SEVERITY} ${ISODATE} ${UNIXTIME} ${SOURCE}
/// ${FILE}`, `${fields.NAME}`, and for file paths `${YEAR} ${MONTH} ${DAY} ${HOUR}` (UTC, of `@timestamp`).
/// `$$` is a literal `$`; a `$` not followed by `{` is literal too. An unknown macro is a compile error.
public struct MacroString: Sendable, Equatable {
    public struct Options: Sendable, Equatable {
        /// What a macro without a value expands to (no program, no such field).
        public var missing: String
        /// For file paths: in expanded values (never in the literal text), '/' and control characters become
        /// '_', ".." becomes "__", a value of "." becomes "_", and an empty value counts as missing — so an
        /// event can never choose where outside its directory a file goes.
        public var sanitizeForPath: Bool

        public init(missing: String = "", sanitizeForPath: Bool = false) {
            self.missing = missing
            self.sanitizeForPath = sanitizeForPath
        }

        /// The options a file destination wants: `missing` = "unknown", sanitized.
        public static let path = Options(missing: "unknown", sanitizeForPath: true)
    }

    public enum Macro: Sendable, Equatable {
        case host, program, pid, message, facility, severity, isodate, unixtime, source, file
        case year, month, day, hour
        case field(String)
    }

    enum Part: Sendable, Equatable {
        case literal(String)
        case macro(Macro)
    }

    public let text: String
    public let options: Options
    let parts: [Part]

    static let names: [(String, Macro)] = [
        ("HOST", .host), ("PROGRAM", .program), ("PID", .pid), ("MESSAGE", .message), ("FACILITY", .facility),
        ("SEVERITY", .severity), ("ISODATE", .isodate), ("UNIXTIME", .unixtime), ("SOURCE", .source),
        ("FILE", .file), ("YEAR", .year), ("MONTH", .month), ("DAY", .day), ("HOUR", .hour),
    ]

    /// The macro names accepted, for help texts and error messages.
    public static var macroNames: [String] { names.map { "${\($0.0)}" } + ["${fields.NAME}"] }

    public init(_ text: String, options: Options = Options(), part: String = "value") throws(TemplateError) {
        self.text = text
        self.options = options
        var parts: [Part] = []
        var literal = ""
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "$", i + 1 < chars.count, chars[i + 1] == "$" {
                literal.append("$")
                i += 2
                continue
            }
            guard c == "$", i + 1 < chars.count, chars[i + 1] == "{" else {
                literal.append(c)
                i += 1
                continue
            }
            guard let close = chars[(i + 2)...].firstIndex(of: "}") else {
                throw TemplateError(
                    message: "'${' is not closed by '}' (write $$ for a literal $)", column: i + 1, part: part)
            }
            let name = String(chars[(i + 2)..<close])
            let macro: Macro
            if let m = Self.names.first(where: { $0.0 == name })?.1 {
                macro = m
            } else if name.hasPrefix("fields."), name.count > 7 {
                macro = .field(String(name.dropFirst(7)))
            } else {
                let known = Self.macroNames.joined(separator: " ")
                throw TemplateError(message: "unknown macro ${\(name)}; known: \(known)", column: i + 1, part: part)
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
            parts.append(.macro(macro))
            i = close + 1
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// The top-level members of an event document that `expand(document:)` reads, so a caller can build only those
    /// (`JSONParser.parseObject(_:keeping:)`) instead of the whole document.
    public var documentKeys: Set<String> {
        var keys: Set<String> = []
        for case .macro(let m) in parts { keys.insert(Self.documentKey(of: m)) }
        return keys
    }

    static func documentKey(of macro: Macro) -> String {
        switch macro {
        case .host: "host"
        case .program: "program"
        case .pid: "pid"
        case .message: "message"
        case .facility: "facility"
        case .severity: "severity"
        case .isodate, .unixtime, .year, .month, .day, .hour: "@timestamp"
        case .source: "source"
        case .file: "file"
        case .field: "fields"
        }
    }

    /// Whether the string has no macros (its expansion is always `text` with `$$` unescaped).
    public var isConstant: Bool { !parts.contains { if case .macro = $0 { true } else { false } } }

    /// The macro when the whole string is exactly one macro (a template field then keeps the value's JSON type).
    public var singleMacro: Macro? {
        if parts.count == 1, case .macro(let m) = parts[0] { return m }
        return nil
    }

    public func expand(_ event: Event, nodeName: String) -> String {
        expand { Self.value(of: $0, in: event, nodeName: nodeName) }
    }

    /// Expands against a rendered event document (SPEC.md §3), e.g. as read back from the journal: HOST is
    /// `host`, PROGRAM `program`, ISODATE `@timestamp`, `fields.NAME` is `fields` → NAME, and so on.
    public func expand(document: JSONObject) -> String {
        expand { Self.value(of: $0, in: document) }
    }

    private func expand(_ lookup: (Macro) -> String?) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .macro(let m):
                var value = lookup(m)
                if options.sanitizeForPath, value?.isEmpty == true { value = nil }
                let text = value ?? options.missing
                out += options.sanitizeForPath ? Self.sanitize(text) : text
            }
        }
        return out
    }

    static func sanitize(_ value: String) -> String {
        if value == "." { return "_" }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count)
        for c in value.utf8 {
            if c == UInt8(ascii: "/") || c < 0x20 || c == 0x7F {
                bytes.append(UInt8(ascii: "_"))
            } else if c == UInt8(ascii: "."), bytes.last == UInt8(ascii: ".") {
                bytes[bytes.count - 1] = UInt8(ascii: "_")
                bytes.append(UInt8(ascii: "_"))
            } else {
                bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The value of a macro for an event; nil when the event has none.
    public static func value(of macro: Macro, in event: Event, nodeName: String) -> String? {
        switch macro {
        case .host: return event.host ?? nodeName
        case .program: return event.program
        case .pid: return event.pid
        case .message: return event.message
        case .facility: return event.facility?.name
        case .severity: return event.severity?.name
        case .isodate: return (event.timestamp ?? event.receivedAt).iso8601
        case .unixtime: return String((event.timestamp ?? event.receivedAt).seconds)
        case .source: return event.source.isEmpty ? nil : event.source
        case .file: return event.file
        case .year, .month, .day, .hour: return datePart(macro, event.timestamp ?? event.receivedAt)
        case .field(let name): return event.fields[name].flatMap(text(of:))
        }
    }

    /// The value of a macro in an event document; nil when the document has none.
    public static func value(of macro: Macro, in document: JSONObject) -> String? {
        func string(_ key: String) -> String? { document[key].flatMap(text(of:)) }
        switch macro {
        case .host: return string("host")
        case .program: return string("program")
        case .pid: return string("pid")
        case .message: return string("message")
        case .facility: return string("facility")
        case .severity: return string("severity")
        case .isodate: return string("@timestamp")
        case .source: return string("source")
        case .file: return string("file")
        case .unixtime, .year, .month, .day, .hour:
            guard let iso = document["@timestamp"]?.stringValue, let ts = TimestampParser.parseRFC3339(iso) else {
                return nil
            }
            return macro == .unixtime ? String(ts.seconds) : datePart(macro, ts)
        case .field(let name): return document["fields"]?[name].flatMap(text(of:))
        }
    }

    /// Strings as they are, numbers and booleans as written in JSON, objects and arrays as compact JSON; null is
    /// no value.
    static func text(of value: JSONValue) -> String? {
        switch value {
        case .null: return nil
        case .string(let s): return s
        default: return JSONWriter.renderString(value)
        }
    }

    private static func datePart(_ macro: Macro, _ ts: Timestamp) -> String {
        let secs = ts.seconds
        var days = Int(secs / 86400)
        var rem = Int(secs % 86400)
        if rem < 0 {
            rem += 86400
            days -= 1
        }
        let (y, m, d) = Timestamp.civilFromDays(days)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        switch macro {
        case .year: return String(y)
        case .month: return two(m)
        case .day: return two(d)
        default: return two(rem / 3600)
        }
    }
}
