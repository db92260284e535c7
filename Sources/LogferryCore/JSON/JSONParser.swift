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
        p.skipWhitespace()
        if p.pos != buf.count { throw JSONParseError(offset: p.pos, reason: "unexpected data after the JSON value") }
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

    private let buf: UnsafeBufferPointer<UInt8>
    private let options: Options
    private var pos = 0
    private var scratch: [UInt8] = []

    private init(buf: UnsafeBufferPointer<UInt8>, options: Options) {
        self.buf = buf
        self.options = options
    }

    private mutating func skipWhitespace() {
        while pos < buf.count {
            switch buf[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    private func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: pos, reason: reason) }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard pos < buf.count else { throw fail("unexpected end of input") }
        switch buf[pos] {
        case UInt8(ascii: "{"):
            guard depth < options.maxDepth else { throw fail("nesting deeper than \(options.maxDepth)") }
            pos += 1
            var obj = JSONObject()
            skipWhitespace()
            if pos < buf.count && buf[pos] == UInt8(ascii: "}") {
                pos += 1
                return .object(obj)
            }
            while true {
                skipWhitespace()
                guard pos < buf.count, buf[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try parseString()
                skipWhitespace()
                guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
                pos += 1
                skipWhitespace()
                let v = try parseValue(depth: depth + 1)
                obj[key] = v  // a repeated key keeps its first position and the last value, as most parsers do
                skipWhitespace()
                guard pos < buf.count else { throw fail("unterminated object") }
                if buf[pos] == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                if buf[pos] == UInt8(ascii: "}") {
                    pos += 1
                    return .object(obj)
                }
                throw fail("expected ',' or '}' in object")
            }
        case UInt8(ascii: "["):
            guard depth < options.maxDepth else { throw fail("nesting deeper than \(options.maxDepth)") }
            pos += 1
            var arr: [JSONValue] = []
            skipWhitespace()
            if pos < buf.count && buf[pos] == UInt8(ascii: "]") {
                pos += 1
                return .array(arr)
            }
            while true {
                skipWhitespace()
                arr.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard pos < buf.count else { throw fail("unterminated array") }
                if buf[pos] == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                if buf[pos] == UInt8(ascii: "]") {
                    pos += 1
                    return .array(arr)
                }
                throw fail("expected ',' or ']' in array")
            }
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

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= buf.count else { throw fail("unexpected end of input") }
        let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
        for i in 0..<n where buf[pos + i] != w[i] { throw fail("invalid literal") }
        pos += n
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = pos
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
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
        if isInt, let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw JSONParseError(offset: start, reason: "invalid number") }
        return .double(d)
    }

    private mutating func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - 0x30)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - 0x61 + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - 0x41 + 10)
        default: return nil
        }
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
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

    private mutating func parseString() throws(JSONParseError) -> String {
        pos += 1  // opening quote
        let start = pos
        // Fast path: no escapes.
        while pos < buf.count {
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
