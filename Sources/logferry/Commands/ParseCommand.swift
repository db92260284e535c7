import ArgumentParser
import Glibc
import LogferryCore
import LogferryFormat

struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Read raw messages on stdin and print the JSON document each becomes, one per line.",
        discussion: """
            Prints exactly what a source with the same settings would journal. A message that does not parse still
            gives one line, with the raw text kept and a parse_error field; the exit code stays 0.
            Example: echo '<13>Nov 21 12:00:00 web app[1]: hi' | logferry parse
            """
    )

    @Option(help: "Message format: \(InputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: String = "auto"

    @Option(
        help:
            "How stdin is split into messages: \(Framing.allCases.map(\.rawValue).joined(separator: ", ")) (none = all of stdin is one message)."
    )
    var framing: String = "lines"

    @Option(help: "Field extraction pattern, e.g. '$date $hour _ _ _ \\[$process\\] _ $ip'.")
    var pattern: String?

    @Option(name: .customLong("field"), help: "A static field NAME=VALUE (macros allowed); repeatable.")
    var fields: [String] = []

    @Flag(name: .customLong("json-body"), help: "A message body that is a JSON object lands under fields.")
    var jsonBody = false

    @Option(help: "A regex with named groups; the groups land in fields.")
    var regex: String?

    @Flag(name: .customLong("kv"), help: "key=value pairs in the message land in fields.")
    var keyValue = false

    @Option(help: "A source preset applied before the template: \(Preset.names).")
    var preset: String?

    @Option(help: "Take the template from this config (with --template).")
    var config: String?

    @Option(help: "The template's name in --config.")
    var template: String?

    @Option(help: "Source name stamped on events.")
    var source: String = "stdin"

    @Option(help: "Longest message; longer ones are cut and flagged.")
    var maxMessageBytes: Int = ParseContext.defaultMaxMessageBytes

    func run() throws {
        guard let inputFormat = InputFormat(rawValue: format) else {
            throw UserError(
                description:
                    "--format '\(format)' is unknown; use one of: \(InputFormat.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard let framingMode = Framing(rawValue: framing) else {
            throw UserError(
                description:
                    "--framing '\(framing)' is unknown; use one of: \(Framing.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        var nodeName = NodeSection.hostname()
        var tmpl: Template
        if let config {
            guard let template else { throw UserError(description: "--config needs --template NAME") }
            let cfg: NodeConfig
            do { cfg = try ConfigLoader.load(path: config) } catch {
                throw UserError(description: "config has \(error.problems.count) problem(s):\n" + error.description)
            }
            nodeName = cfg.node.name
            let compiled: [String: Template]
            do { compiled = try Pipeline.compileTemplates(cfg) } catch {
                throw UserError(description: error.description)
            }
            guard let t = compiled[template] else {
                throw UserError(
                    description:
                        "template '\(template)' is not defined in \(config); defined: \(compiled.keys.sorted().joined(separator: ", "))"
                )
            }
            tmpl = t
        } else {
            var spec = TemplateSpec(pattern: pattern, regex: regex, keyValue: keyValue, fields: [], jsonBody: jsonBody)
            for f in fields {
                guard let eq = f.firstIndex(of: "="), eq != f.startIndex else {
                    throw UserError(description: "--field '\(f)' is not NAME=VALUE")
                }
                spec.fields.append((String(f[..<eq]), String(f[f.index(after: eq)...])))
            }
            do { tmpl = try Template(spec: spec) } catch { throw UserError(description: "template: \(error)") }
        }
        if let preset {
            guard let p = Preset(rawValue: preset) else {
                throw UserError(description: "--preset '\(preset)' is unknown; use one of: \(Preset.names)")
            }
            tmpl = tmpl.withPreset(p)
        }
        let parser = SyslogParser(format: inputFormat)
        var splitter = FrameSplitter(framing: framingMode, maxFrameBytes: max(maxMessageBytes, 1))
        // Documents are rendered straight into one reused buffer (no array per line) and written in 64 KiB
        // blocks; the receive time (and the zone offset with it) is read once per block read, as the stream
        // sources do. So a bench of this command measures the parser and the template, not the command.
        var out = JSONWriter(capacity: 1 << 17)
        func emit(_ frames: [Frame]) throws {
            guard !frames.isEmpty else { return }
            let ctx = ParseContext(source: source, receivedAt: Timestamp.now(), maxMessageBytes: maxMessageBytes)
            for frame in frames {
                tmpl.render(parser.parse(frame, context: ctx), nodeName: nodeName, to: &out)
                out.bytes.append(0x0A)
                if out.bytes.count >= 1 << 16 {
                    try writeAll(1, out.bytes, path: "stdout")
                    out.bytes.removeAll(keepingCapacity: true)
                }
            }
        }
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            try emit(splitter.feed(buf[0..<n]))
        }
        try emit(splitter.finish())
        try writeAll(1, out.bytes, path: "stdout")
    }
}
