import LogferryCore

/// A destination's `filter`, compiled once: `severity <= "warning" and program == "nginx"`.
///
/// The language, over an event document (SPEC.md §3):
/// - **Fields** by name: `program`, `severity`, `host`, `message`, `@timestamp`, `received_at`; nested keys with
///   dots: `fields.status`, `sd.origin.ip`. A name starts with a letter, `_` or `@` and continues with letters,
///   digits, `_ @ - .`. A key that itself contains a dot cannot be named.
/// - **Literals**: strings in double or single quotes (`\"`, `\'`, `\\`, `\n`, `\t` are escapes; any other
///   backslash is kept, so regular expressions read as usual: `"\d+"`), integers, floats (`1.5`, `-2e3`),
///   `true`, `false`, `null`.
/// - **Comparisons**: `== != < <= > >=` between fields and literals, either side; `x in [v, ...]` (equal to one
///   of the literals), `x not in [...]`; regex search `x =~ "re"` and `x !~ "re"` (Swift `Regex` syntax, compiled
///   here; it matches anywhere in the string, anchor it with `^`/`$` to match the whole).
/// - **Logic**: `not` binds tighter than `and`, which binds tighter than `or`; parentheses group.
/// - **Functions**: `exists(field)`, true when the document has the field (even when it is `null`).
/// - Keywords (`and or not in true false null exists`) are lower case. Parentheses and `not` nest at most 64
///   deep; chains of `and`/`or` are unlimited.
///
/// Semantics:
/// - `severity` and `facility` compared with a name (or a number) compare by syslog rank, the names' aliases
///   included (`error`, `warn`, ...). Lower rank is more severe, so `severity <= "warning"` selects emerg,
///   alert, crit, err and warning. An unknown name is a compile error.
/// - Numbers compare numerically (`200 == 200.0`), strings lexically (by Unicode scalar order after
///   canonical equivalence, as Swift's `String` does), booleans and `null` only for (in)equality.
/// - A missing field or mismatched types (a string against a number, `"200"` against `200`): `==`, `<`, `<=`,
///   `>`, `>=` and `=~` are false, and `in` is false. `!=`, `!~` and `not in` are their exact negations, so they
///   are true there. Regex only matches strings. `field == null` needs the key present with a `null` value; use
///   `not exists(field)` for a missing one.
///
/// Evaluation allocates nothing per event beyond what a regex match needs: field paths are split and literals,
/// ranks and regexes prepared at compile time, and lookups compare keys in place.
public struct Filter: Sendable, CustomStringConvertible {
    /// The text as written in the config.
    public let text: String
    let root: Node

    /// Compiles `text`; throws with the 1-based column of the first mistake and what was expected there.
    public init(_ text: String) throws(FilterError) {
        self.text = text
        var parser = try FilterParser(text)
        self.root = try parser.parseFilter()
    }

    /// Whether `document` (an event document as the journal holds it) passes the filter.
    public func matches(_ document: JSONObject) -> Bool {
        root.evaluate(document)
    }

    public var description: String { text }
}

// MARK: - The compiled tree

/// A dotted path, split once.
struct FieldPath: Sendable, Equatable {
    let text: String
    let keys: [String]

    func lookup(_ document: JSONObject) -> JSONValue? {
        guard var current = document[keys[0]] else { return nil }
        var i = 1
        while i < keys.count {
            guard case .object(let o) = current, let next = o[keys[i]] else { return nil }
            current = next
            i += 1
        }
        return current
    }
}

enum Operand: Sendable {
    case field(FieldPath)
    case literal(JSONValue)

    @inline(__always)
    func value(in document: JSONObject) -> JSONValue? {
        switch self {
        case .field(let path): path.lookup(document)
        case .literal(let v): v
        }
    }
}

enum CompareOp: String, Sendable {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="

    /// The operator with its sides swapped: `a < b` is `b > a`.
    var flipped: CompareOp {
        switch self {
        case .eq, .ne: self
        case .lt: .gt
        case .le: .ge
        case .gt: .lt
        case .ge: .le
        }
    }

    /// Applies the operator to an ordering (-1, 0, 1); nil (incomparable) is false except for `!=`.
    @inline(__always)
    func holds(_ order: Int?) -> Bool {
        guard let order else { return self == .ne }
        switch self {
        case .eq: return order == 0
        case .ne: return order != 0
        case .lt: return order < 0
        case .le: return order <= 0
        case .gt: return order > 0
        case .ge: return order >= 0
        }
    }
}

/// Severity and facility: compared by rank when the other side names one.
enum RankScale: Sendable {
    case severity, facility

    var fieldName: String {
        switch self {
        case .severity: "severity"
        case .facility: "facility"
        }
    }

    var validRange: ClosedRange<Int64> {
        switch self {
        case .severity: 0...7
        case .facility: 0...23
        }
    }

    /// The rank a literal names, at compile time.
    func rank(ofLiteral value: JSONValue) -> Int? {
        switch value {
        case .string(let s):
            switch self {
            case .severity: return Severity(name: s)?.rawValue
            case .facility: return Facility(name: s)?.rawValue
            }
        case .int(let i) where validRange.contains(i): return Int(i)
        default: return nil
        }
    }

    // The canonical names by rank, made at run time so they are small strings like the ones the JSON parser
    // makes: two small strings compare in one step, a literal and a small string byte by byte.
    static let severityNames = Severity.allCases.map { String(decoding: Array($0.name.utf8), as: UTF8.self) }
    static let facilityNames = Facility.allCases.map { String(decoding: Array($0.name.utf8), as: UTF8.self) }

    /// The rank of a document's value; canonical names are matched without allocating, other spellings (aliases,
    /// upper case) through the slower lookup.
    @inline(__always)
    func rank(ofDocumentValue value: JSONValue) -> Int? {
        switch value {
        case .string(let s):
            switch self {
            case .severity:
                for r in Self.severityNames.indices where Self.severityNames[r] == s { return r }
                return Severity(name: s)?.rawValue
            case .facility:
                for r in Self.facilityNames.indices where Self.facilityNames[r] == s { return r }
                return Facility(name: s)?.rawValue
            }
        case .int(let i) where validRange.contains(i): return Int(i)
        default: return nil
        }
    }
}

/// A compiled regular expression, shareable between tasks.
///
/// `@unchecked Sendable`: `Regex` is an immutable value but is not declared `Sendable` (its `Output` need not
/// be). Its one piece of shared mutable state is the lazily lowered program, which the standard library
/// publishes with an atomic compare-and-exchange; `init` forces that lowering with one match, so concurrent
/// `matches` calls only read it.
final class CompiledRegex: @unchecked Sendable {
    let pattern: String
    private let regex: Regex<AnyRegexOutput>

    init(_ pattern: String) throws {
        self.pattern = pattern
        self.regex = try Regex(pattern)
        _ = "".contains(regex)
    }

    func matches(_ s: String) -> Bool { s.contains(regex) }
}

indirect enum Node: Sendable {
    /// Every one holds (`a and b and c`), evaluated left to right, stopping at the first false.
    case all([Node])
    /// One holds (`a or b or c`), stopping at the first true.
    case any([Node])
    case not(Node)
    case exists(FieldPath)
    case compare(Operand, CompareOp, Operand)
    /// `severity <= "warning"`: the rank of the field's value against a rank fixed at compile time.
    case rank(FieldPath, RankScale, CompareOp, Int)
    /// `severity in ["err", "crit"]`.
    case rankIn(FieldPath, RankScale, [Int])
    case inList(Operand, [JSONValue])
    case match(Operand, CompiledRegex)

    func evaluate(_ d: JSONObject) -> Bool {
        switch self {
        case .all(let nodes):
            for n in nodes where !n.evaluate(d) { return false }
            return true
        case .any(let nodes):
            for n in nodes where n.evaluate(d) { return true }
            return false
        case .not(let a):
            return !a.evaluate(d)
        case .exists(let path):
            return path.lookup(d) != nil
        case .compare(let l, let op, let r):
            guard let a = l.value(in: d), let b = r.value(in: d) else { return op == .ne }
            if op == .eq || op == .ne { return Self.equal(a, b) == (op == .eq) }
            return op.holds(Self.order(a, b))
        case .rank(let path, let scale, let op, let rank):
            guard let v = path.lookup(d), let r = scale.rank(ofDocumentValue: v) else { return op == .ne }
            return op.holds(r < rank ? -1 : r == rank ? 0 : 1)
        case .rankIn(let path, let scale, let ranks):
            guard let v = path.lookup(d), let r = scale.rank(ofDocumentValue: v) else { return false }
            return ranks.contains(r)
        case .inList(let operand, let values):
            guard let v = operand.value(in: d) else { return false }
            for candidate in values where Self.equal(v, candidate) { return true }
            return false
        case .match(let operand, let regex):
            guard case .string(let s)? = operand.value(in: d) else { return false }
            return regex.matches(s)
        }
    }

    /// Equality across types: numbers numerically, everything else by JSON value (mismatched types: unequal).
    @inline(__always)
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): x == y
        case (.int(let x), .double(let y)): Double(x) == y
        case (.double(let x), .int(let y)): x == Double(y)
        case (.double(let x), .double(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.null, .null): true
        case (.array, .array), (.object, .object): a == b
        default: false
        }
    }

    /// Ordering of numbers and of strings; nil when the two cannot be ordered.
    @inline(__always)
    static func order(_ a: JSONValue, _ b: JSONValue) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : x == y ? 0 : 1
        case (.int(let x), .double(let y)): return compare(Double(x), y)
        case (.double(let x), .int(let y)): return compare(x, Double(y))
        case (.double(let x), .double(let y)): return compare(x, y)
        case (.string(let x), .string(let y)): return x < y ? -1 : x == y ? 0 : 1
        default: return nil
        }
    }

    @inline(__always)
    private static func compare(_ x: Double, _ y: Double) -> Int? {
        if x < y { return -1 }
        if x > y { return 1 }
        return x == y ? 0 : nil
    }
}
