import LogferryTesting
import Testing

@testable import LogferryCore

/// `JSONParser.validate`, `parseObject(_:keeping:)` and `JSONReader`: the no-build paths the hot loops use must
/// accept and reject exactly what `parse` does.
@Suite struct JSONValidateTests {
    @Test(arguments: [
        #"{"b":1,"a":2,"c":{"z":null,"y":[true,false]}}"#, #"[1,2.5,"x",[],{}]"#, #""plain""#, "-0.5", "1e10",
        #" { "s" : "a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00" } "#, "{}", "[]", "null", "0",
    ])
    func acceptsWhatParseAccepts(text: String) throws {
        _ = try JSONParser.parse(text)
        #expect(try JSONParser.validate(Array(text.utf8)) == JSONParser.Validation())
    }

    @Test(arguments: [
        "", "{", #"{"a" 1}"#, #"{"a":1 "b":2}"#, "[1 2]", "[1,", "01", "1.", "1e+", "-", "tru", "trux",
        "\"a\u{01}b\"", #""abc"#, #""\u12"#, #""\uzzzz""#, "{} x", #"{"a":}"#, #""\q""#,
        "[" + String(repeating: "[", count: 70) + "]",
    ])
    func rejectsWhatParseRejects(text: String) {
        let bytes = Array(text.utf8)
        var parseError: JSONParseError?
        do { _ = try JSONParser.parse(bytes) } catch { parseError = error }
        #expect(parseError != nil)
        #expect(throws: JSONParseError.self) { try JSONParser.validate(bytes) }
    }

    /// Random mutations of valid documents: validate and parse agree on every one (seeded; the seed is printed).
    @Test func agreesWithParseOnMutatedDocuments() {
        let seed = UInt64.random(in: 1...UInt64.max)
        var rng = SplitMix64(seed: seed)
        let base = Array(
            #"{"@timestamp":"2026-11-21T12:00:00.123Z","host":"web-1","pid":42,"rt":0.003,"fields":{"a":[1,true,null,"x\"y"],"b":{}}}"#
                .utf8)
        let alphabet = Array(#"{}[]",:\ 0123456789.eE+-tfnulrsax"#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xA9, 0xFF]
        for _ in 0..<20_000 {
            var b = base
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: b[i] = alphabet.randomElement(using: &rng)!
                case 1: b.remove(at: i)
                default: b.insert(alphabet.randomElement(using: &rng)!, at: i)
                }
                if b.isEmpty { break }
            }
            let parsed = (try? JSONParser.parse(b)) != nil
            let validated = try? JSONParser.validate(b)
            #expect(parsed == (validated != nil), "seed \(seed): \(String(decoding: b, as: UTF8.self))")
        }
    }

    @Test func reportsBytesThatAreNotUTF8() throws {
        #expect(try JSONParser.validate([0x22, 0x61, 0xC3, 0xA9, 0x22]).invalidUTF8 == false)  // "aé"
        #expect(try JSONParser.validate([0x22, 0xFF, 0x22]).invalidUTF8)
        #expect(try JSONParser.validate([0x22, 0xC3, 0x22]).invalidUTF8)  // cut sequence
        #expect(try JSONParser.validate([0x22, 0xED, 0xA0, 0x80, 0x22]).invalidUTF8)  // surrogate
        #expect(try JSONParser.validate([0x22, 0xC0, 0xAF, 0x22]).invalidUTF8)  // overlong
        #expect(try JSONParser.validate([0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22]).invalidUTF8 == false)  // 😀
    }

    @Test func parseObjectBuildsOnlyTheKeptMembers() throws {
        let doc = Array(#"{"host":"web-1","fields":{"deep":[1,{"x":"y"}]},"program":"nginx","n":1.5}"#.utf8)
        let o = try JSONParser.parseObject(doc, keeping: ["host", "program"].contains)
        #expect(o == ["host": .string("web-1"), "program": .string("nginx")])
        #expect(throws: JSONParseError.self) {
            try JSONParser.parseObject(Array(#"{"host":"a","x":[1,}"#.utf8), keeping: { $0 == "host" })
        }
        #expect(throws: JSONParseError.self) { try JSONParser.parseObject(Array("[1]".utf8), keeping: { _ in true }) }
    }

    @Test func readerWalksMembersAndSkipsValuesByRange() throws {
        let text = Array(#" {"a": [1, 2] , "b":{"c":"d"}, "e" : 3 } "#.utf8)
        try text.withUnsafeBufferPointer { buf in
            var r = JSONReader(buf)
            var seen: [String] = []
            var skipped: [String] = []
            #expect(try r.beginObject())
            repeat {
                let k = try r.key()
                seen.append(k)
                if k == "e" {
                    #expect(try r.value() == .int(3))
                } else {
                    let range = try r.skip()
                    skipped.append(String(decoding: UnsafeBufferPointer(rebasing: buf[range]), as: UTF8.self))
                }
            } while try r.nextMember()
            try r.end()
            #expect(seen == ["a", "b", "e"])
            #expect(skipped == ["[1, 2]", #"{"c":"d"}"#])
        }
    }

    @Test func integersUpTo18DigitsAndBeyond() throws {
        #expect(try JSONParser.parse("999999999999999999") == .int(999_999_999_999_999_999))
        #expect(try JSONParser.parse("-999999999999999999") == .int(-999_999_999_999_999_999))
        #expect(try JSONParser.parse("9223372036854775807") == .int(.max))
        #expect(try JSONParser.parse("-0") == .int(0))
        #expect(try JSONParser.parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
    }

    @Test func documentIDAndTimestampsMatchTheirPlainForms() {
        let node = NodeIdentity(bytes: Array(0..<16).map { UInt8($0 * 17) })!
        for seq: UInt64 in [1, 9, 10, 99, 100, 123_456_789, .max] {
            #expect(EventOrigin(node: node, seq: seq).documentID == node.hex + "-" + String(seq))
        }
        #expect(node.hex == "00112233445566778899aabbccddeeff")
        #expect(Timestamp(nanos: 1_795_262_400 * 1_000_000_000 + 123_000_000).iso8601 == "2026-11-21T12:00:00.123Z")
        #expect(Timestamp(nanos: 1_795_262_400 * 1_000_000_000 + 123_456_789).iso8601 == "2026-11-21T12:00:00.123456Z")
        #expect(Timestamp(nanos: -1_000_000_000).iso8601 == "1969-12-31T23:59:59.000Z")
    }
    /// The eight-bytes-at-a-time scan finds exactly the byte a plain loop finds (seeded; the seed is printed).
    @Test func wordScanAgreesWithAByteLoop() {
        let seed = UInt64.random(in: 1...UInt64.max)
        var rng = SplitMix64(seed: seed)
        let pool: [UInt8] = Array(0x20...0x7E).filter { $0 != 0x22 && $0 != 0x5C }
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...40, using: &rng)
            var b = (0..<n).map { _ in pool.randomElement(using: &rng)! }
            for _ in 0..<Int.random(in: 0...2, using: &rng) where n > 0 {
                b[Int.random(in: 0..<n, using: &rng)] = [0x00, 0x1F, 0x22, 0x5C, 0x7F, 0x80, 0xC3, 0xFF].randomElement(
                    using: &rng)!
            }
            let from = n == 0 ? 0 : Int.random(in: 0...n, using: &rng)
            for stop in [false, true] {
                let expected =
                    b[from...].firstIndex { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || (stop && $0 >= 0x80) } ?? n
                let got = b.withUnsafeBufferPointer { JSONBytes.firstSpecial($0, from: from, stopAtNonASCII: stop) }
                #expect(got == expected, "seed \(seed): \(b) from \(from) stopAtNonASCII \(stop)")
            }
        }
    }
}
