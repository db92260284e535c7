import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct SyslogParserRFC5424Tests {
    // RFC 5424 §6.5, examples 1-4 verbatim ("BOM" is the UTF-8 byte order mark).
    @Test func example1NoStructuredData() {
        let e = parse(
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{FEFF}'su root' failed for lonvick on /dev/pts/8"
        )
        #expect(e.parseError == nil)
        #expect(e.facility == .auth)
        #expect(e.severity == .crit)
        #expect(e.version == 1)
        #expect(e.timestamp?.iso8601 == "2003-10-11T22:14:15.003Z")
        #expect(e.host == "mymachine.example.com")
        #expect(e.program == "su")
        #expect(e.pid == nil)
        #expect(e.msgid == "ID47")
        #expect(e.sd == nil)
        #expect(e.message == "'su root' failed for lonvick on /dev/pts/8")
        #expect(e.raw == nil)
    }

    @Test func example2OffsetAndMicroseconds() {
        let e = parse(
            "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.")
        #expect(e.parseError == nil)
        #expect(e.facility == .local4)
        #expect(e.severity == .notice)
        #expect(e.timestamp?.iso8601 == "2003-08-24T12:14:15.000003Z")
        #expect(e.host == "192.0.2.1")
        #expect(e.program == "myproc")
        #expect(e.pid == "8710")
        #expect(e.msgid == nil)
        #expect(e.sd == nil)
        #expect(e.message == "%% It's time to make the do-nuts.")
    }

    @Test func example3StructuredData() {
        let e = parse(
            #"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] "#
                + "\u{FEFF}An application event log entry...")
        #expect(e.parseError == nil)
        #expect(e.program == "evntslog")
        #expect(e.msgid == "ID47")
        let expected: JSONObject = [
            "exampleSDID@32473": .object(["iut": "3", "eventSource": "Application", "eventID": "1011"])
        ]
        #expect(e.sd == expected)
        #expect(e.message == "An application event log entry...")
    }

    @Test func example4TwoElementsNoMessage() {
        let e = parse(
            #"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]"#
        )
        #expect(e.parseError == nil)
        #expect(e.sd?.keys == ["exampleSDID@32473", "examplePriority@32473"])
        #expect(e.sd?["examplePriority@32473"] == .object(["class": "high"]))
        #expect(e.message == "")
    }

    @Test func loggerRFC5424Output() {
        let e = parse(
            #"<13>1 2026-11-21T12:00:00.123456+01:00 host root - - [timeQuality tzKnown="1" isSynced="0"] hello"#)
        #expect(e.parseError == nil)
        #expect(e.facility == .user)
        #expect(e.severity == .notice)
        #expect(e.timestamp == utc(2026, 11, 21, 11, 0, 0, nanos: 123_456_000))
        #expect(e.host == "host")
        #expect(e.program == "root")
        #expect(e.sd == ["timeQuality": .object(["tzKnown": "1", "isSynced": "0"])])
        #expect(e.message == "hello")
    }

    @Test func paramValueEscapes() {
        let e = parse(#"<14>1 - - - - - [id@1 q="a\"b" bs="c\\d" br="e\]f" other="g\nh" sp="x y"] m"#)
        #expect(e.parseError == nil)
        let params = e.sd?["id@1"]?.objectValue
        #expect(params?["q"] == "a\"b")
        #expect(params?["bs"] == "c\\d")
        #expect(params?["br"] == "e]f")
        #expect(params?["other"] == "g\\nh")  // other escapes are kept as written
        #expect(params?["sp"] == "x y")
        #expect(e.timestamp == nil)
        #expect(e.host == nil)
        #expect(e.message == "m")
    }

    @Test func repeatedParamCollectsValues() {
        let e = parse(#"<14>1 - - - - - [origin ip="192.0.2.1" ip="192.0.2.129" software="x"] m"#)
        #expect(e.sd?["origin"]?["ip"] == .array(["192.0.2.1", "192.0.2.129"]))
        #expect(e.sd?["origin"]?["software"] == "x")
    }

    @Test func headerEndingAfterMsgidIsAccepted() {
        let e = parse("<14>1 2026-11-21T12:00:00Z h a 1 m", .rfc5424)
        #expect(e.parseError == nil)
        #expect(e.msgid == "m")
        #expect(e.message == "")
    }

    @Test func zoneOffsetWithoutColonAndLowercase() {
        #expect(parse("<14>1 2026-11-21t12:00:00+0130 h a - - - m").timestamp == utc(2026, 11, 21, 10, 30, 0))
        #expect(
            parse("<14>1 2026-11-21T12:00:00.5z h a - - - m").timestamp
                == utc(2026, 11, 21, 12, 0, 0, nanos: 500_000_000))
    }

    @Test func bomOnlyStrippedAtMessageStart() {
        let e = parse("<14>1 - - - - - - a\u{FEFF}b")
        #expect(e.message == "a\u{FEFF}b")
    }

    @Test(arguments: [
        ("<13>1 2026-13-45T00:00:00Z h a - - - m", "TIMESTAMP"),
        ("<13>1 - h a p", "PROCID"),
        ("<13>hello", "VERSION"),
        ("<13>1 - - - - - x", "STRUCTURED-DATA"),
        (#"<13>1 - - - - - [a b="c"]x"#, "after STRUCTURED-DATA"),
        (#"<13>1 - - - - - [a b="c]"#, "unterminated"),
        (#"<13>1 - - - - - [a b=c]"#, "=\"value\""),
        (#"<13>1 - - - - - [a"#, "']'"),
        ("<13>1  - - - - - m", "TIMESTAMP"),
        ("<13>1000 - - - - - m", "VERSION"),
    ])
    func malformedKeepsTextAndPRI(input: String, reasonContains: String) throws {
        let e = parse(input, .rfc5424)
        let reason = try #require(e.parseError)
        #expect(reason.contains(reasonContains), "\(reason)")
        #expect(e.message == input)
        #expect(e.raw == input)
        #expect(e.facility == .user)
        #expect(e.severity == .notice)
    }

    @Test func explicitFormatRequiresPRI() {
        let e = parse("1 - - - - - m", .rfc5424)
        #expect(e.parseError == "missing PRI (<0>..<191>)")
        #expect(e.raw == "1 - - - - - m")
        #expect(parse("", .rfc5424).parseError == "empty message")
    }

    @Test func explicitFormatAcceptsOtherVersions() {
        let e = parse("<13>2 - h - - - - m", .rfc5424)
        #expect(e.parseError == nil)
        #expect(e.version == 2)
        #expect(e.message == "m")
    }
}
