import LogferryCore

/// A compiled template: what a source does to each parsed event before it is journaled, and how the event is
/// rendered as the JSON document of SPEC.md §3.
///
/// Steps, in order, each adding to `fields` (a later step overwrites an earlier one's key):
/// 1. `jsonBody`: a message that is a JSON object adds its keys, JSON types kept; the message stays as it is.
/// 2. `pattern`: captures from the message (see `FieldPattern`); a message that does not match adds nothing.
/// 3. `fields`: the configured fields, macros expanded against the event as steps 1–2 left it. A value that is
///    exactly one macro keeps the type of what it refers to (`${fields.status}` stays a number) and is left out
///    when there is no value; a value mixing text and macros is a string, with missing macros expanding to "".
public struct Template: Sendable {
    public let spec: TemplateSpec
    public let pattern: FieldPattern?
    let fields: [(name: String, value: MacroString)]

    /// No pattern, no fields, no JSON body: the event as parsed.
    public static let `default` = Template()

    private init() {
        spec = TemplateSpec()
        pattern = nil
        fields = []
    }

    public init(spec: TemplateSpec) throws(TemplateError) {
        self.spec = spec
        if let p = spec.pattern {
            pattern = try FieldPattern(p, part: "pattern")
        } else {
            pattern = nil
        }
        var compiled: [(name: String, value: MacroString)] = []
        for (name, value) in spec.fields {
            guard !name.isEmpty else { throw TemplateError(message: "a field needs a name", column: 1, part: "fields") }
            guard !compiled.contains(where: { $0.name == name }) else {
                throw TemplateError(message: "field \(name) is defined twice", column: 1, part: "fields.\(name)")
            }
            compiled.append((name, try MacroString(value, part: "fields.\(name)")))
        }
        fields = compiled
    }

    /// The event after the template's steps (what `render` writes).
    public func apply(_ event: Event, nodeName: String) -> Event {
        var event = event
        if spec.jsonBody, let object = Self.jsonObject(in: event.message) {
            for (key, value) in object { event.fields[key] = value }
        }
        if let pattern, let captures = pattern.match(event.message) {
            for (name, value) in captures { event.fields[name] = .string(value) }
        }
        if !fields.isEmpty {
            let source = event
            for (name, macro) in fields {
                if let single = macro.singleMacro {
                    if case .field(let ref) = single {
                        event.fields[name] = source.fields[ref].flatMap { $0 == .null ? nil : $0 }
                    } else {
                        event.fields[name] = MacroString.value(of: single, in: source, nodeName: nodeName).map {
                            .string($0)
                        }
                    }
                } else {
                    event.fields[name] = .string(macro.expand(source, nodeName: nodeName))
                }
            }
        }
        return event
    }

    /// The event's JSON document (SPEC.md §3), compact, without a trailing newline.
    public func render(_ event: Event, nodeName: String) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + event.message.utf8.count)
        render(event, nodeName: nodeName, to: &w)
        return w.bytes
    }

    /// Appends the document to `writer`, so a batch can reuse one buffer.
    public func render(_ event: Event, nodeName: String, to writer: inout JSONWriter) {
        if spec.jsonBody || pattern != nil || !fields.isEmpty {
            EventDocument.write(apply(event, nodeName: nodeName), nodeName: nodeName, to: &writer)
        } else {
            EventDocument.write(event, nodeName: nodeName, to: &writer)
        }
    }

    /// The message as a JSON object, if it is one (leading spaces allowed; nginx's `\xHH` escapes accepted).
    static func jsonObject(in message: String) -> JSONObject? {
        var message = message
        return message.withUTF8 { buf -> JSONObject? in
            var i = 0
            while i < buf.count, buf[i] == 0x20 || buf[i] == 0x09 { i += 1 }
            guard i < buf.count, buf[i] == UInt8(ascii: "{") else { return nil }
            let body = UnsafeBufferPointer(rebasing: buf[i...])
            guard case .object(let o)? = try? JSONParser.parse(body, options: SyslogParser.jsonOptions) else {
                return nil
            }
            return o
        }
    }
}
