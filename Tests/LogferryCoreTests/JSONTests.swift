import Testing

@testable import LogferryCore

@Suite struct JSONTests {
    static func roundTrip(_ text: String) throws -> String {
        JSONWriter.renderString(try JSONParser.parse(text))
    }

    @Test(arguments: [
        #"{"b":1,"a":2,"c":{"z":null,"y":[true,false]}}"#,
        #"{"status":200,"rt":0.25,"big":9223372036854775807,"neg":-9223372036854775808}"#,
        #"[1,2.5,"x",[],{}]"#,
        #""plain""#,
        "-0.5",
        "1.0",
    ])
    func roundTripKeepsOrderAndNumberTypes(text: String) throws {
        #expect(try Self.roundTrip(text) == text)
    }

    @Test func integersStayIntegers() throws {
        let v = try JSONParser.parse(#"{"i":200,"d":200.0,"e":2e2,"huge":123456789012345678901}"#)
        #expect(v["i"] == .int(200))
        #expect(v["d"] == .double(200))
        #expect(v["e"] == .double(200))
        #expect(v["huge"] == .double(123456789012345678901))
        #expect(v["i"]?.int64Value == 200)
        #expect(v["d"]?.int64Value == 200)
    }

    @Test func whitespaceIsAllowedAroundTokens() throws {
        let v = try JSONParser.parse(" \t\r\n{ \"a\" : [ 1 , 2 ] } \n")
        #expect(v == .object(JSONObject([("a", .array([.int(1), .int(2)]))])))
    }

    @Test func repeatedKeyKeepsFirstPositionLastValue() throws {
        let v = try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(v.objectValue?.keys == ["a", "b"])
        #expect(v["a"] == .int(3))
    }

    @Test func stringEscapes() throws {
        let v = try JSONParser.parse(#""q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800x \udc00""#)
        #expect(v == .string("q\" b\\ s/ \u{8}\u{C}\n\r\t é 😀 \u{FFFD}x \u{FFFD}"))
        // A lone high surrogate followed by a normal escape: the escape is still read.
        #expect(try JSONParser.parse(#""\ud800\u0041""#) == .string("\u{FFFD}A"))
    }

    @Test func hexEscapesOnlyWhenAllowed() throws {
        #expect(throws: JSONParseError(offset: 3, reason: "invalid escape '\\x'")) {
            try JSONParser.parse(#""a\x22""#)
        }
        let v = try JSONParser.parse(#""a\x22b""#, options: .init(allowHexEscapes: true))
        #expect(v == .string("a\"b"))
    }

    @Test func invalidUTF8InStringsIsRepaired() throws {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x62, 0x22]
        #expect(try JSONParser.parse(bytes) == .string("a\u{FFFD}b"))
    }

    @Test(
        arguments: [
            ("", 0, "unexpected end of input"),
            ("{", 1, "expected a string key"),
            (#"{"a" 1}"#, 5, "expected ':' after key"),
            (#"{"a":1 "b":2}"#, 7, "expected ',' or '}' in object"),
            ("[1 2]", 3, "expected ',' or ']' in array"),
            ("[1,", 3, "unexpected end of input"),
            ("01", 1, "unexpected data after the JSON value"),
            ("1.", 2, "invalid number fraction"),
            ("1e+", 3, "invalid number exponent"),
            ("-", 1, "invalid number"),
            ("tru", 0, "unexpected end of input"),
            ("trux", 0, "invalid literal"),
            ("\"a\nb\"", 2, "control character in string"),
            (#""abc"#, 4, "unterminated string"),
            (#""\u12"#, 3, #"truncated \u escape"#),
            (#""\uzzzz""#, 3, #"invalid \u escape"#),
            ("{} x", 3, "unexpected data after the JSON value"),
        ] as [(String, Int, String)])
    func errorsNameTheOffset(text: String, offset: Int, reason: String) {
        #expect(throws: JSONParseError(offset: offset, reason: reason)) { try JSONParser.parse(text) }
    }

    @Test func depthIsBounded() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError(offset: 64, reason: "nesting deeper than 64")) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONParser.parse(ok) }
        // Far deeper input must not overflow the stack either.
        let hostile = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(hostile) }
    }

    @Test func parsePrefixReturnsTheEnd() throws {
        let bytes = Array(#"{"a":1} trailing"#.utf8)
        let (v, end) = try bytes.withUnsafeBufferPointer { buf throws(JSONParseError) in try JSONParser.parsePrefix(buf)
        }
        #expect(v == .object(JSONObject([("a", .int(1))])))
        #expect(end == 7)
    }

    @Test func writerEscapesOnlyWhatItMust() throws {
        let s = "quote\" back\\ nl\n cr\r tab\t nul\u{0} bell\u{7} del\u{7F} é \u{2028}\u{2029} 😀"
        #expect(
            JSONWriter.renderString(.string(s))
                == #""quote\" back\\ nl\n cr\r tab\t nul\u0000 bell\u0007 del"# + "\u{7F}" + #" é \u2028\u2029 😀""#)
        #expect(try JSONParser.parse(JSONWriter.render(.string(s))) == .string(s))
    }

    @Test(arguments: [
        (JSONValue.int(0), "0"), (.int(-7), "-7"), (.int(Int64.max), "9223372036854775807"),
        (.int(Int64.min), "-9223372036854775808"), (.double(2), "2.0"), (.double(-1.5), "-1.5"),
        (.double(0.1), "0.1"), (.double(1e20), "1e+20"), (.double(.nan), "null"), (.double(.infinity), "null"),
        (.null, "null"), (.bool(true), "true"), (.array([]), "[]"), (.object(JSONObject()), "{}"),
    ])
    func writerScalars(value: JSONValue, text: String) throws {
        #expect(JSONWriter.renderString(value) == text)
        if case .double(let d) = value, !d.isFinite { return }
        #expect(try JSONParser.parse(text) == value)  // and it reads back as the same type
    }

    @Test func writeIntForOtherIntegerTypes() {
        var w = JSONWriter()
        w.writeInt(UInt64.max)
        w.bytes.append(0x20)
        w.writeInt(Int8.min)
        w.bytes.append(0x20)
        w.writeInt(Int32(42))
        #expect(String(decoding: w.bytes, as: UTF8.self) == "18446744073709551615 -128 42")
    }

    @Test func objectEditingKeepsOrder() {
        var o: JSONObject = ["a": .int(1), "b": .int(2)]
        o["c"] = .int(3)
        o["a"] = .int(9)
        o["b"] = nil
        #expect(o.keys == ["a", "c"])
        #expect(o["a"] == .int(9))
        #expect(o != JSONObject([("c", .int(3)), ("a", .int(9))]))  // order matters for equality
        o.appendUnchecked("d", .null)
        #expect(JSONWriter.renderString(.object(o)) == #"{"a":9,"c":3,"d":null}"#)
    }
    /// Two keys that are different bytes stay two keys, even when Unicode calls them equivalent.
    @Test func canonicallyEquivalentKeysStayDistinct() throws {
        let v = try JSONParser.parse("{\"\u{E9}\":1,\"e\u{301}\":2}")
        guard case .object(let o) = v else {
            Issue.record("not an object")
            return
        }
        #expect(o.count == 2)
        #expect(o["\u{E9}"] == .int(1))
        #expect(o["e\u{301}"] == .int(2))
        let precomposed: JSONObject = ["\u{E9}": .int(1)]
        let decomposed: JSONObject = ["e\u{301}": .int(1)]
        #expect(precomposed != decomposed)
    }
}
