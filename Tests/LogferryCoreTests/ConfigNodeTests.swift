import LogferryCore
import Testing

struct ConfigNodeTests {
    func mapping(_ yaml: String) throws -> (ConfigMapping, ConfigDiagnostics) {
        let d = ConfigDiagnostics()
        let node = try #require(try ConfigNode.parse(yaml: yaml, file: "t.yaml"))
        return (try #require(node.mapping(d, what: "test")), d)
    }

    @Test func syntaxErrorNamesFileAndLine() {
        do {
            _ = try ConfigNode.parse(yaml: "a: 1\nb: [1, 2\nc: 3\n", file: "bad.yaml")
            Issue.record("expected a syntax error")
        } catch {
            let p = error.problems[0]
            #expect(p.file == "bad.yaml")
            #expect(p.line >= 2)
            #expect(p.description.hasPrefix("bad.yaml:\(p.line): YAML syntax error"))
        }
    }

    @Test func duplicateKeyIsAnError() {
        #expect(throws: ConfigErrors.self) { try ConfigNode.parse(yaml: "a: 1\na: 2\n", file: "d.yaml") }
    }

    @Test func unknownKeySuggestsTheClosestName() throws {
        let (m, d) = try mapping("name: x\ndata_dri: /tmp\n")
        m.rejectUnknown(allowed: ["name", "data_dir"], d)
        #expect(d.problems.count == 1)
        #expect(d.problems[0].line == 2)
        #expect(d.problems[0].description.contains("unknown key 'data_dri'"))
        #expect(d.problems[0].description.contains("did you mean 'data_dir'"))
    }

    @Test func wrongTypeAndBadValuesReportTheirLines() throws {
        let (m, d) = try mapping("a: [1, 2]\nb: 5 parsecs\nc: twelve\nd: maybe\ne: sideways\nf: 10 potatoes\n")
        _ = m.string("a", d)
        _ = m.duration("b", d)
        _ = m.int("c", d)
        _ = m.bool("d", d)
        enum Mode: String, CaseIterable { case left, right }
        _ = m.choice("e", d, as: Mode.self)
        _ = m.size("f", d)
        #expect(d.problems.map(\.line) == [1, 2, 3, 4, 5, 6])
        #expect(d.problems[4].description.contains("use one of: left, right"))
    }

    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)), ("5s", .seconds(5)), ("2m", .seconds(120)), ("1h", .seconds(3600)),
        ("1.5s", .milliseconds(1500)), ("1d", .seconds(86400)),
    ])
    func durations(_ text: String, _ expected: Duration) {
        #expect(ConfigValues.parseDuration(text) == expected)
    }

    @Test(arguments: ["", "ms", "5", "5 lightyears", "-1s"])
    func badDurations(_ text: String) {
        #expect(ConfigValues.parseDuration(text) == nil)
    }

    @Test(arguments: [("64KiB", 65536), ("1GiB", 1 << 30), ("10MB", 10_000_000), ("512", 512), ("2 MiB", 2 << 20)])
    func sizes(_ text: String, _ expected: Int) {
        #expect(ConfigValues.parseSize(text) == expected)
        #expect(ConfigValues.parseSize(ConfigValues.formatSize(expected)) == expected)
    }

    @Test(arguments: ["", "KiB", "ten", "1ZiB", "-5"])
    func badSizes(_ text: String) {
        #expect(ConfigValues.parseSize(text) == nil)
    }
}
