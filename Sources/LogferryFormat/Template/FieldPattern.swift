import LogferryCore

/// Extracts fields from a message by a word pattern, compiled once: `$date $hour _ \[$process\] _ $ip`.
///
/// The pattern and the message are both read as words (separated by spaces and tabs):
/// - `_` alone skips any number of words, including none (lazily: the earliest match wins), so `_ _ _` and
///   `_` mean the same. `$_` alone skips exactly one word.
/// - Any other pattern word matches exactly one message word. In it, `$name` captures text (letters, digits,
///   `_` in the name) up to the first occurrence of the literal text that follows it in the pattern word, or
///   to the end of the word; everything else is literal and must match. `\` makes the next character literal
///   (`\[`, `\]`, `\$`, `\_`, `\ `). A word whose pattern ends in a literal may carry trailing `:` `,` `;` `.`
///   that the pattern does not mention, so `\[$process\]` matches `[1112]:` and captures `1112`.
/// - The pattern must account for the whole message: end it with `_` to ignore the rest.
///
/// With the fail2ban line `2017-06-14 17:16:12,329 fail2ban.actions [1112]: NOTICE [sshd] Ban 59.45.175.88`,
/// `$date $hour _ _ _ \[$process\] _ $ip` yields date=2017-06-14, hour=17:16:12,329, process=1112 (the first
/// bracketed word, as skips are lazy) and ip=59.45.175.88 (the last word, as the pattern is anchored at the end).
/// A message that does not match yields no fields.
public struct FieldPattern: Sendable, Equatable {
    enum Element: Sendable, Equatable {
        case literal([UInt8])
        /// `nil` name: `$_`, matched but not kept.
        case capture(String?)
    }

    enum Item: Sendable, Equatable {
        case skip
        case word([Element])
    }

    public let text: String
    let items: [Item]

    /// The names captured, in pattern order.
    public var captureNames: [String] {
        items.flatMap { item -> [String] in
            guard case .word(let elements) = item else { return [] }
            return elements.compactMap { if case .capture(let n?) = $0 { n } else { nil } }
        }
    }

    public init(_ text: String, part: String = "pattern") throws(TemplateError) {
        self.text = text
        var items: [Item] = []
        var names: Set<String> = []
        let chars = Array(text)
        var i = 0
        func error(_ message: String, _ column: Int) -> TemplateError {
            TemplateError(message: message, column: column + 1, part: part)
        }
        func isNameChar(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }

        while i < chars.count {
            if chars[i] == " " || chars[i] == "\t" {
                i += 1
                continue
            }
            // One pattern word.
            let wordStart = i
            var elements: [Element] = []
            var literal: [UInt8] = []
            var isBareUnderscore = true
            while i < chars.count, chars[i] != " ", chars[i] != "\t" {
                let c = chars[i]
                if c == "\\" {
                    guard i + 1 < chars.count else { throw error("'\\' at the end of the pattern escapes nothing", i) }
                    literal.append(contentsOf: Array(String(chars[i + 1]).utf8))
                    isBareUnderscore = false
                    i += 2
                } else if c == "$" {
                    var j = i + 1
                    while j < chars.count, isNameChar(chars[j]) { j += 1 }
                    guard j > i + 1 else {
                        throw error("'$' must be followed by a field name (write \\$ for a literal $)", i)
                    }
                    if !literal.isEmpty {
                        elements.append(.literal(literal))
                        literal = []
                    } else if case .capture? = elements.last {
                        throw error("two captures need literal text between them", i)
                    }
                    let name = String(chars[(i + 1)..<j])
                    if name == "_" {
                        elements.append(.capture(nil))
                    } else {
                        guard names.insert(name).inserted else { throw error("$\(name) is captured twice", i) }
                        elements.append(.capture(name))
                    }
                    isBareUnderscore = false
                    i = j
                } else {
                    if c != "_" { isBareUnderscore = false }
                    literal.append(contentsOf: Array(String(c).utf8))
                    i += 1
                }
            }
            if isBareUnderscore, i - wordStart == 1 {
                if items.last != .skip { items.append(.skip) }
                continue
            }
            if !literal.isEmpty { elements.append(.literal(literal)) }
            items.append(.word(elements))
        }
        guard !items.isEmpty else { throw error("the pattern is empty", 0) }
        self.items = items
    }

    /// The captured fields in pattern order, or nil when the message does not match.
    public func match(_ message: String) -> [(name: String, value: String)]? {
        var message = message
        return message.withUTF8 { match(buffer: $0) }
    }

    public func match(buffer b: UnsafeBufferPointer<UInt8>) -> [(name: String, value: String)]? {
        var words: [Range<Int>] = []
        var i = 0
        while i < b.count {
            while i < b.count, Self.isSpace(b[i]) { i += 1 }
            let start = i
            while i < b.count, !Self.isSpace(b[i]) { i += 1 }
            if i > start { words.append(start..<i) }
        }
        // Glob matching over words with `_` as `*`: each other item matches exactly one word, so the classic
        // linear algorithm (remember the last skip, retry one word further on failure) finds the earliest match.
        var captures: [[Range<Int>]] = Array(repeating: [], count: items.count)
        var p = 0
        var w = 0
        var lastSkip = -1
        var lastSkipWord = 0
        while w < words.count {
            if p < items.count {
                switch items[p] {
                case .skip:
                    lastSkip = p
                    lastSkipWord = w
                    p += 1
                    continue
                case .word(let elements):
                    if let ranges = Self.match(elements, b, words[w]) {
                        captures[p] = ranges
                        p += 1
                        w += 1
                        continue
                    }
                }
            }
            guard lastSkip >= 0 else { return nil }
            p = lastSkip + 1
            lastSkipWord += 1
            w = lastSkipWord
        }
        while p < items.count, items[p] == .skip { p += 1 }
        guard p == items.count else { return nil }

        var out: [(name: String, value: String)] = []
        for (k, item) in items.enumerated() {
            guard case .word(let elements) = item else { continue }
            var r = 0
            for element in elements {
                guard case .capture(let name) = element else { continue }
                if let name {
                    out.append(
                        (name, String(decoding: UnsafeBufferPointer(rebasing: b[captures[k][r]]), as: UTF8.self)))
                }
                r += 1
            }
        }
        return out
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

    /// Matches one pattern word against one message word; returns the capture ranges in order.
    private static func match(_ elements: [Element], _ b: UnsafeBufferPointer<UInt8>, _ word: Range<Int>) -> [Range<
        Int
    >]? {
        var ranges: [Range<Int>] = []
        var i = word.lowerBound
        for (k, element) in elements.enumerated() {
            switch element {
            case .literal(let lit):
                guard word.upperBound - i >= lit.count else { return nil }
                for (j, c) in lit.enumerated() where b[i + j] != c { return nil }
                i += lit.count
            case .capture:
                if k + 1 == elements.count {
                    guard i < word.upperBound else { return nil }
                    ranges.append(i..<word.upperBound)
                    i = word.upperBound
                } else {
                    // The next element is a literal (two captures never touch); capture up to its first
                    // occurrence, at least one byte.
                    guard case .literal(let lit) = elements[k + 1],
                        let at = find(lit, in: b, from: i + 1, to: word.upperBound)
                    else { return nil }
                    ranges.append(i..<at)
                    i = at
                }
            }
        }
        // Trailing punctuation the pattern did not mention ("[1112]:").
        while i < word.upperBound {
            switch b[i] {
            case UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "."): i += 1
            default: return nil
            }
        }
        return ranges
    }

    private static func find(_ lit: [UInt8], in b: UnsafeBufferPointer<UInt8>, from: Int, to end: Int) -> Int? {
        guard !lit.isEmpty, end - from >= lit.count else { return nil }
        var s = from
        while s + lit.count <= end {
            var ok = true
            for (j, c) in lit.enumerated() where b[s + j] != c {
                ok = false
                break
            }
            if ok { return s }
            s += 1
        }
        return nil
    }
}
