import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct SyslogParserJSONTests {
    @Test func wellKnownKeysMoveToProperties() {
        let e = parse(
            #"{"message":"hi","host":"h1","program":"app","pid":42,"level":"warn","@timestamp":"2026-11-21T12:00:00.5Z","status":200,"ok":true,"tags":["a"]}"#,
            .json)
        #expect(e.parseError == nil)
        #expect(e.message == "hi")
        #expect(e.host == "h1")
        #expect(e.program == "app")
        #expect(e.pid == "42")
        #expect(e.severity == .warning)
        #expect(e.timestamp == utc(2026, 11, 21, 12, 0, 0, nanos: 500_000_000))
        #expect(e.fields == ["status": 200, "ok": true, "tags": .array(["a"])])
    }

    @Test func alternativeKeysAndTypes() {
        let e = parse(
            #"{"msg":"m","severity":3,"facility":"local3","time":"2026-11-21 13:00:00+01:00","pid":"worker-1"}"#, .json)
        #expect(e.message == "m")
        #expect(e.severity == .err)
        #expect(e.facility == .local3)
        #expect(e.timestamp == utc(2026, 11, 21, 12, 0, 0))
        #expect(e.pid == "worker-1")
        #expect(e.fields.isEmpty)
    }

    @Test func unusableWellKnownValuesStayInFields() {
        let e = parse(#"{"message":"m","msg":"second","time":"yesterday","level":"verbose","host":7}"#, .json)
        #expect(e.message == "m")
        #expect(e.timestamp == nil)
        #expect(e.severity == nil)
        #expect(e.host == nil)
        #expect(e.fields == ["msg": "second", "time": "yesterday", "level": "verbose", "host": 7])
    }

    @Test func noMessageKeyGivesEmptyMessage() {
        let e = parse(#"{"a":1.5}"#, .json)
        #expect(e.message == "")
        #expect(e.fields == ["a": .double(1.5)])
    }

    @Test(arguments: [
        (#"[1,2]"#, "not a JSON object"),
        (#"{"a":}"#, "invalid JSON at byte 5: unexpected character"),
        ("plain", "invalid JSON at byte 0: unexpected character"),
        ("", "invalid JSON at byte 0: unexpected end of input"),
    ])
    func explicitJSONFailures(input: String, reason: String) {
        let e = parse(input, .json)
        #expect(e.parseError == reason)
        #expect(e.message == input)
        #expect(e.raw == input)
    }

    @Test func nginxHexEscapesAccepted() {
        let e = parse(#"{"ua":"a\x22b"}"#, .json)
        #expect(e.parseError == nil)
        #expect(e.fields == ["ua": "a\"b"])
    }
}
