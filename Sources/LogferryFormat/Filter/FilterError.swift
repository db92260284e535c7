/// A filter expression that does not compile. `check` reports it as
/// `file:line: filter, column <column>: <message>`.
public struct FilterError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The text does not follow the grammar (a missing value, a stray character, `=` for `==`, ...).
        case syntax
        /// A string literal without its closing quote.
        case unterminatedString = "unterminated_string"
        /// `name(...)` where `name` is not a known function.
        case unknownFunction = "unknown_function"
        /// A regular expression after `=~` or `!~` that does not compile.
        case invalidRegex = "invalid_regex"
        /// A severity or facility name (compared with `severity` or `facility`) that does not exist.
        case unknownName = "unknown_name"
    }

    public var code: Code
    /// What is wrong and how to fix it; it names what was expected.
    public var message: String
    /// 1-based column (in characters) of the mistake in the filter text; one past the end when the text ends
    /// too early.
    public var column: Int
    /// What the parser expected at `column`, e.g. `a value` or `'=='`; empty when that is not the point.
    public var expected: String

    public init(_ code: Code, message: String, column: Int, expected: String = "") {
        self.code = code
        self.message = message
        self.column = column
        self.expected = expected
    }

    public var description: String { "filter, column \(column): \(message)" }
}
