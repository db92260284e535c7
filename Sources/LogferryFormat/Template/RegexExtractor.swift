import LogferryCore

/// `regex:` in a template: a regular expression whose named groups (`(?<status>\d+)`) become string fields.
///
/// The first match anywhere in the message counts (anchor with `^`/`$` to match all of it); a message that does not
/// match adds nothing and gets no error, like `pattern:`. A named group that took no part in the match is left out.
/// The syntax is Swift's `Regex` (PCRE/ICU-like: `\d \w \s`, classes, `(?i)`, lazy quantifiers, lookahead).
///
/// Swift `Regex` rather than Foundation's `NSRegularExpression`: measured within 10% of each other here (see
/// docs/PARSING.md), and the standard library's needs no Foundation in this target.
public struct RegexExtractor: Sendable {
    public let text: String
    /// The group names, in pattern order.
    public let captureNames: [String]
    // `Regex<AnyRegexOutput>` is not Sendable; this one is immutable after init and matching does not mutate it.
    private let box: RegexBox

    public init(_ text: String, part: String = "regex") throws(TemplateError) {
        self.text = text
        let regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(text)
        } catch {
            throw TemplateError(message: "not a valid regular expression: \(error)", column: 1, part: part)
        }
        let names = Self.groupNames(in: text).filter { regex.contains(captureNamed: $0) }
        guard !names.isEmpty else {
            throw TemplateError(
                message: "the regex has no named group; name what to keep as (?<name>...)", column: 1, part: part)
        }
        var seen: Set<String> = []
        for name in names where !seen.insert(name).inserted {
            throw TemplateError(message: "group name \(name) is used twice", column: 1, part: part)
        }
        captureNames = names
        box = RegexBox(regex: regex)
    }

    /// The named groups of the first match; nil when the message does not match.
    public func match(_ message: String) -> [(name: String, value: String)]? {
        guard let m = try? box.regex.firstMatch(in: message) else { return nil }
        var out: [(name: String, value: String)] = []
        out.reserveCapacity(captureNames.count)
        for name in captureNames {
            if let sub = m.output[name]?.substring { out.append((name, String(sub))) }
        }
        return out
    }

    /// `(?<name>` and `(?P<name>` openings outside escapes, in order.
    static func groupNames(in pattern: String) -> [String] {
        let c = Array(pattern.utf8)
        var names: [String] = []
        var i = 0
        while i < c.count {
            if c[i] == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if c[i] == UInt8(ascii: "("), i + 2 < c.count, c[i + 1] == UInt8(ascii: "?") {
                var j = i + 2
                if j < c.count, c[j] == UInt8(ascii: "P") { j += 1 }
                if j < c.count, c[j] == UInt8(ascii: "<"), j + 1 < c.count, c[j + 1] != UInt8(ascii: "="),
                    c[j + 1] != UInt8(ascii: "!")
                {
                    var k = j + 1
                    while k < c.count, c[k] != UInt8(ascii: ">") { k += 1 }
                    if k < c.count, k > j + 1 { names.append(String(decoding: c[(j + 1)..<k], as: UTF8.self)) }
                }
            }
            i += 1
        }
        return names
    }
}

/// Holds a compiled `Regex` so `RegexExtractor` can be Sendable: `Regex<AnyRegexOutput>` is not declared Sendable
/// because its output type erases captures, but a regex is an immutable value and `firstMatch` does not mutate it.
/// No lock needed: nothing ever writes `regex` after init.
private final class RegexBox: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>
    init(regex: Regex<AnyRegexOutput>) { self.regex = regex }
}
