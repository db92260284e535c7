import LogferryCore
import Testing

@testable import LogferryDestinations

/// What the file store adds to `MacroString` (tested in LogferryFormatTests) for paths: templates must name
/// a file, no value can leave its directory, components fit NAME_MAX.
@Suite struct PathTemplateTests {
    func document(_ json: String) throws -> JSONObject {
        try #require(try JSONParser.parse(json).objectValue)
    }

    @Test(
        "expands document keys, fields and the date of @timestamp",
        arguments: [
            ("/l/${HOST}/${PROGRAM}.log", #"{"host":"web-01","program":"nginx"}"#, "/l/web-01/nginx.log"),
            ("/l/${fields.app}/${fields.port}.log", #"{"fields":{"app":"shop","port":8080}}"#, "/l/shop/8080.log"),
            ("/l/${YEAR}/${MONTH}/${DAY}.log", #"{"@timestamp":"2026-01-02T03:04:05.678Z"}"#, "/l/2026/01/02.log"),
            ("/l/${HOST}/${PROGRAM}.log", #"{}"#, "/l/unknown/unknown.log"),
        ])
    func expands(template: String, json: String, path: String) throws {
        #expect(try PathTemplate(template).expand(try document(json)) == path)
    }

    @Test(
        "no value adds, removes or climbs a directory level",
        arguments: [
            "../../etc", "..", ".", "", "/", "a/b/", "/abs", "..\u{0}..", "\n", "...", ". .", "~", "%2e%2e",
            String(repeating: "../", count: 100),
        ])
    func staysInside(value: String) throws {
        let t = try PathTemplate("/b/${HOST}/.${PROGRAM}/x${SOURCE}.log")
        var o = JSONObject()
        o["host"] = .string(value)
        o["program"] = .string(value)
        o["source"] = .string(value)
        let parts = t.expand(o).split(separator: "/", omittingEmptySubsequences: false)
        #expect(parts.count == 5)
        #expect(parts.first == "")
        #expect(parts[1] == "b")
        for part in parts.dropFirst() {
            #expect(!part.isEmpty && part != "." && part != "..", "\(parts)")
            #expect(!part.utf8.contains { $0 < 0x20 })
        }
    }

    @Test("long values are cut to NAME_MAX per component, on a character boundary")
    func longValues() throws {
        let t = try PathTemplate("/b/${HOST}${PROGRAM}.log")
        let long = String(repeating: "é", count: 200)
        let path = t.expand(try document(#"{"host":"\#(long)","program":"\#(long)"}"#))
        let last = try #require(path.split(separator: "/").last)
        #expect(last.utf8.count == 254)
        #expect(last.allSatisfy { $0 == "é" })
        #expect(PathTemplate.cut("aé", toBytes: 2) == "a")
    }

    @Test("refuses templates it cannot expand to a file", arguments: ["", "/x/", "/x/${HOST", "/x/${NOPE}.log", "/"])
    func refuses(template: String) {
        #expect(throws: FileStoreError.self) { try PathTemplate(template) }
    }
}
