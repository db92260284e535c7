/// A strict RFC 8259 validator for documents the project writes, independent of `JSONParser` (which is lenient
/// by design: it repairs invalid UTF-8 and keeps the last of repeated keys). A document passes when it is
/// exactly one JSON value with nothing around it, valid UTF-8, on one line, with no key repeated in an object.
public enum JSONCheck {
    /// Nil when valid; otherwise what is wrong and where.
    public static func validate(_ bytes: [UInt8]) -> String? {
        guard String(validating: bytes, as: UTF8.self) != nil else { return "invalid UTF-8" }
        if bytes.contains(0x0A) { return "a raw newline" }
        return bytes.withUnsafeBufferPointer { buf -> String? in
            var v = Validator(b: buf)
            do throws(Validator.Failure) {
                try v.value(depth: 0)
                guard v.i == buf.count else { throw Validator.Failure(offset: v.i, reason: "data after the value") }
            } catch {
                return "invalid JSON at byte \(error.offset): \(error.reason)"
            }
            return nil
        }
    }

    struct Validator {
        struct Failure: Error {
            var offset: Int
            var reason: String
        }

        let b: UnsafeBufferPointer<UInt8>
        var i = 0

        func fail(_ reason: String) -> Failure { Failure(offset: i, reason: reason) }

        func peek() -> UInt8? { i < b.count ? b[i] : nil }

        mutating func expect(_ c: UInt8) throws(Failure) {
            guard peek() == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
            i += 1
        }

        mutating func literal(_ s: StaticString) throws(Failure) {
            for k in 0..<s.utf8CodeUnitCount {
                guard peek() == s.utf8Start[k] else { throw fail("bad literal") }
                i += 1
            }
        }

        mutating func value(depth: Int) throws(Failure) {
            guard depth < 200 else { throw fail("nested deeper than 200") }
            guard let c = peek() else { throw fail("expected a value") }
            switch c {
            case UInt8(ascii: "{"):
                i += 1
                var keys: Set<[UInt8]> = []
                if peek() == UInt8(ascii: "}") {
                    i += 1
                    return
                }
                while true {
                    let start = i
                    try string()
                    guard keys.insert(Array(b[start..<i])).inserted else {
                        throw Failure(
                            offset: start, reason: "repeated key \(String(decoding: b[start..<i], as: UTF8.self))")
                    }
                    try expect(UInt8(ascii: ":"))
                    try value(depth: depth + 1)
                    if peek() == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    try expect(UInt8(ascii: "}"))
                    return
                }
            case UInt8(ascii: "["):
                i += 1
                if peek() == UInt8(ascii: "]") {
                    i += 1
                    return
                }
                while true {
                    try value(depth: depth + 1)
                    if peek() == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    try expect(UInt8(ascii: "]"))
                    return
                }
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default: try number()
            }
        }

        /// A string, escapes checked (a `\u` surrogate must pair); the document is valid UTF-8 already.
        mutating func string() throws(Failure) {
            try expect(UInt8(ascii: "\""))
            while true {
                guard let c = peek() else { throw fail("unterminated string") }
                i += 1
                if c == UInt8(ascii: "\"") { return }
                if c < 0x20 { throw Failure(offset: i - 1, reason: "unescaped control character") }
                guard c == UInt8(ascii: "\\") else { continue }
                guard let e = peek() else { throw fail("unterminated escape") }
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    let u = try hex4()
                    if u >= 0xD800, u < 0xDC00 {
                        try literal("\\u")
                        let low = try hex4()
                        guard low >= 0xDC00, low < 0xE000 else { throw fail("unpaired high surrogate") }
                    } else if u >= 0xDC00, u < 0xE000 {
                        throw fail("unpaired low surrogate")
                    }
                default: throw fail("invalid escape")
                }
            }
        }

        mutating func hex4() throws(Failure) -> Int {
            var v = 0
            for _ in 0..<4 {
                guard let c = peek() else { throw fail("short \\u escape") }
                let d: Int
                switch c {
                case 0x30...0x39: d = Int(c) - 0x30
                case 0x41...0x46: d = Int(c) - 0x41 + 10
                case 0x61...0x66: d = Int(c) - 0x61 + 10
                default: throw fail("bad hex digit")
                }
                v = v * 16 + d
                i += 1
            }
            return v
        }

        mutating func digits() throws(Failure) {
            guard let c = peek(), c >= 0x30, c <= 0x39 else { throw fail("expected a digit") }
            while let c = peek(), c >= 0x30, c <= 0x39 { i += 1 }
        }

        mutating func number() throws(Failure) {
            if peek() == UInt8(ascii: "-") { i += 1 }
            if peek() == UInt8(ascii: "0") {
                i += 1
            } else {
                try digits()
            }
            if peek() == UInt8(ascii: ".") {
                i += 1
                try digits()
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                i += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1 }
                try digits()
            }
        }
    }
}
