import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct MacroStringTests {
    static let event = Event(
        message: "hello", source: "nginx", receivedAt: utc(2026, 11, 21, 12, 0, 5),
        timestamp: utc(2026, 11, 21, 9, 8, 7, nanos: 500_000_000), host: "web-01", program: "nginx", pid: "42",
        facility: .local7, severity: .warning, file: "/var/log/a.log",
        fields: ["n": 3, "s": "x", "o": .object(["k": true])])

    @Test(arguments: [
        ("${HOST}", "web-01"), ("${PROGRAM}", "nginx"), ("${PID}", "42"), ("${MESSAGE}", "hello"),
        ("${FACILITY}", "local7"), ("${SEVERITY}", "warning"), ("${ISODATE}", "2026-11-21T09:08:07.500Z"),
        ("${UNIXTIME}", "1795252087"), ("${SOURCE}", "nginx"), ("${FILE}", "/var/log/a.log"),
        ("${YEAR}-${MONTH}-${DAY}T${HOUR}", "2026-11-21T09"), ("${fields.n}", "3"), ("${fields.s}", "x"),
        ("${fields.o}", #"{"k":true}"#), ("${fields.missing}", ""), ("a$$b$c${", "a$b$c${"),
    ])
    func expandsEveryMacro(template: String, expected: String) throws {
        if template.hasSuffix("${") {
            #expect(throws: TemplateError.self) { try MacroString(template) }
            return
        }
        let m = try MacroString(template)
        #expect(m.expand(Self.event, nodeName: "node") == expected)
        // The same expansion from the rendered document, as a file destination reading the journal sees it.
        let doc = try #require(JSONParser.parse(EventDocument.render(Self.event, nodeName: "node")).objectValue)
        #expect(m.expand(document: doc) == expected)
    }

    @Test func unixTimeMatchesTimestamp() {
        #expect(utc(2026, 11, 21, 9, 8, 7).seconds == 1_795_252_087)
    }

    @Test func pathSanitizing() throws {
        let m = try MacroString("/var/log/central/${HOST}/${PROGRAM}.log", options: .path)
        var e = Self.event
        #expect(m.expand(e, nodeName: "n") == "/var/log/central/web-01/nginx.log")
        e.host = "../../etc"
        e.program = "a/b\nc"
        #expect(m.expand(e, nodeName: "n") == "/var/log/central/______etc/a_b_c.log")
        e.host = ".."
        e.program = nil
        #expect(m.expand(e, nodeName: "n") == "/var/log/central/__/unknown.log")
        e.host = "."
        e.program = ""
        #expect(m.expand(e, nodeName: "n") == "/var/log/central/_/unknown.log")
        e.host = nil  // falls back to the node name
        #expect(m.expand(e, nodeName: "node-1") == "/var/log/central/node-1/unknown.log")
    }

    @Test func missingValuesUseTheConfiguredDefault() throws {
        let m = try MacroString("${PROGRAM}|${FILE}", options: .init(missing: "-"))
        let e = Event(message: "", source: "s", receivedAt: receivedAt)
        #expect(m.expand(e, nodeName: "n") == "-|-")
        #expect(m.expand(document: ["host": "h"]) == "-|-")
    }

    @Test func errorsPointAtTheMacro() {
        #expect(
            throws: TemplateError(
                message: "'${' is not closed by '}' (write $$ for a literal $)", column: 5, part: "path")
        ) {
            try MacroString("/ab/${HOST", part: "path")
        }
        #expect(throws: TemplateError.self) { try MacroString("${host}") }
        #expect(throws: TemplateError.self) { try MacroString("${fields.}") }
    }

    @Test func constantAndSingleMacro() throws {
        #expect(try MacroString("plain").isConstant)
        #expect(try MacroString("${HOST}").singleMacro == .host)
        #expect(try MacroString("x${HOST}").singleMacro == nil)
    }
    /// The members a file destination builds for a path: exactly those its macros read.
    @Test func documentKeysNameWhatExpansionReads() throws {
        let m = try MacroString("/x/${HOST}/${YEAR}/${fields.app}-${PROGRAM}-${UNIXTIME}.log", options: .path)
        #expect(m.documentKeys == ["host", "@timestamp", "fields", "program"])
        #expect(try MacroString("/x/all.log").documentKeys.isEmpty)
        let doc: JSONObject = [
            "@timestamp": .string("2026-11-21T12:00:00.000Z"), "host": .string("web"), "program": .string("app"),
            "fields": .object(["app": .string("shop")]), "message": .string("ignored"),
        ]
        let kept = JSONObject(doc.entries.filter { m.documentKeys.contains($0.key) })
        #expect(m.expand(document: kept) == m.expand(document: doc))
    }
}
