import LogferryCore
import LogferryFormat

/// The per-source stage between a source and the journal: parse, template, envelope.
struct Ingest: Sendable {
    let sourceName: String
    let nodeName: String
    let maxMessageBytes: Int
    let parser: SyslogParser
    let template: Template

    /// Journal payloads for one batch, in order. Pure CPU work: one parse and one render per message.
    func payloads(_ batch: [RawMessage]) -> [[UInt8]] {
        // The local zone offset (for RFC 3164 stamps without one) once per batch, not once per message.
        let offset = batch.first.map { ParseContext.localTimeZoneOffset(at: $0.receivedAt) } ?? 0
        return batch.map { raw in
            let context = ParseContext(
                source: sourceName, receivedAt: raw.receivedAt, assumeTimeZoneOffset: offset,
                maxMessageBytes: maxMessageBytes)
            var event = parser.parse(raw.bytes, context: context)
            if let file = raw.file { event.file = file }
            if let offset = raw.offset { event.offset = offset }
            // Envelope header and document in one buffer: no second copy of every document.
            var writer = JSONWriter(capacity: 256 + raw.bytes.count)
            SpooledEvent.appendLocalHeader(to: &writer.bytes)
            template.render(event, nodeName: nodeName, assumeTimeZoneOffset: offset, to: &writer)
            return writer.bytes
        }
    }
}

enum Pipeline {
    /// Compiles every configured template; a template error is reported at its line.
    static func compileTemplates(_ cfg: NodeConfig) throws(ConfigErrors) -> [String: Template] {
        var out: [String: Template] = [:]
        var problems: [ConfigProblem] = []
        for t in cfg.templates {
            /// The line of the key an error's `part` names (`fields.NAME...`, `regex`), else the template's.
            func line(of part: String) -> Int {
                if part == "regex" { return t.regexLine }
                if part.hasPrefix("fields.") {
                    let name = part.dropFirst("fields.".count).split(separator: ".").first.map(String.init) ?? ""
                    if let f = t.fields.first(where: { $0.name == name }) { return f.line }
                    if let f = t.fieldTypes.first(where: { $0.name == name }) { return f.line }
                }
                return t.origin.line
            }
            do throws(TemplateError) {
                let types = try t.fieldTypes.map { f throws(TemplateError) in
                    (f.name, try FieldConversion(typeName: f.type, defaultValue: f.defaultValue, field: f.name))
                }
                let spec = TemplateSpec(
                    pattern: t.pattern, regex: t.regex, keyValue: t.keyValue,
                    fields: t.fields.map { ($0.name, $0.value) },
                    fieldTypes: types, jsonBody: t.jsonBody, preset: t.preset)
                out[t.name] = try Template(spec: spec)
            } catch {
                problems.append(
                    ConfigProblem(
                        file: t.origin.file, line: line(of: error.part), message: "template '\(t.name)': \(error)",
                        fix: "see docs/PARSING.md for the template syntax"))
            }
        }
        if !problems.isEmpty { throw ConfigErrors(problems) }
        return out
    }

    static func ingest(for source: SourceConfig, cfg: NodeConfig, templates: [String: Template]) -> Ingest {
        Ingest(
            sourceName: source.name, nodeName: cfg.node.name, maxMessageBytes: source.maxMessageBytes,
            parser: SyslogParser(format: InputFormat(rawValue: source.format.rawValue) ?? .auto),
            template: (source.template.flatMap { templates[$0] } ?? Template.default).withPreset(source.preset))
    }
}
