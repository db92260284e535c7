import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct EventDocumentTests {
    static let received = utc(2026, 11, 21, 12, 0, 0, nanos: 124_000_000)

    @Test func fullKeyOrder() {
        var e = Event(
            message: "GET / 200", source: "nginx", receivedAt: Self.received,
            timestamp: utc(2026, 11, 21, 12, 0, 0, nanos: 123_000_000), host: "web-01", program: "nginx", pid: "1234",
            facility: .local7, severity: .info, version: 1, msgid: "ID1", sd: ["a@1": .object(["k": "v"])],
            file: "/var/log/x.log", offset: 42, parseError: "oops", raw: "the raw", fields: ["status": 200])
        let doc = text(EventDocument.render(e, nodeName: "node"))
        #expect(
            doc
                == #"{"@timestamp":"2026-11-21T12:00:00.123Z","host":"web-01","program":"nginx","pid":1234,"facility":"local7","severity":"info","message":"GET / 200","source":"nginx","received_at":"2026-11-21T12:00:00.124Z","version":1,"msgid":"ID1","sd":{"a@1":{"k":"v"}},"file":"/var/log/x.log","offset":42,"parse_error":"oops","raw":"the raw","fields":{"status":200}}"#
        )
        // The document is valid JSON whose keys follow the published order.
        let parsed = try? JSONParser.parse(doc)
        #expect(parsed?.objectValue?.keys == EventDocument.keyOrder)
        e.fields = [:]
        #expect(!text(EventDocument.render(e, nodeName: "node")).contains("fields"))
    }

    @Test func minimalEventUsesReceiveTimeAndNodeName() {
        let e = Event(message: "plain", source: "apps", receivedAt: Self.received)
        let doc = text(EventDocument.render(e, nodeName: "web-01"))
        #expect(
            doc
                == #"{"@timestamp":"2026-11-21T12:00:00.124Z","host":"web-01","message":"plain","source":"apps","received_at":"2026-11-21T12:00:00.124Z"}"#
        )
    }

    @Test(arguments: [
        ("1234", "1234"), ("0", "0"), ("0123", #""0123""#), ("12a", #""12a""#), ("-1", #""-1""#),
        ("1234567890123456789", #""1234567890123456789""#),
    ])
    func pidNumberOnlyWhenCanonical(pid: String, json: String) {
        let e = Event(message: "", source: "s", receivedAt: Self.received, pid: pid)
        #expect(text(EventDocument.render(e, nodeName: "n")).contains(#""pid":"# + json + ","))
    }

    @Test func stringsAreEscaped() {
        let e = Event(message: "a\"b\\c\nd\u{0}\u{2028}", source: "s", receivedAt: Self.received, host: "h\t")
        let doc = text(EventDocument.render(e, nodeName: "n"))
        #expect(doc.contains(#""host":"h\t""#))
        #expect(doc.contains(#""message":"a\"b\\c\nd\u0000\u2028""#))
        #expect((try? JSONParser.parse(doc))?["message"] == .string("a\"b\\c\nd\u{0}\u{2028}"))
    }

    @Test func parsedMalformedInputRendersParseErrorAndRaw() {
        let e = SyslogParser().parse("<999>x", context: context())
        let doc = text(EventDocument.render(e, nodeName: "n"))
        #expect(
            doc
                == #"{"@timestamp":"2026-11-21T12:00:05.000Z","host":"n","message":"<999>x","source":"test","received_at":"2026-11-21T12:00:05.000Z","parse_error":"invalid PRI 999: must be 0..191","raw":"<999>x"}"#
        )
    }
}
