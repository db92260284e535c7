/// Parses RFC 8259 JSON from bytes into `JSONValue`.
///
/// Hand-written (see `JSONValue` for why not Foundation). Guarantees for hostile input: never traps, depth
/// is bounded (`maxDepth`), and every failure is a `JSONParseError` naming the byte offset. Invalid UTF-8
/// inside strings is repaired with U+FFFD rather than rejected, so a log line is never lost for one bad
/// byte. `allowHexEscapes` additionally accepts nginx's `\xHH` escapes (its `escape=default` log format).
public struct JSONParser {
    public struct Options: Sendable {
        public var maxDepth: Int
        public var allowHexEscapes: Bool
        public init(maxDepth: Int = 64, allowHexEscapes: Bool = false) {
            self.maxDepth = maxDepth
            self.allowHexEscapes = allowHexEscapes
        }
    }

    public static func parse(_ bytes: [UInt8], options: Options = Options()) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buf throws(JSONParseError) in try parse(buf, options: options) }
    }

    public static func parse(_ string: String, options: Options = Options()) throws(JSONParseError) -> JSONValue {
        try parse(Array(string.utf8), options: options)
    }

    public static func parse(_ buf: UnsafeBufferPointer<UInt8>, options: Options = Options()) throws(JSONParseError)
        -> JSONValue
    {
        var p = JSONParser(buf: buf, options: options)
        p.skipWhitespace()
        let v = try p.parseValue(depth: 0)
        try p.finish()
        return v
    }

    /// Parses one value at the start of `buf` and returns it with the offset just past it (no trailing check).
    public static func parsePrefix(_ buf: UnsafeBufferPointer<UInt8>, options: Options = Options())
        throws(JSONParseError)
        -> (JSONValue, Int)
    {
        var p = JSONParser(buf: buf, options: options)
        p.skipWhitespace()
        let v = try p.parseValue(depth: 0)
        return (v, p.pos)
    }

    fileprivate let buf: UnsafeBufferPointer<UInt8>
    fileprivate let options: Options
    fileprivate var pos = 0
    fileprivate var scratch: [UInt8] = []
    fileprivate var validation = Validation()

    fileprivate init(buf: UnsafeBufferPointer<UInt8>, options: Options) {
        self.buf = buf
        self.options = options
    }

    fileprivate mutating func skipWhitespace() {
        while pos < buf.count {
            switch buf[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    fileprivate func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: pos, reason: reason) }

    fileprivate mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard pos < buf.count else { throw fail("unexpected end of input") }
        switch buf[pos] {
        case UInt8(ascii: "{"):
            var obj = JSONObject()
            try walkObject(depth: depth) { p throws(JSONParseError) in
                let key = try p.parseString()
                try p.colon()
                // A repeated key keeps its first position and the last value, as most parsers do.
                obj[key] = try p.parseValue(depth: depth + 1)
            }
            return .object(obj)
        case UInt8(ascii: "["):
            var arr: [JSONValue] = []
            try walkArray(depth: depth) { p throws(JSONParseError) in arr.append(try p.parseValue(depth: depth + 1)) }
            return .array(arr)
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw fail("unexpected character")
        }
    }

    /// The object at `pos` (`{`): `member` reads each member from its key's opening quote through its value.
    fileprivate mutating func walkObject(
        depth: Int, _ member: (inout JSONParser) throws(JSONParseError) -> Void
    ) throws(JSONParseError) {
        try walk(depth: depth, close: UInt8(ascii: "}"), kind: "object") { p throws(JSONParseError) in
            guard p.pos < p.buf.count, p.buf[p.pos] == UInt8(ascii: "\"") else { throw p.fail("expected a string key") }
            try member(&p)
        }
    }

    /// The array at `pos` (`[`): `element` reads each element.
    fileprivate mutating func walkArray(
        depth: Int, _ element: (inout JSONParser) throws(JSONParseError) -> Void
    ) throws(JSONParseError) {
        try walk(depth: depth, close: UInt8(ascii: "]"), kind: "array", element)
    }

    /// The brackets, commas, whitespace and depth limit of an object or array, for building and skipping alike.
    private mutating func walk(
        depth: Int, close: UInt8, kind: StaticString, _ item: (inout JSONParser) throws(JSONParseError) -> Void
    ) throws(JSONParseError) {
        guard depth < options.maxDepth else { throw fail("nesting deeper than \(options.maxDepth)") }
        guard open(close: close) else { return }
        repeat { try item(&self) } while try next(close: close, kind: kind)
    }

    /// At `{` or `[`: consumes it and the whitespace after it; false when `close` follows at once (consumed too).
    /// Shared by `walk` and `JSONReader`.
    fileprivate mutating func open(close: UInt8) -> Bool {
        pos += 1
        skipWhitespace()
        guard pos < buf.count, buf[pos] == close else { return true }
        pos += 1
        return false
    }

    /// After an item: true at `,` (consumed, with the whitespace after it), false at `close` (consumed).
    fileprivate mutating func next(close: UInt8, kind: StaticString) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard pos < buf.count else { throw fail("unterminated \(kind)") }
        if buf[pos] == UInt8(ascii: ",") {
            pos += 1
            skipWhitespace()
            return true
        }
        if buf[pos] == close {
            pos += 1
            return false
        }
        throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))' in \(kind)")
    }

    /// Only whitespace may follow the value.
    fileprivate mutating func finish() throws(JSONParseError) {
        skipWhitespace()
        if pos != buf.count { throw fail("unexpected data after the JSON value") }
    }

    /// The `:` after a key, with the whitespace around it.
    fileprivate mutating func colon() throws(JSONParseError) {
        skipWhitespace()
        guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
        pos += 1
        skipWhitespace()
    }

    fileprivate mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= buf.count else { throw fail("unexpected end of input") }
        let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
        for i in 0..<n where buf[pos + i] != w[i] { throw fail("invalid literal") }
        pos += n
    }

    /// Moves past a number's grammar (RFC 8259 §6); true when it has no fraction and no exponent.
    fileprivate mutating func scanNumber() throws(JSONParseError) -> Bool {
        var isInt = true
        if buf[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < buf.count, buf[pos] >= 0x30, buf[pos] <= 0x39 else { throw fail("invalid number") }
        if buf[pos] == UInt8(ascii: "0") {
            pos += 1
        } else {
            while pos < buf.count, buf[pos] >= 0x30, buf[pos] <= 0x39 { pos += 1 }
        }
        if pos < buf.count, buf[pos] == UInt8(ascii: ".") {
            isInt = false
            pos += 1
            guard pos < buf.count, buf[pos] >= 0x30, buf[pos] <= 0x39 else { throw fail("invalid number fraction") }
            while pos < buf.count, buf[pos] >= 0x30, buf[pos] <= 0x39 { pos += 1 }
        }
        if pos < buf.count, buf[pos] == UInt8(ascii: "e") || buf[pos] == UInt8(ascii: "E") {
            isInt = false
            pos += 1
            if pos < buf.count, buf[pos] == UInt8(ascii: "+") || buf[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < buf.count, buf[pos] >= 0x30, buf[pos] <= 0x39 else { throw fail("invalid number exponent") }
            while pos < buf.count, buf[pos] >= 0x30, buf[pos] <= 0x39 { pos += 1 }
        }
        return isInt
    }

    fileprivate mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = pos
        let isInt = try scanNumber()

        if isInt, pos - start <= 18 {
            // Up to 18 digits cannot overflow Int64: no String, no library parse (the common case in events).
            var i = start
            let negative = buf[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            var v: Int64 = 0
            while i < pos {
                v = v &* 10 &+ Int64(buf[i] &- 0x30)
                i += 1
            }
            return .int(negative ? -v : v)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
        if isInt, let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw JSONParseError(offset: start, reason: "invalid number") }
        return .double(d)
    }

    fileprivate mutating func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - 0x30)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - 0x61 + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - 0x41 + 10)
        default: return nil
        }
    }

    fileprivate mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard pos + 4 <= buf.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for i in 0..<4 {
            guard let h = hexValue(buf[pos + i]) else { throw fail("invalid \\u escape") }
            v = v << 4 | h
        }
        pos += 4
        return v
    }

    private mutating func appendScalar(_ v: UInt32) {
        let s = Unicode.Scalar(v) ?? "\u{FFFD}"
        for b in UTF8.encode(s)! { scratch.append(b) }
    }

    fileprivate mutating func parseString() throws(JSONParseError) -> String {
        pos += 1  // opening quote
        let start = pos
        // Fast path: no escapes.
        while pos < buf.count {
            pos = JSONBytes.firstSpecial(buf, from: pos, stopAtNonASCII: false)
            guard pos < buf.count else { break }
            let c = buf[pos]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
                pos += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character in string") }
            pos += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<pos]))
        while pos < buf.count {
            let c = buf[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") {
                scratch.append(c)
                pos += 1
                continue
            }
            pos += 1
            guard pos < buf.count else { break }
            let e = buf[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5C)
            case UInt8(ascii: "/"): scratch.append(0x2F)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if v >= 0xD800 && v < 0xDC00 {
                    // A high surrogate must be followed by \u low surrogate; a lone one becomes U+FFFD.
                    if pos + 6 <= buf.count, buf[pos] == UInt8(ascii: "\\"), buf[pos + 1] == UInt8(ascii: "u") {
                        let save = pos
                        pos += 2
                        let lo = try hex4()
                        if lo >= 0xDC00 && lo < 0xE000 {
                            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            pos = save
                            v = 0xFFFD
                        }
                    } else {
                        v = 0xFFFD
                    }
                } else if v >= 0xDC00 && v < 0xE000 {
                    v = 0xFFFD
                }
                appendScalar(v)
            case UInt8(ascii: "x") where options.allowHexEscapes:
                guard pos + 2 <= buf.count, let h = hexValue(buf[pos]), let l = hexValue(buf[pos + 1]) else {
                    throw fail("invalid \\x escape")
                }
                pos += 2
                scratch.append(UInt8(h << 4 | l))
            default:
                throw JSONParseError(offset: pos - 1, reason: "invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        throw fail("unterminated string")
    }
}

// MARK: - Validating without building values

extension JSONParser {
    /// What `validate` learned about valid JSON besides its validity.
    public struct Validation: Sendable, Equatable {
        /// A string holds bytes that are not UTF-8; `parse` would repair them (U+FFFD), so a caller that keeps the
        /// bytes as they are must take the parse-and-render path for this value instead.
        public var invalidUTF8 = false
    }

    /// Checks that `buf` is exactly one JSON value (with surrounding whitespace) without building it: no
    /// allocation, about a third of `parse`'s time. Rejects what `parse` rejects, except that a string with
    /// bytes that are not UTF-8 is reported in the result rather than repaired.
    public static func validate(_ buf: UnsafeBufferPointer<UInt8>, options: Options = Options()) throws(JSONParseError)
        -> Validation
    {
        var p = JSONParser(buf: buf, options: options)
        p.skipWhitespace()
        try p.skipValue(depth: 0)
        try p.finish()
        return p.validation
    }

    public static func validate(_ bytes: [UInt8], options: Options = Options()) throws(JSONParseError) -> Validation {
        try bytes.withUnsafeBufferPointer { buf throws(JSONParseError) in try validate(buf, options: options) }
    }

    /// Parses a document that must be one JSON object, building only the members `keep` selects (by key) and
    /// skipping the others; e.g. a file destination needs `host` and `program` of a document, not its fields.
    public static func parseObject(
        _ buf: UnsafeBufferPointer<UInt8>, options: Options = Options(), keeping keep: (String) -> Bool
    ) throws(JSONParseError) -> JSONObject {
        var r = JSONReader(buf, options: options)
        var object = JSONObject()
        if try r.beginObject() {
            repeat {
                let key = try r.key()
                if keep(key) { object[key] = try r.value() } else { _ = try r.skip() }
            } while try r.nextMember()
        }
        try r.end()
        return object
    }

    public static func parseObject(
        _ bytes: [UInt8], options: Options = Options(), keeping keep: (String) -> Bool
    ) throws(JSONParseError) -> JSONObject {
        try bytes.withUnsafeBufferPointer { buf throws(JSONParseError) in
            try parseObject(buf, options: options, keeping: keep)
        }
    }

    fileprivate mutating func skipValue(depth: Int) throws(JSONParseError) {
        guard pos < buf.count else { throw fail("unexpected end of input") }
        switch buf[pos] {
        case UInt8(ascii: "{"):
            try walkObject(depth: depth) { p throws(JSONParseError) in
                try p.skipString()
                try p.colon()
                try p.skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "["):
            try walkArray(depth: depth) { p throws(JSONParseError) in try p.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        default: throw fail("unexpected character")
        }
    }

    /// A string checked like `parseString` checks it, without building it; bytes that are not UTF-8 set
    /// `validation.invalidUTF8`.
    fileprivate mutating func skipString() throws(JSONParseError) {
        pos += 1  // opening quote
        while pos < buf.count {
            pos = JSONBytes.firstSpecial(buf, from: pos, stopAtNonASCII: true)
            guard pos < buf.count else { break }
            let c = buf[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return
            }
            if c < 0x20 { throw fail("control character in string") }
            if c >= 0x80 {
                let n = Self.utf8SequenceLength(buf, at: pos)
                if n == 0 {
                    validation.invalidUTF8 = true
                    pos += 1
                } else {
                    pos += n
                }
                continue
            }
            pos += 1
            guard c == UInt8(ascii: "\\") else { continue }
            guard pos < buf.count else { break }
            let e = buf[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                continue
            case UInt8(ascii: "u"): _ = try hex4()
            case UInt8(ascii: "x") where options.allowHexEscapes:
                guard pos + 2 <= buf.count, hexValue(buf[pos]) != nil, hexValue(buf[pos + 1]) != nil else {
                    throw fail("invalid \\x escape")
                }
                // `\xHH` decodes to one byte, which need not be UTF-8 on its own: let the parser repair it.
                validation.invalidUTF8 = true
                pos += 2
            default:
                throw JSONParseError(offset: pos - 1, reason: "invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        throw fail("unterminated string")
    }

    /// The length of the well-formed UTF-8 sequence at `i` (whose first byte is >= 0x80), or 0 when it is not one
    /// (overlong forms, surrogates and values above U+10FFFF included).
    private static func utf8SequenceLength(_ buf: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let b0 = buf[i]
        func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            i + k < buf.count && buf[i + k] >= lo && buf[i + k] <= hi
        }
        switch b0 {
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0: return cont(1, 0xA0) && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xED: return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0
        case 0xF0: return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4: return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }
}

/// A pull reader over one JSON value: walks objects and arrays member by member, building the values a caller
/// asks for (`value()`) and only validating the ones it skips (`skip()`, which returns their byte range so they
/// can be kept as they are). The receiver decodes batches with it and keeps each event document's bytes.
///
///     if try r.beginObject() { repeat { let k = try r.key(); ... } while try r.nextMember() }
public struct JSONReader {
    private var parser: JSONParser

    /// `buf` must outlive the reader.
    public init(_ buf: UnsafeBufferPointer<UInt8>, options: JSONParser.Options = JSONParser.Options()) {
        parser = JSONParser(buf: buf, options: options)
        parser.skipWhitespace()
    }

    /// The offset of the next byte to read.
    public var offset: Int { parser.pos }
    /// Whether a skipped string held bytes that are not UTF-8 (see `JSONParser.Validation`); the caller resets it.
    public var sawInvalidUTF8: Bool {
        get { parser.validation.invalidUTF8 }
        set { parser.validation.invalidUTF8 = newValue }
    }

    /// The next byte, without consuming it (nil at the end).
    public var peek: UInt8? { parser.pos < parser.buf.count ? parser.buf[parser.pos] : nil }

    /// Consumes `{`; true when the object has members (the reader then stands at the first key).
    public mutating func beginObject() throws(JSONParseError) -> Bool {
        try begin(UInt8(ascii: "{"), UInt8(ascii: "}"), "expected a JSON object")
    }

    /// Consumes `[`; true when the array has elements.
    public mutating func beginArray() throws(JSONParseError) -> Bool {
        try begin(UInt8(ascii: "["), UInt8(ascii: "]"), "expected a JSON array")
    }

    private mutating func begin(_ open: UInt8, _ close: UInt8, _ what: String) throws(JSONParseError) -> Bool {
        guard peek == open else { throw parser.fail(what) }
        let items = parser.open(close: close)
        parser.skipWhitespace()
        return items
    }

    /// A member's key and its `:`.
    public mutating func key() throws(JSONParseError) -> String {
        guard peek == UInt8(ascii: "\"") else { throw parser.fail("expected a string key") }
        let k = try parser.parseString()
        try parser.colon()
        return k
    }

    /// The next value, built.
    public mutating func value() throws(JSONParseError) -> JSONValue {
        let v = try parser.parseValue(depth: 1)
        parser.skipWhitespace()
        return v
    }

    /// The next value, validated and skipped; its byte range.
    public mutating func skip() throws(JSONParseError) -> Range<Int> {
        let start = parser.pos
        try parser.skipValue(depth: 1)
        let end = parser.pos
        parser.skipWhitespace()
        return start..<end
    }

    /// After a member's value: true when another member follows (`,` consumed), false at `}` (consumed).
    public mutating func nextMember() throws(JSONParseError) -> Bool {
        try next(UInt8(ascii: "}"), "object")
    }

    /// After an element: true when another element follows, false at `]`.
    public mutating func nextElement() throws(JSONParseError) -> Bool {
        try next(UInt8(ascii: "]"), "array")
    }

    private mutating func next(_ close: UInt8, _ kind: StaticString) throws(JSONParseError) -> Bool {
        let more = try parser.next(close: close, kind: kind)
        parser.skipWhitespace()
        return more
    }

    /// Checks that nothing but whitespace follows.
    public mutating func end() throws(JSONParseError) { try parser.finish() }
}

public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset in the input where parsing failed.
    public var offset: Int
    public var reason: String
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}
