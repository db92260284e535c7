import LogferryCore

/// The JSON type a template field is written as (`type:` of a field in a template).
public enum FieldType: String, Sendable, CaseIterable {
    /// As the value is: a single macro keeps its JSON type, text with macros is a string (the default).
    case auto
    /// A string; numbers and booleans as written in JSON.
    case string
    /// A 64-bit integer: from an integer, an integral float, or text that is one (`" 42 "` is not).
    case int
    /// A double: from any number, or text that is one (`1.5`, `2`, `1e3`).
    case float
    /// `true`/`false`, or text `true false yes no on off 1 0` in any case, or the integers 1 and 0.
    case bool
    /// Text parsed as one JSON value (object, array, number...); a value that is already JSON stays as it is.
    case json

    /// The names accepted, for error messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The value converted to this type; nil when it does not convert.
    public func convert(_ value: JSONValue) -> JSONValue? {
        switch self {
        case .auto: return value
        case .string:
            return MacroString.text(of: value).map(JSONValue.string)
        case .int:
            switch value {
            case .int: return value
            case .double(let d):
                return d.rounded() == d && abs(d) < 9.2e18 ? .int(Int64(d)) : nil
            case .string(let s): return Int64(s).map(JSONValue.int)
            case .bool, .null, .array, .object: return nil
            }
        case .float:
            switch value {
            case .double: return value
            case .int(let i): return .double(Double(i))
            case .string(let s):
                guard let d = Double(s), d.isFinite else { return nil }
                return .double(d)
            case .bool, .null, .array, .object: return nil
            }
        case .bool:
            switch value {
            case .bool: return value
            case .int(let i): return i == 0 || i == 1 ? .bool(i == 1) : nil
            case .string(let s):
                switch s.lowercased() {
                case "true", "yes", "on", "1": return .bool(true)
                case "false", "no", "off", "0": return .bool(false)
                default: return nil
                }
            case .double, .null, .array, .object: return nil
            }
        case .json:
            guard case .string(let s) = value else { return value }
            return try? JSONParser.parse(s, options: SyslogParser.jsonOptions)
        }
    }
}

/// How a template field is typed: its type and the value used when it has none or does not convert.
public struct FieldConversion: Sendable, Equatable {
    public var type: FieldType
    /// Written when the field's value is missing or does not convert to `type`; as text, converted at compile time
    /// (so `default: "0"` with `type: int` is the number 0). `nil`: such a field is left out (and a value that does
    /// not convert is counted in `TemplateCounters.conversionFailures`).
    public var defaultValue: String?

    public init(type: FieldType = .auto, defaultValue: String? = nil) {
        self.type = type
        self.defaultValue = defaultValue
    }

    /// From config text (`type: int`); an unknown type name is an error at `fields.FIELD.type`. A missing name is
    /// `auto`. (The default is checked when the template compiles.)
    public init(typeName: String?, defaultValue: String?, field: String) throws(TemplateError) {
        guard let type = FieldType(rawValue: typeName ?? "auto") else {
            throw TemplateError(
                message: "unknown type '\(typeName ?? "")'; use one of \(FieldType.names)", column: 1,
                part: "fields.\(field).type")
        }
        self.init(type: type, defaultValue: defaultValue)
    }
}
