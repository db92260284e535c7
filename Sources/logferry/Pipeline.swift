import LogferryCore
import LogferryFormat

/// The per-source stage between a source and the journal: parse, template, envelope.
struct Ingest: Sendable {
    let sourceName: String
    let nodeName: String
    let format: InputFormat
    let parser: SyslogParser
    let template: Template

    /// Journal payloads for one batch, in order. Pure CPU work: one parse and one render per message.
    func payloads(_ batch: [RawMessage]) -> [[UInt8]] {
        batch.map { raw in
            var event = parser.parse(raw.bytes, context: context(for: raw))
            if let file = raw.file { event.file = file }
            if let offset = raw.offset { event.offset = offset }
            return SpooledEvent(origin: nil, document: template.render(event, nodeName: nodeName)).encoded()
        }
    }

    private func context(for raw: RawMessage) -> ParseContext {
        var c = ParseContext(source: sourceName, receivedAt: raw.receivedAt)
        c.format = format
        return c
    }
}

enum Pipeline {
    /// Compiles every configured template; a template error is reported at its line.
    static func compileTemplates(_ cfg: NodeConfig) throws(ConfigErrors) -> [String: Template] {
        var out: [String: Template] = [:]
        var problems: [ConfigProblem] = []
        for t in cfg.templates {
            let spec = TemplateSpec(pattern: t.pattern, fields: t.fields.map { ($0.name, $0.value) }, jsonBody: t.jsonBody)
            do {
                out[t.name] = try Template(spec: spec)
            } catch {
                problems.append(
                    ConfigProblem(file: t.origin.file, line: t.origin.line, message: "template '\(t.name)': \(error)", fix: "see docs/CONFIG.md for the template syntax"))
            }
        }
        if !problems.isEmpty { throw ConfigErrors(problems) }
        return out
    }

    static func ingest(for source: SourceConfig, cfg: NodeConfig, templates: [String: Template]) -> Ingest {
        Ingest(
            sourceName: source.name, nodeName: cfg.node.name, format: InputFormat(rawValue: source.format.rawValue) ?? .auto,
            parser: SyslogParser(), template: source.template.flatMap { templates[$0] } ?? Template.default)
    }
}
