import LogferryCore

// `format: json`: the whole message is one JSON object, as structured loggers write it.

extension SyslogParser {
    static let jsonOptions = JSONParser.Options(maxDepth: 64, allowHexEscapes: true)

    /// Every key goes to `fields`, except the well-known ones that fill event properties, which are moved there
    /// (not copied) so the document does not say the same thing twice. A well-known key whose value has the
    /// wrong type or does not parse stays in `fields`. When `fallbackToRaw` (format `auto`), a line that is not
    /// a JSON object is a plain message, not an error.
    func parseJSON(_ b: UnsafeBufferPointer<UInt8>, context: ParseContext, fallbackToRaw: Bool) -> Event {
        let object: JSONObject
        do {
            guard case .object(let o) = try JSONParser.parse(b, options: Self.jsonOptions) else {
                if fallbackToRaw { return rawEvent(b, context) }
                return failure(b, "not a JSON object", context)
            }
            object = o
        } catch {
            if fallbackToRaw { return rawEvent(b, context) }
            return failure(b, error.description, context)
        }
        var fields = object
        var event = Event(message: "", source: context.source, receivedAt: context.receivedAt)

        func take<T>(_ keys: [String], _ convert: (JSONValue) -> T?) -> T? {
            for key in keys {
                if let raw = fields[key], let value = convert(raw) {
                    fields[key] = nil
                    return value
                }
            }
            return nil
        }
        event.message = take(["message", "msg"]) { $0.stringValue } ?? ""
        event.host = take(["host"]) { $0.stringValue }
        event.program = take(["program"]) { $0.stringValue }
        event.pid = take(["pid"]) { v -> String? in
            switch v {
            case .int(let i): return String(i)
            case .string(let s): return s
            default: return nil
            }
        }
        event.severity = take(["severity", "level"]) { v -> Severity? in
            switch v {
            case .string(let s): return Severity(name: s)
            case .int(let i): return Severity(rawValue: Int(i))
            default: return nil
            }
        }
        event.facility = take(["facility"]) { v -> Facility? in
            switch v {
            case .string(let s): return Facility(name: s)
            case .int(let i): return Facility(rawValue: Int(i))
            default: return nil
            }
        }
        event.timestamp = take(["@timestamp", "time", "timestamp"]) { v -> Timestamp? in
            guard let s = v.stringValue else { return nil }
            return TimestampParser.parseRFC3339(s, defaultOffset: context.assumeTimeZoneOffset)
        }
        event.fields = fields
        return event
    }

    func rawEvent(_ b: UnsafeBufferPointer<UInt8>, _ context: ParseContext) -> Event {
        Event(message: SyslogParser.decode(b), source: context.source, receivedAt: context.receivedAt)
    }
}
