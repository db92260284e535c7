/// Renders JSON into a byte buffer: compact, UTF-8, keys in order, no trailing newline.
///
/// Hand-written rather than `JSONEncoder` because the hot path renders every event: it appends into one
/// reusable `[UInt8]`, escapes only what RFC 8259 requires (plus U+2028/2029 for JavaScript consumers),
/// and keeps integers as integers.
public struct JSONWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public static func render(_ value: JSONValue) -> [UInt8] {
        var w = JSONWriter()
        w.write(value)
        return w.bytes
    }

    public static func renderString(_ value: JSONValue) -> String {
        String(decoding: render(value), as: UTF8.self)
    }

    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let b): bytes.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): writeInt(i)
        case .double(let d): writeDouble(d)
        case .string(let s): writeString(s)
        case .array(let a):
            bytes.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                write(v)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let o): write(o)
        }
    }

    public mutating func write(_ object: JSONObject) {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for (k, v) in object {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            writeString(k)
            bytes.append(UInt8(ascii: ":"))
            write(v)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func writeInt<T: BinaryInteger>(_ i: T) {
        if i == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        // Magnitude digits in reverse, into a small stack-like buffer, without allocating a String.
        var digits: (UInt64, Bool) = (0, i < 0)
        digits.0 = i < 0 ? UInt64(truncatingIfNeeded: 0 &- Int64(i)) : UInt64(i)
        if i < 0 && Int64(i) == Int64.min { digits.0 = UInt64(Int64.max) + 1 }
        if digits.1 { bytes.append(UInt8(ascii: "-")) }
        let start = bytes.count
        var m = digits.0
        while m > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(m % 10))
            m /= 10
        }
        bytes[start...].reverse()
    }

    public mutating func writeDouble(_ d: Double) {
        guard d.isFinite else {
            // JSON has no NaN or infinity; null is what every consumer accepts.
            bytes.append(contentsOf: "null".utf8)
            return
        }
        if d.rounded() == d && abs(d) < 1e15 {
            // Keep it visibly a float ("2.0") so a round trip keeps the type.
            writeInt(Int64(d))
            bytes.append(contentsOf: ".0".utf8)
        } else {
            bytes.append(contentsOf: "\(d)".utf8)
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    public mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { buf in appendEscaped(buf) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes already-valid UTF-8 bytes as a JSON string body (without quotes).
    public mutating func appendEscaped(_ buf: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        var i = 0
        let n = buf.count
        while i < n {
            i = JSONBytes.firstSpecial(buf, from: i, stopAtNonASCII: true)
            guard i < n else { break }
            let c = buf[i]
            var esc: UInt8 = 0
            if c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                esc = 1
            } else if c == 0xE2 && i + 2 < n && buf[i + 1] == 0x80 && (buf[i + 2] == 0xA8 || buf[i + 2] == 0xA9) {
                esc = 2
            }
            if esc == 0 {
                i += 1
                continue
            }
            if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<i])) }
            if esc == 2 {
                bytes.append(contentsOf: (buf[i + 2] == 0xA8 ? "\\u2028" : "\\u2029").utf8)
                i += 3
            } else {
                switch c {
                case UInt8(ascii: "\""): bytes.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\\"): bytes.append(contentsOf: "\\\\".utf8)
                case 0x0A: bytes.append(contentsOf: "\\n".utf8)
                case 0x0D: bytes.append(contentsOf: "\\r".utf8)
                case 0x09: bytes.append(contentsOf: "\\t".utf8)
                default:
                    bytes.append(contentsOf: "\\u00".utf8)
                    bytes.append(Self.hex[Int(c >> 4)])
                    bytes.append(Self.hex[Int(c & 0xF)])
                }
                i += 1
            }
            runStart = i
        }
        if runStart < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<n])) }
    }
}

/// Scanning JSON string bytes eight at a time. Log messages are mostly ASCII without quotes or backslashes, and
/// the per-byte loops of the writer and the parser were their hottest code (`appendEscaped`, `parseString`).
enum JSONBytes {
    /// The index of the first byte at or after `from` that is `"`, `\`, a control character (< 0x20) or, when
    /// `stopAtNonASCII`, >= 0x80; `buf.count` when there is none.
    @inline(__always)
    static func firstSpecial(_ buf: UnsafeBufferPointer<UInt8>, from: Int, stopAtNonASCII: Bool) -> Int {
        var i = from
        let n = buf.count
        if let base = buf.baseAddress, n - i >= 8 {
            let raw = UnsafeRawPointer(base)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while i + 8 <= n {
                let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                // "has a byte below N" and "has a zero byte" (Bit Twiddling Hacks): the lowest flagged byte is exact.
                let control = (w &- ones &* 0x20) & ~w & highs
                let q = w ^ (ones &* 0x22)
                let b = w ^ (ones &* 0x5C)
                var m = control | ((q &- ones) & ~q & highs) | ((b &- ones) & ~b & highs)
                if stopAtNonASCII { m |= w & highs }
                if m != 0 { return i + (m.trailingZeroBitCount >> 3) }
                i += 8
            }
        }
        while i < n {
            let c = buf[i]
            if c < 0x20 || c == 0x22 || c == 0x5C || (stopAtNonASCII && c >= 0x80) { return i }
            i += 1
        }
        return n
    }
}
