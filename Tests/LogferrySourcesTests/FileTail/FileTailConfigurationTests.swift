import Testing

@testable import LogferrySources

struct FileTailConfigurationTests {
    @Test func defaults() {
        let c = FileTailConfiguration(name: "apps", include: ["/var/log/*.log"], statePath: "/d/sources/apps.offsets")
        #expect(c.startAt == .beginning)
        #expect(c.pollInterval == .milliseconds(250))
        #expect(c.maxLineBytes == 64 * 1024)
        #expect(c.multiline == nil)
        #expect(c.problems().isEmpty)
        #expect(FileTailConfiguration.defaultStatePath(dataDir: "/d", name: "apps") == "/d/sources/apps.offsets")
    }

    @Test func problemsSayWhatToFix() {
        var c = FileTailConfiguration(name: "a", include: [], statePath: "/s")
        #expect(c.problems().count == 1)
        c.include = ["logs/*.log"]
        c.multiline = .init(rule: .startPattern("(unclosed"))
        c.maxLineBytes = 0
        let problems = c.problems()
        #expect(problems.count == 2)
        #expect(problems.contains { $0.contains("max_line_bytes") })
        #expect(problems.contains { $0.contains("regular expression") })
    }
}
