import LogferryCore
import Synchronization

/// A compiled template: what a source does to each parsed event before it is journaled, and how the event is
/// rendered as the JSON document of SPEC.md §3.
///
/// Steps, in order, each adding to `fields` (a later step overwrites an earlier one's key):
/// 0. `preset`: the program-specific knowledge of `Preset` (may also set timestamp, severity, program, message).
/// 1. `jsonBody`: a message that is a JSON object adds its keys, JSON types kept; the message stays as it is.
/// 2. `keyValue`: the message's `key=value` pairs (see `KeyValueExtractor`), as strings.
/// 3. `pattern`: captures from the message (see `FieldPattern`); a message that does not match adds nothing.
/// 4. `regex`: the named groups of the first match (see `RegexExtractor`); no match adds nothing.
/// 5. `fields`: the configured fields, macros expanded against the event as steps 0–4 left it. A value that is
///    exactly one macro keeps the type of what it refers to (`${fields.status}` stays a number) and is left out
///    when there is no value; a value mixing text and macros is a string, with missing macros expanding to "".
///    A field with a `FieldConversion` is then converted to its type; when it has no value or does not convert,
///    its default is written, or it is left out (a value that does not convert is counted).
/// 6. `fieldTypes` naming no configured field convert that field as steps 0–4 left it, in place, the same way.
public struct Template: Sendable {
    public private(set) var spec: TemplateSpec
    public let pattern: FieldPattern?
    public let regex: RegexExtractor?
    /// Shared by every copy of this template (`withPreset` included).
    public let counters: TemplateCounters
    let fields: [(name: String, value: MacroString, conversion: Conversion?)]
    let inPlace: [(name: String, conversion: Conversion)]

    /// A `FieldConversion` with its default already converted.
    struct Conversion: Sendable {
        var type: FieldType
        var defaultValue: JSONValue?
    }

    /// No pattern, no fields, no JSON body: the event as parsed.
    public static let `default` = Template()

    private init() {
        spec = TemplateSpec()
        pattern = nil
        regex = nil
        counters = TemplateCounters()
        fields = []
        inPlace = []
    }

    public init(spec: TemplateSpec, counters: TemplateCounters = TemplateCounters()) throws(TemplateError) {
        self.spec = spec
        self.counters = counters
        pattern = try spec.pattern.map { p throws(TemplateError) in try FieldPattern(p, part: "pattern") }
        regex = try spec.regex.map { r throws(TemplateError) in try RegexExtractor(r, part: "regex") }
        var conversions: [(name: String, conversion: Conversion)] = []
        for (name, c) in spec.fieldTypes {
            guard !conversions.contains(where: { $0.name == name }) else {
                throw TemplateError(
                    message: "the type of field \(name) is given twice", column: 1, part: "fields.\(name)")
            }
            conversions.append((name, try Self.compile(c, field: name)))
        }
        var compiled: [(name: String, value: MacroString, conversion: Conversion?)] = []
        for (name, value) in spec.fields {
            guard !name.isEmpty else { throw TemplateError(message: "a field needs a name", column: 1, part: "fields") }
            guard !compiled.contains(where: { $0.name == name }) else {
                throw TemplateError(message: "field \(name) is defined twice", column: 1, part: "fields.\(name)")
            }
            compiled.append(
                (
                    name, try MacroString(value, part: "fields.\(name)"),
                    conversions.first { $0.name == name }?.conversion
                ))
        }
        fields = compiled
        inPlace = conversions.filter { c in !compiled.contains { $0.name == c.name } }
    }

    static func compile(_ c: FieldConversion, field: String) throws(TemplateError) -> Conversion {
        guard let text = c.defaultValue else { return Conversion(type: c.type, defaultValue: nil) }
        guard let value = c.type.convert(.string(text)) else {
            throw TemplateError(
                message: "default \"\(text)\" is not a valid \(c.type.rawValue)", column: 1,
                part: "fields.\(field).default"
            )
        }
        return Conversion(type: c.type, defaultValue: value)
    }

    /// This template with `preset` applied first (a source's `preset:`); the compiled parts are shared.
    public func withPreset(_ preset: Preset?) -> Template {
        var copy = self
        copy.spec.preset = preset
        return copy
    }

    /// Whether `apply` changes anything: a template with no steps renders the event as parsed.
    var hasSteps: Bool {
        spec.preset != nil || spec.jsonBody || spec.keyValue || pattern != nil || regex != nil || !fields.isEmpty
            || !inPlace.isEmpty
    }

    /// The event after the template's steps (what `render` writes).
    ///
    /// - Parameter assumeTimeZoneOffset: for a preset reading stamps without a zone; `nil`: this machine's offset at
    ///   the event's receive time.
    public func apply(_ event: Event, nodeName: String, assumeTimeZoneOffset: Int? = nil) -> Event {
        var event = event
        if let preset = spec.preset { preset.apply(to: &event, assumeTimeZoneOffset: assumeTimeZoneOffset) }
        if spec.jsonBody, let object = Self.jsonObject(in: event.message) {
            for (key, value) in object { event.fields[key] = value }
        }
        if spec.keyValue {
            for (name, value) in KeyValueExtractor.extract(event.message) { event.fields[name] = .string(value) }
        }
        if let pattern, let captures = pattern.match(event.message) {
            for (name, value) in captures { event.fields[name] = .string(value) }
        }
        if let regex, let captures = regex.match(event.message) {
            for (name, value) in captures { event.fields[name] = .string(value) }
        }
        if !fields.isEmpty {
            let source = event
            for (name, macro, conversion) in fields {
                var value: JSONValue?
                if let single = macro.singleMacro {
                    if case .field(let ref) = single {
                        value = source.fields[ref].flatMap { $0 == .null ? nil : $0 }
                    } else {
                        value = MacroString.value(of: single, in: source, nodeName: nodeName).map { .string($0) }
                    }
                } else {
                    value = .string(macro.expand(source, nodeName: nodeName))
                }
                if let conversion { value = convert(value, conversion) }
                event.fields[name] = value
            }
        }
        for (name, conversion) in inPlace {
            event.fields[name] = convert(event.fields[name].flatMap { $0 == .null ? nil : $0 }, conversion)
        }
        return event
    }

    private func convert(_ value: JSONValue?, _ conversion: Conversion) -> JSONValue? {
        guard let value else { return conversion.defaultValue }
        if let converted = conversion.type.convert(value) { return converted }
        counters.conversionFailures.add(1, ordering: .relaxed)
        return conversion.defaultValue
    }

    /// The event's JSON document (SPEC.md §3), compact, without a trailing newline.
    public func render(_ event: Event, nodeName: String, assumeTimeZoneOffset: Int? = nil) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + event.message.utf8.count)
        render(event, nodeName: nodeName, assumeTimeZoneOffset: assumeTimeZoneOffset, to: &w)
        return w.bytes
    }

    /// Appends the document to `writer`, so a batch can reuse one buffer.
    public func render(
        _ event: Event, nodeName: String, assumeTimeZoneOffset: Int? = nil, to writer: inout JSONWriter
    ) {
        if hasSteps {
            EventDocument.write(
                apply(event, nodeName: nodeName, assumeTimeZoneOffset: assumeTimeZoneOffset), nodeName: nodeName,
                to: &writer)
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

/// Counters of a template, read by metrics and tests.
public final class TemplateCounters: Sendable {
    /// Typed field values that did not convert to their type (then the default was written, or the field left out).
    public let conversionFailures = Atomic<Int>(0)

    public init() {}
}
