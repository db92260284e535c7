import LogferryCore
import Testing

@testable import LogferrySources

/// The pure body splitter: which bodies become which events, and how bad ones are named.
struct HTTPIngestBodyTests {
    static func events(_ body: String, _ framing: HTTPIngestBody.Framing = .auto, max: Int = 1 << 20) -> [String]? {
        let bytes = Array(body.utf8)
        guard case .success(let ranges) = HTTPIngestBody.split(bytes, framing: framing, maxEventBytes: max) else {
            return nil
        }
        return ranges.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    static func rejection(_ body: String, _ framing: HTTPIngestBody.Framing = .auto, max: Int = 1 << 20)
        -> HTTPIngestBody.Rejection?
    {
        guard case .failure(let r) = HTTPIngestBody.split(Array(body.utf8), framing: framing, maxEventBytes: max)
        else { return nil }
        return r
    }

    static let accepted: [(String, HTTPIngestBody.Framing, [String])] = [
        (#"{"a":1}"#, .auto, [#"{"a":1}"#]),
        (" \n{\"a\": [1, {\"b\": 2}]}\r\n ", .auto, [#"{"a": [1, {"b": 2}]}"#]),
        (#"[{"a":1}, {"b":"x"} ,{}]"#, .auto, [#"{"a":1}"#, #"{"b":"x"}"#, "{}"]),
        ("[ ]", .auto, []),
        ("", .auto, []),
        ("  \n ", .ndjson, []),
        ("{\"a\":1}\n{\"b\":2}\n", .auto, [#"{"a":1}"#, #"{"b":2}"#]),
        ("{\"a\":1}\r\n\r\n  {\"b\":2}  \r\n", .ndjson, [#"{"a":1}"#, #"{"b":2}"#]),
        ("{\"a\":1}", .ndjson, [#"{"a":1}"#]),
        ("{\n  \"pretty\": true\n}", .auto, ["{\n  \"pretty\": true\n}"]),
        ("{\"s\":\"line\\nbreak \u{e9}\"}", .auto, ["{\"s\":\"line\\nbreak \u{e9}\"}"]),
    ]

    @Test(arguments: accepted)
    func splitsIntoObjects(_ body: String, _ framing: HTTPIngestBody.Framing, _ expected: [String]) {
        #expect(Self.events(body, framing) == expected)
    }

    @Test func malformedJSONNamesItsOffset() {
        let r = Self.rejection(#"{"a": tru}"#)
        guard case .malformed(let offset, nil, _) = r else {
            Issue.record("got \(String(describing: r))")
            return
        }
        #expect(offset == 6)
        #expect(r!.description.contains("byte 6"))
    }

    @Test func badNDJSONLineNamesItsLine() {
        let r = Self.rejection("{\"a\":1}\n\n{\"b\":\n{\"c\":3}\n")
        guard case .malformed(_, 3, _) = r else {
            Issue.record("got \(String(describing: r))")
            return
        }
        #expect(r!.description.contains("line 3"))
    }

    static let notObjects: [(String, HTTPIngestBody.Framing, Int)] = [
        ("42", .auto, 0),
        (#""text""#, .auto, 0),
        (#"[{"a":1}, 2]"#, .auto, 1),
        (#"[{"a":1}, [{"b":1}]]"#, .auto, 1),
        ("{\"a\":1}\nnull\n", .auto, 1),
        ("{\"a\":1}\n[1]", .ndjson, 1),
        (#"[{"a":1}]"#, .ndjson, 0),
    ]

    @Test(arguments: notObjects)
    func aNonObjectIsRejectedWithItsIndex(_ body: String, _ framing: HTTPIngestBody.Framing, _ index: Int) {
        let r = Self.rejection(body, framing)
        guard case .notAnObject(let i, _, _) = r else {
            Issue.record("got \(String(describing: r))")
            return
        }
        #expect(i == index)
    }

    static let malformed: [String] = [
        "{", "[", "[{\"a\":1}", "[{\"a\":1},]", "[{\"a\":1} {\"b\":2}]", "{\"a\":1} junk", "junk", "{\"a\":1}\n{",
        "\u{0}", "{\"a\":\"\u{1}\"}", String(repeating: "[", count: 200), "{\"a\":1}}",
    ]

    @Test(arguments: malformed)
    func junkIsRejected(_ body: String) {
        #expect(Self.rejection(body) != nil)
        #expect(Self.rejection(body, .ndjson) != nil)
    }

    @Test func anEventOverTheLimitIsNamed() {
        let body = #"[{"a":1}, {"b":"0123456789"}, {"c":3}]"#
        #expect(Self.rejection(body, max: 10) == .eventTooLarge(index: 1, bytes: 18, limit: 10))
        #expect(Self.events(body, max: 18)?.count == 3)
    }
}
