import LogferryCore

/// Tokenizer and recursive-descent parser of `Filter` (grammar below); columns are 1-based, in characters.
///
/// ```
/// filter     := or END
/// or         := and ("or" and)*
/// and        := unary ("and" unary)*
/// unary      := "not" unary | primary
/// primary    := "(" or ")" | "exists" "(" FIELD ")" | comparison
/// comparison := operand ( ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
///                       | ("=~" | "!~") STRING
///                       | "not"? "in" "[" (literal ("," literal)*)? "]" )
/// operand    := FIELD | literal
/// literal    := STRING | NUMBER | "true" | "false" | "null"
/// ```
struct FilterParser {
    enum Kind: Equatable {
        case name(String)
        case string(String)
        case int(Int64)
        case double(Double)
        case op(String)  // == != < <= > >= =~ !~
        case lparen, rparen, lbracket, rbracket, comma
        case end
    }

    struct Token {
        var kind: Kind
        /// 1-based column of the first character.
        var column: Int
        /// The text as written, for messages.
        var text: String
    }

    static let keywords: Set<String> = ["and", "or", "not", "in", "true", "false", "null"]
    static let functions = ["exists"]

    private let tokens: [Token]
    private var index = 0
    private var depth = 0
    static let maxDepth = 64

    init(_ text: String) throws(FilterError) {
        tokens = try Self.tokenize(Array(text))
    }

    // MARK: Tokens

    private static func isNameStart(_ c: Character) -> Bool { c == "_" || c == "@" || (c.isLetter && c.isASCII) }
    private static func isNameChar(_ c: Character) -> Bool {
        isNameStart(c) || (c.isASCII && c.isNumber) || c == "-" || c == "."
    }
    private static func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }

    static func tokenize(_ chars: [Character]) throws(FilterError) -> [Token] {
        var out: [Token] = []
        var i = 0
        func token(_ kind: Kind, _ start: Int, _ end: Int) {
            out.append(Token(kind: kind, column: start + 1, text: String(chars[start..<end])))
        }
        while i < chars.count {
            let c = chars[i]
            let start = i
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                i += 1
                continue
            }
            switch c {
            case "(": token(.lparen, i, i + 1); i += 1
            case ")": token(.rparen, i, i + 1); i += 1
            case "[": token(.lbracket, i, i + 1); i += 1
            case "]": token(.rbracket, i, i + 1); i += 1
            case ",": token(.comma, i, i + 1); i += 1
            case "=", "!", "<", ">":
                let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
                let two = next.map { String(c) + String($0) }
                if let two, ["==", "!=", "<=", ">=", "=~", "!~"].contains(two) {
                    token(.op(two), i, i + 2)
                    i += 2
                } else if c == "<" || c == ">" {
                    token(.op(String(c)), i, i + 1)
                    i += 1
                } else if c == "=" {
                    throw FilterError(
                        .syntax, message: "'=' is not an operator: write '==' to compare", column: i + 1,
                        expected: "'=='")
                } else {
                    throw FilterError(
                        .syntax, message: "'!' alone is not an operator: write 'not', '!=' or '!~'", column: i + 1,
                        expected: "'not', '!=' or '!~'")
                }
            case "\"", "'":
                var value = ""
                i += 1
                var closed = false
                while i < chars.count {
                    let d = chars[i]
                    if d == c {
                        closed = true
                        i += 1
                        break
                    }
                    if d == "\\", i + 1 < chars.count {
                        let e = chars[i + 1]
                        switch e {
                        case "\"", "'", "\\": value.append(e)
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        default:
                            // Kept as written, so `"\d+"` is the regex \d+.
                            value.append("\\")
                            value.append(e)
                        }
                        i += 2
                        continue
                    }
                    value.append(d)
                    i += 1
                }
                guard closed else {
                    throw FilterError(
                        .unterminatedString,
                        message: "the string that starts here is not closed: add a closing \(c)", column: start + 1,
                        expected: "a closing \(c)")
                }
                token(.string(value), start, i)
            default:
                if isDigit(c) || (c == "-" && i + 1 < chars.count && isDigit(chars[i + 1])) {
                    i += 1
                    while i < chars.count, isDigit(chars[i]) { i += 1 }
                    var isInteger = true
                    if i + 1 < chars.count, chars[i] == ".", isDigit(chars[i + 1]) {
                        isInteger = false
                        i += 1
                        while i < chars.count, isDigit(chars[i]) { i += 1 }
                    }
                    if i < chars.count, chars[i] == "e" || chars[i] == "E" {
                        var j = i + 1
                        if j < chars.count, chars[j] == "+" || chars[j] == "-" { j += 1 }
                        if j < chars.count, isDigit(chars[j]) {
                            isInteger = false
                            i = j
                            while i < chars.count, isDigit(chars[i]) { i += 1 }
                        }
                    }
                    if i < chars.count, isNameChar(chars[i]) {
                        throw FilterError(
                            .syntax,
                            message: "expected a number, found '\(String(chars[start...i]))' (quote it if it is text)",
                            column: start + 1, expected: "a number")
                    }
                    let text = String(chars[start..<i])
                    if isInteger, let n = Int64(text) {
                        token(.int(n), start, i)
                    } else if let d = Double(text), d.isFinite {
                        token(.double(d), start, i)
                    } else {
                        throw FilterError(
                            .syntax, message: "expected a number that fits in 64 bits, found '\(text)'",
                            column: start + 1,
                            expected: "a number")
                    }
                } else if isNameStart(c) {
                    i += 1
                    while i < chars.count, isNameChar(chars[i]) { i += 1 }
                    let name = String(chars[start..<i])
                    if name.hasSuffix(".") || name.contains("..") {
                        let nc = Array(name)
                        var dot = nc.count - 1
                        for k in nc.indices where nc[k] == "." && k + 1 < nc.count && nc[k + 1] == "." {
                            dot = k
                            break
                        }
                        throw FilterError(
                            .syntax, message: "expected a key after each '.' in the field name '\(name)'",
                            column: start + dot + 1, expected: "a key")
                    }
                    token(.name(name), start, i)
                } else {
                    throw FilterError(
                        .syntax,
                        message:
                            "unexpected '\(c)': expected a field, a value, an operator, 'and', 'or', 'not' or a parenthesis",
                        column: i + 1, expected: "a field, a value or an operator")
                }
            }
        }
        out.append(Token(kind: .end, column: chars.count + 1, text: ""))
        return out
    }

    // MARK: Grammar

    private var current: Token { tokens[index] }

    private func describe(_ t: Token) -> String {
        t.kind == .end ? "the end of the filter" : "'\(t.text)'"
    }

    private func isKeyword(_ word: String) -> Bool {
        if case .name(word) = current.kind { return true }
        return false
    }

    private func error(_ expected: String, after: String? = nil, code: FilterError.Code = .syntax) -> FilterError {
        let context = after.map { " after \($0)" } ?? ""
        return FilterError(
            code, message: "expected \(expected)\(context), found \(describe(current))", column: current.column,
            expected: expected)
    }

    mutating func parseFilter() throws(FilterError) -> Node {
        if current.kind == .end {
            throw FilterError(
                .syntax, message: "the filter is empty: expected a condition such as program == \"nginx\"",
                column: 1, expected: "a condition")
        }
        let node = try parseOr()
        guard current.kind == .end else {
            if current.kind == .rparen {
                throw FilterError(
                    .syntax, message: "')' has no matching '(': expected 'and', 'or' or the end of the filter",
                    column: current.column,
                    expected: "'and', 'or' or the end of the filter")
            }
            throw error("'and', 'or' or the end of the filter")
        }
        return node
    }

    // Chains of `and` / `or` become one node with a list, so a long chain costs no recursion depth; nesting
    // (parentheses, `not`) is bounded, so neither parsing nor evaluation can exhaust a stack.
    private mutating func parseOr() throws(FilterError) -> Node {
        var nodes = [try parseAnd()]
        while isKeyword("or") {
            index += 1
            nodes.append(try parseAnd())
        }
        return nodes.count == 1 ? nodes[0] : .any(nodes)
    }

    private mutating func parseAnd() throws(FilterError) -> Node {
        var nodes = [try parseUnary()]
        while isKeyword("and") {
            index += 1
            nodes.append(try parseUnary())
        }
        return nodes.count == 1 ? nodes[0] : .all(nodes)
    }

    /// Runs `body` one nesting level deeper; `column` is where the level opened (the `(` or `not`).
    private mutating func nested<T>(
        at column: Int, _ body: (inout FilterParser) throws(FilterError) -> T
    ) throws(FilterError) -> T {
        guard depth < Self.maxDepth else {
            throw FilterError(
                .syntax, message: "expected at most \(Self.maxDepth) nested parentheses and 'not's",
                column: column, expected: "less nesting")
        }
        depth += 1
        defer { depth -= 1 }
        return try body(&self)
    }

    private mutating func parseUnary() throws(FilterError) -> Node {
        if isKeyword("not") {
            let column = current.column
            index += 1
            return .not(try nested(at: column) { (p: inout FilterParser) throws(FilterError) in try p.parseUnary() })
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(FilterError) -> Node {
        let start = current
        if start.kind == .lparen {
            index += 1
            let node = try nested(at: start.column) { (p: inout FilterParser) throws(FilterError) in try p.parseOr() }
            guard current.kind == .rparen else {
                throw error("')' to close the '(' at column \(start.column)")
            }
            index += 1
            return node
        }
        if case .name(let name) = start.kind, tokens[index + 1].kind == .lparen, !Self.keywords.contains(name) {
            guard name == "exists" else {
                throw FilterError(
                    .unknownFunction,
                    message: "'\(name)' is not a function: expected a field or exists(field), the only function",
                    column: start.column, expected: "a field or exists(field)")
            }
            index += 2
            guard case .name(let field) = current.kind, !Self.keywords.contains(field) else {
                throw error("a field name", after: "'exists('")
            }
            let path = Self.path(field)
            index += 1
            guard current.kind == .rparen else { throw error("')'", after: "exists(\(field)") }
            index += 1
            return .exists(path)
        }
        return try parseComparison()
    }

    private mutating func parseOperand(after: String?) throws(FilterError) -> (Operand, Token) {
        let t = current
        switch t.kind {
        case .name("true"): index += 1; return (.literal(.bool(true)), t)
        case .name("false"): index += 1; return (.literal(.bool(false)), t)
        case .name("null"): index += 1; return (.literal(.null), t)
        case .name(let name) where !Self.keywords.contains(name):
            index += 1
            return (.field(Self.path(name)), t)
        case .string(let s): index += 1; return (.literal(.string(s)), t)
        case .int(let n): index += 1; return (.literal(.int(n)), t)
        case .double(let d): index += 1; return (.literal(.double(d)), t)
        default:
            if after == nil {
                throw error("a condition (a field, a value, '(', 'not' or exists(field))")
            }
            throw error("a value (a string in quotes, a number, true, false, null or a field)", after: after)
        }
    }

    private mutating func parseLiteral(after: String) throws(FilterError) -> (JSONValue, Token) {
        let t = current
        let (operand, _) = try parseOperand(after: after)
        guard case .literal(let v) = operand else {
            index -= 1
            throw error("a value (a string in quotes, a number, true, false or null)", after: after)
        }
        return (v, t)
    }

    private mutating func parseComparison() throws(FilterError) -> Node {
        let (left, leftToken) = try parseOperand(after: nil)
        let op = current
        var negated = false
        if isKeyword("not"), case .name("in") = tokens[index + 1].kind {
            negated = true
            index += 1
        }
        if isKeyword("in") {
            index += 1
            guard current.kind == .lbracket else { throw error("'[' to start a list", after: "'in'") }
            let open = current
            index += 1
            var values: [(JSONValue, Token)] = []
            if current.kind != .rbracket {
                while true {
                    values.append(try parseLiteral(after: values.isEmpty ? "'['" : "','"))
                    if current.kind == .comma {
                        index += 1
                        continue
                    }
                    guard current.kind == .rbracket else {
                        throw error("',' or ']' to close the list opened at column \(open.column)")
                    }
                    break
                }
            }
            index += 1
            let node: Node
            if case .field(let path) = left, let scale = Self.rankScale(path) {
                var ranks: [Int] = []
                for (v, t) in values {
                    guard let r = scale.rank(ofLiteral: v) else { throw Self.unknownName(scale, v, t) }
                    ranks.append(r)
                }
                node = .rankIn(path, scale, ranks)
            } else {
                node = .inList(left, values.map(\.0))
            }
            return negated ? .not(node) : node
        }
        guard case .op(let symbol) = op.kind else {
            throw error(
                "an operator (== != < <= > >= =~ !~ in)", after: "'\(leftToken.text)'")
        }
        index += 1
        if symbol == "=~" || symbol == "!~" {
            guard case .string(let pattern) = current.kind else {
                throw error("a regular expression in quotes", after: "'\(symbol)'")
            }
            let regex: CompiledRegex
            do {
                regex = try CompiledRegex(pattern)
            } catch {
                throw FilterError(
                    .invalidRegex, message: "expected a valid regular expression: \(error)", column: current.column,
                    expected: "a regular expression")
            }
            index += 1
            let node = Node.match(left, regex)
            return symbol == "!~" ? .not(node) : node
        }
        guard let compare = CompareOp(rawValue: symbol) else { fatalError("the tokenizer makes only known operators") }
        let (right, rightToken) = try parseOperand(after: "'\(symbol)'")
        // Severity and facility against a name: by rank. The field goes left.
        switch (left, right) {
        case (.field(let path), .literal(let v)):
            if let scale = Self.rankScale(path), let node = try Self.rankNode(path, scale, compare, v, rightToken) {
                return node
            }
        case (.literal(let v), .field(let path)):
            if let scale = Self.rankScale(path),
                let node = try Self.rankNode(path, scale, compare.flipped, v, leftToken)
            {
                return node
            }
        default: break
        }
        return .compare(left, compare, right)
    }

    // MARK: Helpers

    private static func path(_ name: String) -> FieldPath {
        FieldPath(text: name, keys: name.split(separator: ".", omittingEmptySubsequences: false).map(String.init))
    }

    private static func rankScale(_ path: FieldPath) -> RankScale? {
        switch path.text {
        case "severity": .severity
        case "facility": .facility
        default: nil
        }
    }

    /// A rank comparison when the literal is a name or a number; nil for other literals (compared as values).
    private static func rankNode(
        _ path: FieldPath, _ scale: RankScale, _ op: CompareOp, _ value: JSONValue, _ token: Token
    ) throws(FilterError) -> Node? {
        switch value {
        case .string, .int:
            guard let r = scale.rank(ofLiteral: value) else { throw unknownName(scale, value, token) }
            return .rank(path, scale, op, r)
        default:
            return nil
        }
    }

    private static func unknownName(_ scale: RankScale, _ value: JSONValue, _ token: Token) -> FilterError {
        let names: String
        switch scale {
        case .severity: names = Severity.allCases.map(\.name).joined(separator: " ") + " (or 0-7)"
        case .facility: names = Facility.allCases.map(\.name).joined(separator: " ") + " (or 0-23)"
        }
        return FilterError(
            .unknownName, message: "\(token.text) is not a \(scale.fieldName): expected one of \(names)",
            column: token.column, expected: "a \(scale.fieldName) name")
    }
}
