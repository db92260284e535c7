import Testing

@testable import LogferryFormat

@Suite struct RegexExtractorTests {
    @Test func namedGroupsOfTheFirstMatch() throws {
        let r = try RegexExtractor(
            #"(?<method>[A-Z]+) (?<path>\S+) (?:HTTP/[\d.]+ )?(?<status>\d{3})(?: (?<extra>x))?"#)
        #expect(r.captureNames == ["method", "path", "status", "extra"])
        let m = try #require(r.match("req GET /a 200 then POST /b 500"))
        #expect(m.map(\.name) == ["method", "path", "status"])
        #expect(m.map(\.value) == ["GET", "/a", "200"])
        #expect(r.match("nothing here") == nil)
    }

    @Test func pythonStyleNamesAndEscapedParens() throws {
        let r = try RegexExtractor(#"\(?P<not>x\) (?P<word>\w+)"#)
        #expect(r.captureNames == ["word"])
        #expect(try #require(r.match("(?P<not>x) hello")).first?.value == "hello")
    }

    @Test(arguments: [
        (#"(?<a>x"#, "not a valid regular expression"),
        (#"(\d+) (x)"#, "the regex has no named group; name what to keep as (?<name>...)"),
        (#"(?<a>x)|(?<a>y)"#, ""),
    ])
    func compileErrors(pattern: String, messagePrefix: String) {
        do {
            _ = try RegexExtractor(pattern)
            #expect(messagePrefix.isEmpty, "\(pattern) compiled")
        } catch {
            #expect(error.part == "regex")
            #expect(error.message.hasPrefix(messagePrefix))
        }
    }
}
