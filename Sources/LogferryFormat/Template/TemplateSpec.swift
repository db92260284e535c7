import LogferryCore

/// A template as configured (`templates:` in the config, `--pattern`/`--field` of `logferry parse`), before
/// compilation. `Template(spec:)` validates it.
public struct TemplateSpec: Sendable {
    /// Field extraction from the message, e.g. `$date $hour _ \[$process\] _ $ip` (see `FieldPattern`).
    public var pattern: String?
    /// Field extraction by a regular expression with named groups, e.g. `status=(?<status>\d+)` (see
    /// `RegexExtractor`).
    public var regex: String?
    /// `key=value` pairs of the message (quoted values allowed) become fields (see `KeyValueExtractor`). Off by
    /// default.
    public var keyValue: Bool
    /// Fields added to every event, in order; values may contain macros (`${PROGRAM}`, `${fields.NAME}`).
    public var fields: [(name: String, value: String)]
    /// Types and defaults of fields, by field name (`fields: {status: {value: ..., type: int, default: "0"}}`). A
    /// name that has no entry in `fields` converts the field of that name as the earlier steps left it, in place
    /// (as if its value were `${fields.NAME}`), so a capture of `pattern`, `regex` or `kv` can be typed.
    public var fieldTypes: [(name: String, conversion: FieldConversion)]
    /// When the message is a JSON object, its keys and values are added to `fields` (types kept). Off by
    /// default: a message that happens to look like JSON is not reinterpreted unless asked for.
    public var jsonBody: Bool
    /// Applied to the parsed event before every other step (`preset:` of a source; see `Preset`).
    public var preset: Preset?

    public init(
        pattern: String? = nil, regex: String? = nil, keyValue: Bool = false,
        fields: [(name: String, value: String)] = [], fieldTypes: [(name: String, conversion: FieldConversion)] = [],
        jsonBody: Bool = false, preset: Preset? = nil
    ) {
        self.pattern = pattern
        self.regex = regex
        self.keyValue = keyValue
        self.fields = fields
        self.fieldTypes = fieldTypes
        self.jsonBody = jsonBody
        self.preset = preset
    }
}
