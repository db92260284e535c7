import LogferryCore
import LogferryFormat

/// One fuzz input through every parser that takes untrusted bytes, checking what must hold for every input:
/// nothing traps (a trap is the fuzzer's finding by itself), and every event renders as exactly one valid JSON
/// document (strict RFC 8259, valid UTF-8, one line, no repeated key) that says `raw` and `parse_error` when the
/// input did not parse. `check` returns a description of the first property broken, or nil.
///
/// The first byte chooses what the rest is fed to (`Mode`), the second the variant (format, framing, template,
/// size limit), so one libFuzzer target covers all of them. bench/fuzz.sh runs it under libFuzzer; the corpus
/// replay test in LogferryFormatTests runs every file of Tests/Fuzz/corpus through it in `swift test`.
public enum FuzzHarness {
    public enum Mode: UInt8, CaseIterable, Sendable {
        /// The bytes as one message: `SyslogParser` in the chosen format, then a template, then the document.
        case parse = 0
        /// The bytes as a stream: `FrameSplitter` fed in random chunks must cut the same frames as when fed at
        /// once; each frame is then parsed and rendered.
        case frames
        /// `pattern NUL message`: a `FieldPattern` (and a `MacroString`) compiled from the first part, applied to
        /// the message parsed from the second.
        case pattern
        /// A filter expression: compiled, and if it compiles, evaluated against a few documents.
        case filter
        /// A JSON body (nginx `\xHH` escapes allowed): parsed, written back, which must round-trip, and converted
        /// by every field type.
        case json
        /// A document as the journal holds it, read by a destination's selector.
        case document
    }

    /// The node name documents are rendered with.
    static let nodeName = "fuzz-node"
    /// 2026-11-21T12:00:05Z.
    static let receivedAt = Timestamp(year: 2026, month: 11, day: 21, hour: 12, minute: 0, second: 5)!

    public static func check(_ data: [UInt8]) -> String? {
        data.withUnsafeBufferPointer { check($0) }
    }

    public static func check(_ data: UnsafeBufferPointer<UInt8>) -> String? {
        guard data.count >= 2 else { return nil }
        let variant = data[1]
        let body = UnsafeBufferPointer(rebasing: data[2...])
        switch Mode(rawValue: data[0] % UInt8(Mode.allCases.count))! {
        case .parse: return checkParse(body, variant: variant)
        case .frames: return checkFrames(body, variant: variant)
        case .pattern: return checkPattern(body, variant: variant)
        case .filter: return checkFilter(body, variant: variant)
        case .json: return checkJSON(body, variant: variant)
        case .document: return checkDocumentSelector(body)
        }
    }

    // MARK: - Modes

    static func context(limit: Int) -> ParseContext {
        ParseContext(source: "fuzz", receivedAt: receivedAt, assumeTimeZoneOffset: 3600, maxMessageBytes: limit)
    }

    /// Small limits exercise truncation on character boundaries; 0 is no limit.
    static func limit(_ variant: UInt8) -> Int {
        switch variant >> 6 {
        case 0: return ParseContext.defaultMaxMessageBytes
        case 1: return Int(variant & 0x1F) + 1
        case 2: return 0
        default: return 1024
        }
    }

    static func checkParse(_ b: UnsafeBufferPointer<UInt8>, variant: UInt8) -> String? {
        let format = InputFormat.allCases[Int(variant) % InputFormat.allCases.count]
        let template = templates[Int(variant >> 3) % templates.count]
        let ctx = context(limit: limit(variant))
        let event = SyslogParser(format: format).parse(buffer: b, context: ctx)
        if let problem = checkEvent(event, input: b, limit: ctx.maxMessageBytes) {
            return "format \(format): \(problem)"
        }
        if let problem = checkRendered(event, template: template) { return "format \(format): \(problem)" }
        return nil
    }

    static func checkFrames(_ b: UnsafeBufferPointer<UInt8>, variant: UInt8) -> String? {
        let framing = Framing.allCases[Int(variant) % Framing.allCases.count]
        let maxFrame = variant & 0x80 != 0 ? Int(variant >> 2 & 0x1F) + 1 : ParseContext.defaultMaxMessageBytes
        var whole = FrameSplitter(framing: framing, maxFrameBytes: maxFrame)
        var expected = whole.feed(buffer: b)
        expected += whole.finish()
        // The same stream in pseudo-random chunks (seeded by the input, so a finding replays).
        var rng = SplitMix(seed: UInt64(b.count) &* 0x9E37 ^ UInt64(variant))
        var chunked = FrameSplitter(framing: framing, maxFrameBytes: maxFrame)
        var frames: [Frame] = []
        var i = 0
        while i < b.count {
            let n = min(b.count - i, 1 + Int(rng.next() % (rng.next() % 2 == 0 ? 4 : 300)))
            frames += chunked.feed(buffer: UnsafeBufferPointer(rebasing: b[i..<(i + n)]))
            i += n
        }
        frames += chunked.finish()
        guard frames == expected else {
            return "framing \(framing): \(frames.count) frames when fed in chunks, \(expected.count) when fed at once"
        }
        guard chunked.truncatedFrames == whole.truncatedFrames else {
            return "framing \(framing): truncatedFrames \(chunked.truncatedFrames) in chunks, \(whole.truncatedFrames)"
        }
        let parser = SyslogParser(format: .auto)
        for frame in frames {
            guard frame.bytes.count <= maxFrame else {
                return "framing \(framing): a frame of \(frame.bytes.count) bytes over the limit \(maxFrame)"
            }
            let event = parser.parse(frame, context: context(limit: ParseContext.defaultMaxMessageBytes))
            if frame.error != nil, event.parseError == nil || event.raw == nil {
                return "framing \(framing): a frame error did not become parse_error and raw"
            }
            if let problem = checkRendered(event, template: .default) { return "framing \(framing): \(problem)" }
        }
        return nil
    }

    static func checkPattern(_ b: UnsafeBufferPointer<UInt8>, variant: UInt8) -> String? {
        let cut = b.firstIndex(of: 0) ?? b.count
        let patternText = String(decoding: UnsafeBufferPointer(rebasing: b[0..<cut]), as: UTF8.self)
        let message = UnsafeBufferPointer(rebasing: b[min(cut + 1, b.count)...])
        let event = SyslogParser(format: .auto).parse(buffer: message, context: context(limit: 0))
        if let pattern = try? FieldPattern(patternText) {
            if let captures = pattern.match(event.message) {
                let names = pattern.captureNames
                guard captures.map(\.name) == names else {
                    return "pattern \(patternText.debugDescription) captured \(captures.map(\.name)), not \(names)"
                }
            }
        }
        // The same text as a template's pattern, and as a field value with macros.
        var spec = TemplateSpec(keyValue: variant & 1 != 0, jsonBody: variant & 2 != 0)
        if variant & 4 != 0 { spec.pattern = patternText }
        spec.fields = [("x", patternText), ("y", "${fields.\(patternText)}")]
        spec.fieldTypes = [
            ("y", FieldConversion(type: FieldType.allCases[Int(variant >> 3) % FieldType.allCases.count]))
        ]
        if let template = try? Template(spec: spec) {
            if let problem = checkRendered(event, template: template) { return "template: \(problem)" }
        }
        // The first part as the name of the file the line was tailed from (supervisor reads program and stream
        // from it), with each preset.
        var tailed = event
        tailed.file = patternText
        tailed.offset = Int64(variant)
        for template in templates[1...2] {
            if let problem = checkRendered(tailed, template: template) {
                return "file \(patternText.debugDescription): \(problem)"
            }
        }
        if let macro = try? MacroString(patternText, options: variant & 8 != 0 ? .path : MacroString.Options()) {
            let expanded = macro.expand(event, nodeName: nodeName)
            if macro.options.sanitizeForPath, macro.isConstant == false {
                // Expanded values never contain a '/' of their own; only the literal text can.
                let literalSlashes = patternText.utf8.filter { $0 == UInt8(ascii: "/") }.count
                let slashes = expanded.utf8.filter { $0 == UInt8(ascii: "/") }.count
                if slashes > literalSlashes {
                    return
                        "macro \(patternText.debugDescription) expanded to \(expanded.debugDescription): a '/' from a value"
                }
            }
        }
        return nil
    }

    static func checkFilter(_ b: UnsafeBufferPointer<UInt8>, variant: UInt8) -> String? {
        let text = String(decoding: b, as: UTF8.self)
        guard let filter = try? Filter(text) else { return nil }
        // Regex evaluation is Swift's `Regex` over the document's strings; the documents are short, so a
        // pathological expression still ends, but it is not this project's code: skip them unless asked.
        if variant & 1 == 0, text.contains("=~") || text.contains("!~") { return nil }
        for document in filterDocuments { _ = filter.matches(document) }
        return nil
    }

    static func checkJSON(_ b: UnsafeBufferPointer<UInt8>, variant: UInt8) -> String? {
        let options = JSONParser.Options(maxDepth: 64, allowHexEscapes: variant & 1 != 0)
        guard let value = try? JSONParser.parse(b, options: options) else {
            // Not JSON: the json format must still give one document with raw and parse_error.
            let event = SyslogParser(format: .json).parse(buffer: b, context: context(limit: 0))
            if event.parseError == nil {
                // Only right when it is an object in the json format's dialect (nginx's `\xHH` escapes allowed).
                let lenient = JSONParser.Options(maxDepth: 64, allowHexEscapes: true)
                guard case .object? = try? JSONParser.parse(b, options: lenient) else {
                    return "invalid JSON parsed without an error"
                }
            } else if event.raw == nil {
                return "parse_error without raw"
            }
            return checkRendered(event, template: .default)
        }
        let written = JSONWriter.render(value)
        if let problem = JSONCheck.validate(written) { return "JSONWriter output: \(problem)" }
        guard let again = try? JSONParser.parse(written), again == writable(value) else {
            return "JSON round trip changed the value: \(String(decoding: written.prefix(200), as: UTF8.self))"
        }
        for type in FieldType.allCases {
            guard let converted = type.convert(value) else { continue }
            if let problem = JSONCheck.validate(JSONWriter.render(converted)) {
                return "\(type) conversion: \(problem)"
            }
        }
        // And as a message body, for the json format and the jsonBody template step.
        let event = SyslogParser(format: variant & 2 != 0 ? .json : .auto).parse(buffer: b, context: context(limit: 0))
        return checkRendered(event, template: templates[Int(variant >> 2) % templates.count])
    }

    static func checkDocumentSelector(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        let document = Array(b)
        for selector in selectors { _ = selector.accepts(document: document) }
        return nil
    }

    // MARK: - Properties

    /// What the parser promises about an event, whatever the input.
    static func checkEvent(_ event: Event, input: UnsafeBufferPointer<UInt8>, limit: Int) -> String? {
        if event.parseError != nil, event.raw == nil { return "parse_error without raw" }
        if limit > 0 {
            // The message and raw come from at most `limit` bytes of input (U+FFFD repairs may grow them 3x).
            for (name, text) in [("message", event.message), ("raw", event.raw ?? "")]
            where text.utf8.count > 3 * limit {
                return "\(name) of \(text.utf8.count) bytes from a limit of \(limit)"
            }
        }
        if event.source != "fuzz" { return "source \(event.source.debugDescription)" }
        return nil
    }

    /// Renders through `template` and checks the document.
    static func checkRendered(_ event: Event, template: Template) -> String? {
        let applied = template.apply(event, nodeName: nodeName, assumeTimeZoneOffset: 3600)
        let document = template.render(event, nodeName: nodeName, assumeTimeZoneOffset: 3600)
        if let problem = JSONCheck.validate(document) { return "\(problem) in \(excerpt(document))" }
        guard case .object(let object)? = try? JSONParser.parse(document) else {
            return "document is not an object for JSONParser: \(excerpt(document))"
        }
        // Destinations' filters run on exactly these documents.
        for selector in selectors { _ = selector.accepts(object: object) }
        guard object["message"] == .string(applied.message) else {
            return "message did not round-trip: \(applied.message.debugDescription)"
        }
        if let parseError = applied.parseError {
            guard object["parse_error"] == .string(parseError), object["raw"] == applied.raw.map(JSONValue.string)
            else { return "parse_error/raw missing or changed: \(excerpt(document))" }
        }
        guard object["source"] == .string(applied.source), object["@timestamp"]?.stringValue != nil,
            object["received_at"]?.stringValue != nil
        else { return "a required key is missing: \(excerpt(document))" }
        if !applied.fields.isEmpty, object["fields"] != writable(.object(applied.fields)) {
            // Doubles may print differently but must compare equal after parsing; anything else is a bug.
            return "fields did not round-trip: \(excerpt(document))"
        }
        return nil
    }

    /// The value as JSON can hold it: a number out of Double's range (`1e400` parses to infinity) is written as
    /// null, by design (JSONWriter.writeDouble).
    static func writable(_ value: JSONValue) -> JSONValue {
        switch value {
        case .double(let d) where !d.isFinite: return .null
        case .array(let a): return .array(a.map(writable))
        case .object(let o): return .object(JSONObject(o.map { ($0.key, writable($0.value)) }))
        default: return value
        }
    }

    static func excerpt(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription
    }

    // MARK: - Fixtures

    /// Templates a parsed event goes through: as parsed, each preset, and every extraction step with typed
    /// fields and macros.
    static let templates: [Template] = {
        let specs: [TemplateSpec] = [
            TemplateSpec(),
            TemplateSpec(preset: .nginx),
            TemplateSpec(preset: .supervisor),
            TemplateSpec(keyValue: true, jsonBody: true),
            TemplateSpec(
                pattern: #"$date $hour _ \[$process\] _ $ip"#,
                regex: #"status=(?<status>\d+)(?: bytes=(?<bytes>\S+))?"#,
                keyValue: true,
                fields: [
                    ("where", "${HOST}/${PROGRAM}[${PID}] ${FACILITY}.${SEVERITY} at ${ISODATE} (${UNIXTIME})"),
                    ("st", "${fields.status}"), ("size", "${fields.bytes}"), ("ok", "${fields.ok}"),
                    ("body", "${MESSAGE}"), ("text", "${fields.process}"), ("src", "${SOURCE}"),
                ],
                fieldTypes: [
                    ("st", FieldConversion(type: .int, defaultValue: "0")), ("size", FieldConversion(type: .float)),
                    ("ok", FieldConversion(type: .bool, defaultValue: "false")), ("body", FieldConversion(type: .json)),
                    ("text", FieldConversion(type: .string)), ("process", FieldConversion(type: .int)),
                ]),
            TemplateSpec(
                keyValue: true,
                fields: [("msg_again", "${MESSAGE}"), ("req", "${fields.request}")],
                fieldTypes: [
                    ("status", FieldConversion(type: .int)), ("request_time", FieldConversion(type: .float)),
                    ("body_bytes_sent", FieldConversion(type: .int, defaultValue: "-1")),
                    ("upstream", FieldConversion(type: .json)), ("ok", FieldConversion(type: .bool)),
                ], jsonBody: true, preset: .nginx),
        ]
        return specs.map { spec in fixture { try Template(spec: spec) } }
    }()

    static let filterDocuments: [JSONObject] = {
        let texts = [
            #"{"@timestamp":"2026-11-21T12:00:00Z","host":"h","program":"nginx","pid":12,"facility":"daemon","severity":"warning","message":"GET / 200","source":"s","received_at":"2026-11-21T12:00:05Z","fields":{"status":200,"t":0.25,"ok":true,"n":null,"a":[1,"x"],"o":{"p":{"q":"r"}}}}"#,
            #"{"@timestamp":"2026-11-21T12:00:00Z","host":"","message":"","severity":"emerg","facility":"local7","source":"","received_at":"x","sd":{"origin":{"ip":"10.0.0.1"}}}"#,
            #"{"message":"\u0000\ud83d\ude00 é","severity":"nonsense","facility":7,"fields":{"status":"200","t":-1e300}}"#,
            "{}",
        ]
        return texts.map { text in
            guard case .object(let o) = fixture({ try JSONParser.parse(text) }) else {
                fatalError("fixture is not an object")
            }
            return o
        }
    }()

    static let selectors: [DocumentSelector] = [
        fixture { try DocumentSelector(inputs: ["s", "fuzz"], filter: nil) },
        fixture {
            try DocumentSelector(
                inputs: nil,
                filter:
                    #"severity <= "warning" and (program == "nginx" or fields.status >= 500) and not exists(fields.skip)"#
            )
        },
        fixture {
            try DocumentSelector(
                inputs: nil,
                filter:
                    #"fields.t < 1.5 or host in ["a", 'b', null, 3] or facility > 3 or fields.o.p.q != "r" or @timestamp == received_at"#
            )
        },
    ]
}

/// The generator for chunk sizes; SplitMix64 (the same as LogferryTesting's, which this target does not link).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

#if canImport(Glibc)
    import Glibc
#endif

extension FuzzHarness {
    /// The bytes of a corpus file, or nil when it cannot be read.
    public static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }

    /// A fixture the harness is built from: a throw is a bug in the harness, not a finding.
    static func fixture<T>(_ make: () throws -> T) -> T {
        do { return try make() } catch { fatalError("fuzz harness fixture: \(error)") }
    }
}
