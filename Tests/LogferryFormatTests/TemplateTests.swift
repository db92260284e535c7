import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct TemplateTests {
    @Test func defaultTemplateRendersTheSpecExample() {
        let e = SyslogParser().parse(
            "<190>1 2026-11-21T12:00:00.123Z - nginx 1234 - - GET / 200",
            context: ParseContext(
                source: "nginx", receivedAt: utc(2026, 11, 21, 12, 0, 0, nanos: 124_000_000), assumeTimeZoneOffset: 0))
        let doc = text(Template.default.render(e, nodeName: "web-01"))
        #expect(
            doc
                == #"{"@timestamp":"2026-11-21T12:00:00.123Z","host":"web-01","program":"nginx","pid":1234,"facility":"local7","severity":"info","message":"GET / 200","source":"nginx","received_at":"2026-11-21T12:00:00.124Z","version":1}"#
        )
    }

    @Test func timestampEqualsReceivedAtWhenMessageHasNone() throws {
        let e = parse("<14>hello\u{0}")
        let doc = try JSONParser.parse(Template.default.render(e, nodeName: "n"))
        #expect(doc["@timestamp"] == doc["received_at"])
        #expect(doc["@timestamp"] == "2026-11-21T12:00:05.000Z")
        #expect(doc["host"] == "n")
    }

    @Test func fail2banPatternWithStaticField() throws {
        let template = try Template(
            spec: TemplateSpec(pattern: #"$date $hour _ _ _ \[$process\] _ $ip"#, fields: [("machine", "server")]))
        let e = parse(FieldPatternTests.fail2ban, .raw)
        let doc = text(template.render(e, nodeName: "n"))
        #expect(
            doc.hasSuffix(
                #""fields":{"date":"2017-06-14","hour":"17:16:12,329","process":"1112","ip":"59.45.175.88","machine":"server"}}"#
            ))
    }

    @Test func nonMatchingMessageGetsNoPatternFields() throws {
        let template = try Template(spec: TemplateSpec(pattern: "$a $b"))
        let applied = template.apply(parse("one two three", .raw), nodeName: "n")
        #expect(applied.fields.isEmpty)
        #expect(applied.parseError == nil)
    }

    @Test func jsonBodyLandsUnderFieldsWithTypesKept() throws {
        let template = try Template(spec: TemplateSpec(jsonBody: true))
        let e = parse(#"<190>Nov 21 12:00:00 nginx: {"status":200,"rt":0.25,"path":"/","up":null}"#)
        let applied = template.apply(e, nodeName: "n")
        #expect(applied.fields == ["status": 200, "rt": .double(0.25), "path": "/", "up": .null])
        #expect(applied.message == #"{"status":200,"rt":0.25,"path":"/","up":null}"#)
        #expect(
            text(template.render(e, nodeName: "n")).hasSuffix(
                #""fields":{"status":200,"rt":0.25,"path":"/","up":null}}"#))
        // Off by default.
        #expect(Template.default.apply(e, nodeName: "n").fields.isEmpty)
        // Not JSON: nothing added.
        #expect(template.apply(parse("<13>app: {oops"), nodeName: "n").fields.isEmpty)
    }

    @Test func fieldMacros() throws {
        let template = try Template(
            spec: TemplateSpec(
                pattern: "$verb $path $status",
                fields: [
                    ("app", "${PROGRAM}"), ("where", "${HOST}/${SOURCE}"), ("code", "${fields.status}"),
                    ("sev", "${SEVERITY}"), ("none", "${FILE}"), ("text", "file=${FILE}!"), ("cost", "$$5"),
                ], jsonBody: true))
        let e = parse(#"<14>Nov 21 12:00:00 web app[3]: GET / 200"#)
        let applied = template.apply(e, nodeName: "node")
        #expect(
            applied.fields == [
                "verb": "GET", "path": "/", "status": "200", "app": "app", "where": "web/test", "code": "200",
                "sev": "info", "text": "file=!", "cost": "$5",
            ])
    }

    @Test func singleFieldMacroKeepsJSONType() throws {
        let template = try Template(spec: TemplateSpec(fields: [("s", "${fields.status}")], jsonBody: true))
        let applied = template.apply(parse(#"{"x":1}"#, .raw).with(message: #"{"status":200}"#), nodeName: "n")
        #expect(applied.fields == ["status": 200, "s": 200])
    }

    @Test(arguments: [
        (
            TemplateSpec(pattern: "$a$b"),
            TemplateError(message: "two captures need literal text between them", column: 3, part: "pattern")
        ),
        (
            TemplateSpec(fields: [("x", "${NOPE}")]),
            TemplateError(
                message: "unknown macro ${NOPE}; known: " + MacroString.macroNames.joined(separator: " "), column: 1,
                part: "fields.x")
        ),
        (
            TemplateSpec(fields: [("x", "a"), ("x", "b")]),
            TemplateError(message: "field x is defined twice", column: 1, part: "fields.x")
        ),
        (TemplateSpec(fields: [("", "a")]), TemplateError(message: "a field needs a name", column: 1, part: "fields")),
    ])
    func compileErrors(spec: TemplateSpec, error: TemplateError) {
        #expect(throws: error) { try Template(spec: spec) }
    }

    @Test func renderAppendsToAReusedWriter() throws {
        var w = JSONWriter()
        let e = Event(message: "m", source: "s", receivedAt: receivedAt)
        Template.default.render(e, nodeName: "a", to: &w)
        w.bytes.append(0x0A)
        Template.default.render(e, nodeName: "b", to: &w)
        let lines = text(w.bytes).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[1].contains(#""host":"b""#))
    }
}

extension Event {
    fileprivate func with(message: String) -> Event {
        var e = self
        e.message = message
        return e
    }
}

extension TemplateSpec: CustomTestStringConvertible {
    public var testDescription: String { "pattern=\(pattern ?? "-") fields=\(fields.map(\.name))" }
}
