import LogferryCore

/// `kv: true`: the `key=value` pairs of a message (logfmt, iptables, many appliances), as strings.
///
/// - Pairs are separated by spaces or tabs; a word that is not a pair is skipped (`user=bob logged in ok=1` gives
///   `user` and `ok`).
/// - A key is 1–64 characters of letters, digits, `_ . - @`, starting with a letter, digit or `_`.
/// - A value is either the text up to the next space (a trailing `,` or `;` is dropped, so `a=1, b=2` works), or
///   quoted with `"` or `'`, where `\"`, `\'` and `\\` are unescaped and spaces kept (`msg="a b"`). An empty
///   value (`k=`) is the empty string. An unterminated quote takes the rest of the message.
/// - A key seen twice keeps its last value.
/// Hand-written rather than a regex: one pass over the bytes, no backtracking, and quoted values need unescaping.
public enum KeyValueExtractor {
    public static func extract(_ message: String) -> [(name: String, value: String)] {
        var message = message
        return message.withUTF8 { extract(buffer: $0) }
    }

    static func isKeyStart(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z"))
            || c == UInt8(ascii: "_")
    }

    static func isKeyChar(_ c: UInt8) -> Bool {
        isKeyStart(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "@")
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    public static func extract(buffer b: UnsafeBufferPointer<UInt8>) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        var i = 0
        while i < b.count {
            while i < b.count, isSpace(b[i]) { i += 1 }
            let keyStart = i
            guard i < b.count, isKeyStart(b[i]) else {
                // Not a key: skip the word, and a quoted stretch in it as a whole.
                i = skipWord(b, i)
                continue
            }
            while i < b.count, isKeyChar(b[i]), i - keyStart < 64 { i += 1 }
            guard i < b.count, b[i] == UInt8(ascii: "=") else {
                i = skipWord(b, i)
                continue
            }
            let key = PresetScan.string(b, keyStart..<i)
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") {
                let quote = b[i]
                var value: [UInt8] = []
                i += 1
                while i < b.count, b[i] != quote {
                    if b[i] == UInt8(ascii: "\\"), i + 1 < b.count,
                        b[i + 1] == quote || b[i + 1] == UInt8(ascii: "\\")
                    {
                        i += 1
                    }
                    value.append(b[i])
                    i += 1
                }
                i += 1  // the closing quote (or past the end)
                set(&out, key, String(decoding: value, as: UTF8.self))
            } else {
                let start = i
                while i < b.count, !isSpace(b[i]) { i += 1 }
                var end = i
                if end > start, b[end - 1] == UInt8(ascii: ",") || b[end - 1] == UInt8(ascii: ";") { end -= 1 }
                set(&out, key, PresetScan.string(b, start..<end))
            }
        }
        return out
    }

    private static func skipWord(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        var i = start
        while i < b.count, !isSpace(b[i]) {
            if b[i] == UInt8(ascii: "\"") {
                i += 1
                while i < b.count, b[i] != UInt8(ascii: "\"") { i += 1 }
            }
            i += 1
        }
        return i
    }

    private static func set(_ out: inout [(name: String, value: String)], _ key: String, _ value: String) {
        if let k = out.firstIndex(where: { $0.name == key }) { out[k].value = value } else { out.append((key, value)) }
    }
}
