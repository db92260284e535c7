/// A template, pattern or macro string that does not compile. `check` reports it as
/// `file:line: <part>, column <column>: <message>`.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public var message: String
    /// 1-based column (in characters) in the offending string.
    public var column: Int
    /// Which string: `pattern`, `fields.NAME`, or whatever the caller compiled (e.g. `path`).
    public var part: String

    public init(message: String, column: Int, part: String) {
        self.message = message
        self.column = column
        self.part = part
    }

    public var description: String { "\(part), column \(column): \(message)" }
}
