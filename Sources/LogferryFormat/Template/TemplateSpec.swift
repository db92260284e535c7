import LogferryCore

/// A template as configured (`templates:` in the config, `--pattern`/`--field` of `logferry parse`), before
/// compilation. `Template(spec:)` validates it.
public struct TemplateSpec: Sendable {
    /// Field extraction from the message, e.g. `$date $hour _ \[$process\] _ $ip` (see `FieldPattern`).
    public var pattern: String?
    /// Fields added to every event, in order; values may contain macros (`${PROGRAM}`, `${fields.NAME}`).
    public var fields: [(name: String, value: String)]
    /// When the message is a JSON object, its keys and values are added to `fields` (types kept). Off by
    /// default: a message that happens to look like JSON is not reinterpreted unless asked for.
    public var jsonBody: Bool

    public init(pattern: String? = nil, fields: [(name: String, value: String)] = [], jsonBody: Bool = false) {
        self.pattern = pattern
        self.fields = fields
        self.jsonBody = jsonBody
    }
}
