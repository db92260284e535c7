import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct FilterTests {
    /// An nginx warning as a source would journal it, with typed fields and structured data.
    static let document: JSONObject = {
        let text = #"""
            {"@timestamp":"2026-11-21T12:00:00.123Z","host":"web-01","program":"nginx","pid":1234,
             "facility":"local7","severity":"warning","message":"GET /index.html 200","source":"nginx",
             "received_at":"2026-11-21T12:00:00.124Z",
             "sd":{"origin@32473":{"ip":"10.0.0.1"}},
             "fields":{"status":200,"ms":12.5,"ok":true,"none":null,"code":"200","user":{"name":"ann"},"tags":["a"]}}
            """#
        // An empty object if the fixture ever stopped parsing: every expectation below would then fail loudly.
        return (try? JSONParser.parse(text))?.objectValue ?? JSONObject()
    }()

    static func check(_ expression: String, _ expected: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let filter = try Filter(expression)
            #expect(
                filter.matches(document) == expected, "\(expression) should be \(expected)",
                sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(expression) does not compile: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [
        // == != on strings, either quote, either side
        ("program == \"nginx\"", true), ("program == 'nginx'", true), ("program != \"nginx\"", false),
        ("program == \"php\"", false), ("\"nginx\" == program", true), ("program != 'php'", true),
        // strings order lexically
        ("host < \"web-02\"", true), ("host > \"web-00\"", true), ("host >= \"web-01\"", true),
        ("host <= \"web-00\"", false), ("@timestamp >= \"2026-11-21\"", true), ("@timestamp < \"2026-11-21\"", false),
        // numbers: int and float mix numerically
        ("fields.status == 200", true), ("fields.status == 200.0", true), ("fields.status != 200", false),
        ("fields.status > 199", true), ("fields.status >= 200", true), ("fields.status < 200", false),
        ("fields.status <= 200", true), ("fields.status > 199.5", true), ("fields.ms > 12", true),
        ("fields.ms < 12.6", true), ("fields.ms == 12.5", true), ("fields.ms >= 1.25e1", true),
        ("100 < fields.status", true), ("200 < fields.status", false), ("pid == 1234", true), ("pid > -1", true),
        // booleans and null
        ("fields.ok == true", true), ("fields.ok != false", true), ("fields.ok == false", false),
        ("fields.none == null", true), ("fields.none != null", false),
        // nested paths, names with @ and -
        ("fields.user.name == \"ann\"", true), ("sd.origin@32473.ip == \"10.0.0.1\"", true),
        ("fields.user.name.first == \"ann\"", false), ("program.name == \"nginx\"", false),
    ])
    func comparisons(expression: String, expected: Bool) {
        Self.check(expression, expected)
    }

    @Test(arguments: [
        // Mismatched types: ==, ordering and =~ are false; != is the negation of ==.
        ("fields.code == 200", false), ("fields.code != 200", true), ("fields.status == \"200\"", false),
        ("fields.status != \"200\"", true), ("fields.status < \"300\"", false), ("fields.status > \"100\"", false),
        ("fields.status >= \"100\"", false), ("fields.ok > false", false), ("fields.ok == 1", false),
        ("message > 5", false), ("fields.none == 0", false), ("fields.none < 1", false),
        ("fields.user == \"ann\"", false), ("fields.tags == \"a\"", false), ("fields.status =~ \"200\"", false),
        ("fields.status !~ \"200\"", true),
        // Missing fields: the same rule; exists() tells them apart.
        ("fields.nope == 1", false), ("fields.nope != 1", true), ("fields.nope < 1", false),
        ("fields.nope >= 1", false), ("fields.nope == null", false), ("fields.nope =~ \"x\"", false),
        ("fields.nope !~ \"x\"", true), ("fields.nope in [1, null]", false), ("fields.nope not in [1]", true),
        ("exists(fields.nope)", false), ("not exists(fields.nope)", true), ("exists(fields.none)", true),
        ("exists(fields.user.name)", true), ("exists(program)", true), ("exists(msgid)", false),
        ("msgid == \"x\" or exists(pid)", true), ("fields.nope == fields.nope2", false),
        ("fields.status == fields.status", true), ("fields.code == fields.status", false),
    ])
    func mismatchedTypesAndMissingFields(expression: String, expected: Bool) {
        Self.check(expression, expected)
    }

    @Test(arguments: [
        (#"message =~ "index""#, true), (#"message =~ 'index'"#, true), (#"message =~ "^index""#, false),
        (#"message =~ "^GET /\w+\.html \d{3}$""#, true), (#"message !~ "POST""#, true),
        (#"message !~ "GET""#, false), (#"host =~ "^web-\d+$""#, true), (#"message =~ "(?i)^get""#, true),
        (#"message =~ "^get""#, false), (#"program =~ "ngin(x|e)""#, true), (#"fields.user.name =~ "n{2}""#, true),
    ])
    func regex(expression: String, expected: Bool) {
        Self.check(expression, expected)
    }

    @Test(arguments: [
        ("program in [\"nginx\", \"php\"]", true), ("program in ['php']", false), ("program in []", false),
        ("program not in [\"php\", \"perl\"]", true), ("program not in [\"nginx\"]", false),
        ("fields.status in [404, 200]", true), ("fields.status in [200.0]", true),
        ("fields.status in [\"200\"]", false), ("fields.none in [null]", true), ("fields.ok in [false, true]", true),
        ("not program in [\"php\"]", true),
    ])
    func inLists(expression: String, expected: Bool) {
        Self.check(expression, expected)
    }

    @Test(arguments: [
        // The document's severity is warning (rank 4), its facility local7 (rank 23).
        ("severity <= \"warning\"", true), ("severity <= \"err\"", false), ("severity < \"warning\"", false),
        ("severity >= \"warning\"", true), ("severity > \"notice\"", false), ("severity < \"notice\"", true),
        ("severity == \"warning\"", true), ("severity == \"warn\"", true), ("severity != \"warn\"", false),
        ("severity <= \"error\"", false), ("severity <= \"WARNING\"", true), ("severity <= 4", true),
        ("severity < 4", false), ("\"warning\" >= severity", true), ("\"err\" >= severity", false),
        ("\"debug\" > severity", true), ("severity in [\"err\", \"warning\"]", true),
        ("severity in [\"err\", \"crit\"]", false), ("severity not in [\"debug\", 7]", true),
        ("severity =~ \"^warn\"", true),
        ("facility == \"local7\"", true), ("facility > \"local0\"", true), ("facility == 23", true),
        ("facility < \"kern\"", false), ("facility in [\"local6\", \"local7\"]", true),
    ])
    func severityAndFacilityByRank(expression: String, expected: Bool) {
        Self.check(expression, expected)
    }

    /// `severity <= "warning"` selects warning and worse (SPEC.md §2), for every severity a document can carry.
    @Test(arguments: Severity.allCases)
    func warningAndWorse(severity: Severity) throws {
        let filter = try Filter(#"severity <= "warning""#)
        #expect(filter.matches(["severity": .string(severity.name)]) == (severity.rawValue <= 4))
        // Other spellings of the name in the document (a JSON source may write them) rank the same.
        #expect(filter.matches(["severity": .string(severity.name.uppercased())]) == (severity.rawValue <= 4))
        #expect(filter.matches(["severity": .int(Int64(severity.rawValue))]) == (severity.rawValue <= 4))
        #expect(!filter.matches(["severity": "loud"]))
        #expect(!filter.matches(["program": "x"]))
    }

    @Test(arguments: [
        // not > and > or: each line would give the other answer with another precedence.
        ("program == \"php\" and host == \"web-01\" or severity == \"warning\"", true),
        ("severity == \"warning\" or program == \"php\" and host == \"x\"", true),
        ("not program == \"php\" and host == \"x\"", false),
        ("not (program == \"nginx\" and host == \"x\")", true),
        ("(program == \"php\" or host == \"web-01\") and severity <= \"warning\"", true),
        ("program == \"php\" or host == \"web-01\" and severity > \"warning\"", false),
        ("not not program == \"nginx\"", true), ("not exists(fields.nope) and not fields.ok == false", true),
        ("((program == \"nginx\"))", true),
        ("severity <= \"warning\" and program == \"nginx\"", true),
        ("program == \"nginx\"and host==\"web-01\"", true),
    ])
    func precedence(expression: String, expected: Bool) {
        Self.check(expression, expected)
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var text: String
        var column: Int
        var code: FilterError.Code
        var expected: String
        var testDescription: String { text }
    }

    @Test(arguments: [
        ErrorCase(text: "severity <= ", column: 13, code: .syntax, expected: "a value"),
        ErrorCase(text: "program = \"x\"", column: 9, code: .syntax, expected: "'=='"),
        ErrorCase(text: "program == \"x", column: 12, code: .unterminatedString, expected: "a closing \""),
        ErrorCase(text: "program == 'x\" ", column: 12, code: .unterminatedString, expected: "a closing '"),
        ErrorCase(text: "foo(program)", column: 1, code: .unknownFunction, expected: "a field"),
        ErrorCase(
            text: "program == \"x\" and lower(host) == \"a\"", column: 20, code: .unknownFunction, expected: "a field"),
        ErrorCase(text: "", column: 1, code: .syntax, expected: "a condition"),
        ErrorCase(text: "   ", column: 1, code: .syntax, expected: "a condition"),
        ErrorCase(text: "program == \"x\" and", column: 19, code: .syntax, expected: "a condition"),
        ErrorCase(text: "(program == \"x\"", column: 16, code: .syntax, expected: "')'"),
        ErrorCase(text: "program == \"x\")", column: 15, code: .syntax, expected: "'and', 'or'"),
        ErrorCase(text: "program == \"x\" host", column: 16, code: .syntax, expected: "'and', 'or'"),
        ErrorCase(text: "severity <= \"warnx\"", column: 13, code: .unknownName, expected: "a severity"),
        ErrorCase(text: "facility == 24", column: 13, code: .unknownName, expected: "a facility"),
        ErrorCase(text: "message =~ \"(\"", column: 12, code: .invalidRegex, expected: "a regular expression"),
        ErrorCase(text: "message =~ 5", column: 12, code: .syntax, expected: "a regular expression"),
        ErrorCase(text: "program \"x\"", column: 9, code: .syntax, expected: "an operator"),
        ErrorCase(text: "program", column: 8, code: .syntax, expected: "an operator"),
        ErrorCase(text: "program ! \"x\"", column: 9, code: .syntax, expected: "'not'"),
        ErrorCase(text: "program in \"x\"", column: 12, code: .syntax, expected: "'['"),
        ErrorCase(text: "program in [\"a\" \"b\"]", column: 17, code: .syntax, expected: "',' or ']'"),
        ErrorCase(text: "program in [host]", column: 13, code: .syntax, expected: "a value"),
        ErrorCase(text: "fields..x == 1", column: 7, code: .syntax, expected: "a key"),
        ErrorCase(text: "fields. == 1", column: 7, code: .syntax, expected: "a key"),
        ErrorCase(text: "program == x$", column: 13, code: .syntax, expected: "a field"),
        ErrorCase(text: "12abc == 1", column: 1, code: .syntax, expected: "a number"),
        ErrorCase(text: "program == \"a\" && host == \"b\"", column: 16, code: .syntax, expected: "a field"),
        ErrorCase(text: "exists(\"x\")", column: 8, code: .syntax, expected: "a field name"),
        ErrorCase(text: "exists(program", column: 15, code: .syntax, expected: "')'"),
        ErrorCase(text: "not", column: 4, code: .syntax, expected: "a condition"),
        ErrorCase(text: "program == and", column: 12, code: .syntax, expected: "a value"),
    ])
    func errorsPointAtTheMistake(error case: ErrorCase) {
        do {
            _ = try Filter(`case`.text)
            Issue.record("\(`case`.text) compiled")
        } catch {
            #expect(error.column == `case`.column, "\(error)")
            #expect(error.code == `case`.code, "\(error)")
            #expect(error.expected.hasPrefix(`case`.expected), "\(error.expected)")
            #expect(
                error.message.contains("expected") || error.message.contains("write") || error.message.contains("add"))
        }
    }

    @Test func errorMessagesSayWhatWasExpected() {
        #expect(throws: FilterError.self) { try Filter("severity <= ") }
        do {
            _ = try Filter("severity <= ")
        } catch {
            #expect(
                error.description
                    == "filter, column 13: expected a value (a string in quotes, a number, true, false, null or a field) "
                    + "after '<=', found the end of the filter")
        }
        do {
            _ = try Filter("program = \"x\"")
        } catch {
            #expect(error.description == "filter, column 9: '=' is not an operator: write '==' to compare")
        }
        do {
            _ = try Filter("severity == \"loud\"")
        } catch {
            #expect(error.message.contains("emerg alert crit err warning notice info debug"))
        }
    }

    @Test func theFixtureParses() {
        #expect(Self.document.count == 11)
    }

    @Test func longChainsAndDeepNesting() throws {
        // A chain of thousands of conditions is a list, not a deep tree.
        let chain = (0..<5000).map { "host == \"h\($0)\"" }.joined(separator: " or ") + " or program == \"nginx\""
        #expect(try Filter(chain).matches(Self.document))
        let nested = String(repeating: "(", count: 64) + "program == \"nginx\"" + String(repeating: ")", count: 64)
        #expect(try Filter(nested).matches(Self.document))
        #expect(try Filter(String(repeating: "not ", count: 63) + "program == \"php\"").matches(Self.document))
        do {
            _ = try Filter(String(repeating: "(", count: 10_000) + "program == \"nginx\"")
            Issue.record("compiled")
        } catch {
            #expect(error.column == 65)
        }
    }

    @Test func stringEscapes() throws {
        let doc: JSONObject = ["message": .string("say \"hi\" it's\ttabbed \\ done")]
        #expect(try Filter(#"message == "say \"hi\" it's\ttabbed \\ done""#).matches(doc))
        #expect(try Filter(#"message == 'say "hi" it\'s\ttabbed \\ done'"#).matches(doc))
        // An unknown escape keeps its backslash, so a regex reads as written.
        #expect(try Filter(#"message =~ "tabbed\s\\\\""#).matches(doc))
        #expect(try Filter("message == \"\"").matches(["message": ""]))
        #expect(try Filter("message =~ \"\"").matches(["message": "x"]))
    }

    @Test func aFilterIsSharedBetweenTasks() async throws {
        let filter = try Filter(#"message =~ "^GET /\w+" and severity <= "warning""#)
        let hits = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<500).reduce(0) { n, _ in n + (filter.matches(Self.document) ? 1 : 0) } }
            }
            return await group.reduce(0, +)
        }
        #expect(hits == 2000)
    }

    /// A real line through the parser and the renderer, as the journal holds it: the SPEC example filter.
    @Test func theSpecExampleOnARenderedEvent() throws {
        let filter = try Filter(#"severity <= "warning" and program == "nginx""#)
        func rendered(_ line: String) throws -> JSONObject {
            let bytes = EventDocument.render(parse(line), nodeName: "node")
            return try #require(JSONParser.parse(bytes).objectValue)
        }
        #expect(filter.matches(try rendered("<28>Nov 21 12:00:00 web-01 nginx[12]: upstream timed out")))  // warning
        #expect(filter.matches(try rendered("<27>Nov 21 12:00:00 web-01 nginx[12]: crashed")))  // err
        #expect(!filter.matches(try rendered("<30>Nov 21 12:00:00 web-01 nginx[12]: GET / 200")))  // info
        #expect(!filter.matches(try rendered("<28>Nov 21 12:00:00 web-01 php[12]: slow")))  // another program
        #expect(!filter.matches(try rendered("no priority at all")))  // no severity
    }
}

@Suite struct DocumentSelectorTests {
    static func document(source: String?, program: String, severity: String) -> [UInt8] {
        var o = JSONObject()
        o["host"] = "web-01"
        o["program"] = .string(program)
        o["severity"] = .string(severity)
        o["message"] = "m"
        if let source { o["source"] = .string(source) }
        return JSONWriter.render(.object(o))
    }

    @Test func inputsPickSources() throws {
        let s = try DocumentSelector(inputs: ["nginx", "apps"], filter: nil)
        #expect(s.accepts(document: Self.document(source: "nginx", program: "x", severity: "info")))
        #expect(s.accepts(document: Self.document(source: "apps", program: "x", severity: "info")))
        #expect(!s.accepts(document: Self.document(source: "kernel", program: "x", severity: "info")))
        #expect(!s.accepts(document: Self.document(source: nil, program: "x", severity: "info")))
        #expect(!s.selectsEverything)
    }

    @Test func filterAlone() throws {
        let s = try DocumentSelector(inputs: nil, filter: #"severity <= "warning""#)
        #expect(s.accepts(document: Self.document(source: "nginx", program: "x", severity: "err")))
        #expect(!s.accepts(document: Self.document(source: "nginx", program: "x", severity: "info")))
    }

    @Test(arguments: [
        ("nginx", "nginx", "warning", true), ("nginx", "nginx", "info", false), ("apps", "nginx", "warning", false),
        ("nginx", "php", "crit", false), ("nginx", "nginx", "emerg", true),
    ])
    func inputsAndFilterTogether(source: String, program: String, severity: String, expected: Bool) throws {
        let s = try DocumentSelector(inputs: ["nginx"], filter: #"severity <= "warning" and program == "nginx""#)
        let bytes = Self.document(source: source, program: program, severity: severity)
        #expect(s.accepts(document: bytes) == expected)
        let object = try #require(JSONParser.parse(bytes).objectValue)
        #expect(s.accepts(object: object) == expected)
    }

    @Test func nothingSetSelectsEverything() throws {
        let s = try DocumentSelector(inputs: nil, filter: nil)
        #expect(s.selectsEverything)
        #expect(s.accepts(document: Self.document(source: nil, program: "x", severity: "debug")))
        #expect(s.description == "everything")
    }

    @Test func emptyInputsSelectNothing() throws {
        let s = try DocumentSelector(inputs: [], filter: nil)
        #expect(!s.accepts(document: Self.document(source: "nginx", program: "x", severity: "info")))
    }

    @Test func aDamagedDocumentIsLeftToTheDestination() throws {
        let s = try DocumentSelector(inputs: ["nginx"], filter: "program == \"x\"")
        #expect(s.accepts(document: Array("not json".utf8)))
        #expect(s.accepts(document: Array("[1,2]".utf8)))
    }

    @Test func aBadFilterFailsWithItsColumn() {
        do {
            _ = try DocumentSelector(inputs: ["nginx"], filter: "program = \"nginx\"")
            Issue.record("compiled")
        } catch {
            #expect(error.column == 9)
            #expect(error.code == .syntax)
        }
    }

    @Test func usableAsTheCoreProtocol() throws {
        let selector: any EventSelector = try DocumentSelector(inputs: ["nginx"], filter: "program == \"nginx\"")
        #expect(selector.accepts(document: Self.document(source: "nginx", program: "nginx", severity: "info")))
        #expect(!selector.accepts(document: Self.document(source: "nginx", program: "php", severity: "info")))
    }
}
