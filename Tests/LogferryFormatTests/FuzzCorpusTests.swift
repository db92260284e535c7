import Foundation
import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryFormat
@testable import LogferryFuzz

/// The fuzz harness in `swift test`: every seed and every reproducer the fuzzer found (Tests/Fuzz/corpus) replayed
/// through `FuzzHarness.check`, plus property tests over random bytes. bench/fuzz.sh is the long run.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")

    static func corpusFiles() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []
        return names.sorted().map { corpus.appendingPathComponent($0) }
    }

    @Test func corpusReplaysClean() throws {
        let files = Self.corpusFiles()
        #expect(files.count >= 40, "corpus at \(Self.corpus.path)")
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: file))
            let problem = FuzzHarness.check(bytes)
            #expect(problem == nil, "\(file.lastPathComponent): \(problem ?? "")")
        }
    }

    /// Arbitrary bytes in every format, through every template: exactly one document, valid JSON by both the
    /// harness's strict checker and Foundation, an object with `raw` and `parse_error` when it did not parse.
    @Test(arguments: InputFormat.allCases)
    func arbitraryBytesGiveExactlyOneValidDocument(format: InputFormat) throws {
        var rng = SplitMix64(state: 0xF022 ^ UInt64(InputFormat.allCases.firstIndex(of: format)!))
        let parser = SyslogParser(format: format)
        let alphabet =
            Array("<>[]=\"'\\ -:01239TZ+.{},NovDec@$_x\u{0}\n\r\t".utf8) + [0xFF, 0xC3, 0xE2, 0x80, 0xA8, 0xF0, 0xED]
        for round in 0..<1500 {
            let n = Int.random(in: 0...80, using: &rng)
            var bytes = (0..<n).map { _ in
                Bool.random(using: &rng) ? alphabet[rng.below(alphabet.count)] : UInt8(truncatingIfNeeded: rng.next())
            }
            switch rng.below(4) {
            case 0: bytes.insert(contentsOf: Array("<13>".utf8), at: 0)
            case 1: bytes.insert(contentsOf: Array("<13>1 ".utf8), at: 0)
            case 2: bytes.insert(contentsOf: Array("{\"message\":\"".utf8), at: 0)
            default: break
            }
            let limit = rng.below(3) == 0 ? 1 + rng.below(40) : ParseContext.defaultMaxMessageBytes
            let context = ParseContext(
                source: "fuzz", receivedAt: FuzzHarness.receivedAt, assumeTimeZoneOffset: 0, maxMessageBytes: limit)
            let event = parser.parse(bytes, context: context)
            let template = FuzzHarness.templates[round % FuzzHarness.templates.count]
            let document = template.render(event, nodeName: "node")
            #expect(JSONCheck.validate(document) == nil, "\(format) \(bytes)")
            let object = try JSONSerialization.jsonObject(with: Data(document)) as? [String: Any]
            #expect(object != nil, "\(format) \(bytes)")
            if event.parseError != nil {
                #expect(object?["raw"] is String && object?["parse_error"] is String, "\(format) \(bytes)")
            }
        }
    }

    /// Random mode/variant/body bytes through the whole harness (a tiny in-process fuzz run, fixed seed).
    @Test func randomInputsThroughTheHarness() {
        var rng = SplitMix64(state: 0x5EED_F022)
        for _ in 0..<3000 {
            let n = Int.random(in: 2...120, using: &rng)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let problem = FuzzHarness.check(bytes)
            #expect(problem == nil, "\(bytes): \(problem ?? "")")
        }
    }

    @Test func strictCheckerRejectsWhatJSONForbids() {
        for bad in [
            "", "{", "{\"a\":1,\"a\":2}", "{\"a\":01}", "[1,]", "\"\u{1}\"", "{\"a\":\"\\ud800\"}", "1 2", "{} ",
            "\"\\x41\"", "nul", "-", "1.", "1e",
        ] {
            #expect(JSONCheck.validate(Array(bad.utf8)) != nil, "\(bad.debugDescription)")
        }
        #expect(JSONCheck.validate([0x22, 0xFF, 0x22]) != nil)
        for good in [
            "{}", "[]", "{\"a\":[1,-0.5e+3,true,false,null,\"\\u00e9\\ud83d\\ude00\"],\"b\":{}}", "0", "\"\u{2028}\"",
        ] {
            #expect(JSONCheck.validate(Array(good.utf8)) == nil, "\(good.debugDescription)")
        }
    }
}
