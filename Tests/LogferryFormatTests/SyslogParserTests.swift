import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryFormat

@Suite struct SyslogParserTests {
    @Test(arguments: [
        ("<13>1 - h app - - - m", true, "app"),  // "<PRI>1 " -> RFC 5424
        ("<13>Nov 21 12:00:00 app: m", false, "app"),  // other <PRI> -> RFC 3164
    ])
    func autoDetectsSyslogFlavour(input: String, is5424: Bool, program: String) {
        let e = parse(input)
        #expect(e.parseError == nil)
        #expect((e.version != nil) == is5424)
        #expect(e.program == program)
        #expect(e.message == "m")
    }

    @Test func autoPlainLineIsMessageWithoutError() {
        let e = parse("2026-11-21 12:00:00 plain line from a file\n")
        #expect(e.parseError == nil)
        #expect(e.raw == nil)
        #expect(e.message == "2026-11-21 12:00:00 plain line from a file")
        #expect(e.facility == nil)
        #expect(e.timestamp == nil)
        #expect(e.source == "test")
        #expect(e.receivedAt == receivedAt)
    }

    @Test func autoJSONLine() {
        let e = parse(#"{"msg":"hi","n":1}"#)
        #expect(e.parseError == nil)
        #expect(e.message == "hi")
        #expect(e.fields == ["n": 1])
    }

    @Test(arguments: [#"{not json"#, #"{"a":1} trailing"#, "{"])
    func autoBraceThatIsNotJSONIsPlain(input: String) {
        let e = parse(input)
        #expect(e.parseError == nil)
        #expect(e.message == input)
        #expect(e.fields.isEmpty)
    }

    @Test func rawKeepsEverything() {
        let e = parse("<13>Nov 21 12:00:00 app: m\n", .raw)
        #expect(e.message == "<13>Nov 21 12:00:00 app: m")
        #expect(e.facility == nil)
        #expect(e.program == nil)
        #expect(e.parseError == nil)
        #expect(e.raw == nil)
    }

    // Malformed input: exactly one event, the text kept, never a crash.
    @Test(
        arguments: [
            ("", "", nil),
            ("<999>x", "<999>x", "invalid PRI 999: must be 0..191"),
            ("<1000>x", "<1000>x", "invalid PRI: more than 3 digits"),
            ("<12", "<12", "invalid PRI: missing '>'"),
            ("<abc", "<abc", nil),
            ("<", "<", nil),
            ("<>", "<>", nil),
            ("<html><body>", "<html><body>", nil),
            ("\n", "", nil),
            ("\u{0}\u{0}", "", nil),
        ] as [(String, String, String?)])
    func malformedAuto(input: String, message: String, error: String?) {
        let e = parse(input)
        #expect(e.message == message)
        #expect(e.parseError == error)
        #expect(e.raw == (error == nil ? nil : input))
    }

    @Test func farAwayYearsAreNotStampsAndDoNotOverflow() {
        // Timestamp holds Int64 nanoseconds (years ~1678-2262); such stamps must not trap.
        let e5424 = parse("<13>1 9999-12-31T23:59:59Z h a - - - m")
        #expect(e5424.parseError == "RFC 5424: invalid TIMESTAMP")
        let e3164 = parse("<13>0001-01-01T00:00:00Z h a: m")
        #expect(e3164.timestamp == nil)
        #expect(e3164.message == "0001-01-01T00:00:00Z h a: m")
        let cisco = parse("<13>Nov 21 9999 12:00:00 h a: m")
        #expect(cisco.timestamp == nil)
        let json = parse(#"{"@timestamp":"9999-01-01T00:00:00Z"}"#, .json)
        #expect(json.timestamp == nil)
        #expect(json.fields == ["@timestamp": "9999-01-01T00:00:00Z"])
    }

    @Test func onlyPRI() {
        let e = parse("<13>")
        #expect(e.parseError == nil)
        #expect(e.facility == .user)
        #expect(e.severity == .notice)
        #expect(e.message == "")
    }

    @Test func embeddedNULsKeptTrailingOnesStripped() {
        let e = parse(bytes: Array("<13>Nov 21 12:00:00 app: a".utf8) + [0, 0x62, 0x0A, 0, 0])
        #expect(e.message == "a\u{0}b")
        #expect(e.program == "app")
    }

    @Test func invalidUTF8BecomesReplacementCharacters() {
        let e = parse(bytes: Array("<13>Nov 21 12:00:00 app: ".utf8) + [0xFF, 0xFE, 0x61, 0xC3])
        #expect(e.message == "\u{FFFD}\u{FFFD}a\u{FFFD}")
        #expect(e.parseError == nil)
        let bad = parse(bytes: [0x3C, 0x39, 0x39, 0x39, 0x3E, 0xFF], .auto)
        #expect(bad.raw == "<999>\u{FFFD}")
    }

    @Test func oversizedMessageIsTruncatedOnACharacterBoundary() {
        // 70 KiB: "<13>app: " then 'é' (2 bytes each) so the 64 KiB cut falls inside a character.
        let prefix = "<13>app: "
        let body = String(repeating: "é", count: (70 * 1024) / 2)
        let e = parse(prefix + body)
        #expect(e.parseError == nil)
        #expect(e.program == "app")
        let kept = 65536 - prefix.utf8.count
        #expect(e.message.utf8.count == kept - kept % 2)
        #expect(e.message.allSatisfy { $0 == "é" })

        let unlimited = SyslogParser().parse(prefix + body, context: context(maxMessageBytes: 0))
        #expect(unlimited.message == body)
    }

    @Test func acceptsAnyByteCollection() {
        let bytes: [UInt8] = Array("<13>app: m".utf8)
        let fromSlice = SyslogParser().parse(bytes[0...], context: context())
        let fromView = SyslogParser().parse("<13>app: m".utf8, context: context())
        let fromLazy = SyslogParser().parse(bytes.lazy.map { $0 }, context: context())
        #expect(fromSlice.program == "app")
        #expect(fromView == fromSlice)
        #expect(fromLazy == fromSlice)
    }

    @Test func frameErrorIsRecorded() {
        let frame = Frame(Array("<13>app: par".utf8), error: "octet counting: stream ended after 12 of 20 bytes")
        let e = SyslogParser().parse(frame, context: context())
        #expect(e.program == "app")
        #expect(e.message == "par")
        #expect(e.parseError == "octet counting: stream ended after 12 of 20 bytes")
        #expect(e.raw == "<13>app: par")
    }

    static let samples = [
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{FEFF}'su root' failed",
        #"<165>1 2003-10-11T22:14:15.003Z h evntslog - ID47 [a@1 iut="3" x="a\"b\]"][b@2 c="d"] msg"#,
        "<13>Nov 21 12:00:00 web-01 sshd[123]: Accepted publickey",
        "<13>2026-11-21T12:00:00.123+01:00 web-01 app[7]: hi",
        #"{"message":"m","level":"warn","@timestamp":"2026-11-21T12:00:00Z","n":[1,{"a":null}]}"#,
        "<14>myapp: started\u{0}",
    ]

    /// Every prefix of every sample, in every format: a truncated datagram must still give one sane event.
    @Test(arguments: InputFormat.allCases)
    func everyPrefixParses(format: InputFormat) {
        let parser = SyslogParser(format: format)
        for sample in Self.samples {
            let bytes = Array(sample.utf8)
            for n in 0...bytes.count {
                let e = parser.parse(bytes[0..<n], context: context())
                #expect(e.source == "test")
                if e.parseError != nil { #expect(e.raw != nil) }
            }
        }
    }

    @Test(arguments: InputFormat.allCases)
    func randomBytesNeverTrap(format: InputFormat) {
        var rng = SplitMix64(state: 0x5EED)
        let parser = SyslogParser(format: format)
        let alphabet = Array("<>[]=\"\\ -:01239TZ+.{}NovDec\u{0}\n".utf8) + [0xFF, 0xC3, 0xEF, 0xBB, 0xBF]
        for _ in 0..<3000 {
            let n = Int.random(in: 0...60, using: &rng)
            var bytes = (0..<n).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
            if Bool.random(using: &rng) { bytes.insert(contentsOf: Array("<13>".utf8), at: 0) }
            if Bool.random(using: &rng) { bytes.insert(contentsOf: Array("<13>1 ".utf8), at: 0) }
            let e = parser.parse(bytes, context: context())
            if e.parseError != nil { #expect(e.raw == e.message) }
        }
    }
}
