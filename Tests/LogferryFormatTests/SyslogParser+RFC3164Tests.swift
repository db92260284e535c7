import LogferryCore
import Testing

@testable import LogferryFormat

@Suite struct SyslogParserRFC3164Tests {
    // RFC 3164 §5.4, examples 1-4 verbatim, received 2026-11-21.
    @Test func example1() {
        let e = parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
        #expect(e.parseError == nil)
        #expect(e.facility == .auth)
        #expect(e.severity == .crit)
        #expect(e.timestamp == utc(2026, 10, 11, 22, 14, 15))
        #expect(e.host == "mymachine")
        #expect(e.program == "su")
        #expect(e.pid == nil)
        #expect(e.message == "'su root' failed for lonvick on /dev/pts/8")
        #expect(e.version == nil)
    }

    @Test(arguments: [InputFormat.auto, .rfc3164])
    func example2NoPRI(format: InputFormat) {
        let e = parse("Use the BFG!", format)
        #expect(e.parseError == nil)
        #expect(e.message == "Use the BFG!")
        #expect(e.facility == nil)
        #expect(e.severity == nil)
        #expect(e.timestamp == nil)
        #expect(e.host == nil)
        #expect(e.program == nil)
    }

    @Test func example3ZoneAfterStampIsTakenAsHost() {
        // The RFC's own reading: a relay sees "CST" where HOSTNAME belongs.
        let e = parse(
            "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%"
        )
        #expect(e.parseError == nil)
        #expect(e.facility == .local4)
        #expect(e.severity == .notice)
        #expect(e.timestamp == utc(2026, 8, 24, 5, 34, 0))
        #expect(e.host == "CST")
        #expect(e.program == nil)
        #expect(e.message.hasPrefix("1987 mymachine myproc[10]: %% It's time"))
        #expect(e.message.hasSuffix("Conveyer2=OK # %%"))
    }

    @Test func example4InvalidStampIsAllContent() {
        let e = parse("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!")
        #expect(e.parseError == nil)
        #expect(e.facility == .kern)
        #expect(e.severity == .emerg)
        #expect(e.timestamp == nil)
        #expect(e.host == nil)
        #expect(e.program == nil)
        #expect(e.message == "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!")
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var input: String
        var timestamp: Timestamp?
        var host: String?
        var program: String?
        var pid: String?
        var message: String
        var testDescription: String { name }
    }

    static let senders: [Case] = [
        Case(
            name: "logger default (local, no host)", input: "<13>Nov 21 12:00:00 root: hello",
            timestamp: utc(2026, 11, 21, 12, 0, 0), program: "root", message: "hello"),
        Case(
            name: "logger -i -u/-d (local, pid)", input: "<13>Nov 21 12:00:00 root[4242]: hello world",
            timestamp: utc(2026, 11, 21, 12, 0, 0), program: "root", pid: "4242", message: "hello world"),
        Case(
            name: "remote with host", input: "<38>Nov 21 12:00:00 web-01 sshd[123]: Accepted publickey",
            timestamp: utc(2026, 11, 21, 12, 0, 0), host: "web-01", program: "sshd", pid: "123",
            message: "Accepted publickey"),
        Case(
            name: "nginx nohostname", input: #"<190>Nov 21 12:00:00 nginx: {"status":200,"path":"/"}"#,
            timestamp: utc(2026, 11, 21, 12, 0, 0), program: "nginx", message: #"{"status":200,"path":"/"}"#),
        Case(
            name: "space-padded day", input: "<13>Nov  1 08:00:00 host cron[9]: run",
            timestamp: utc(2026, 11, 1, 8, 0, 0), host: "host", program: "cron", pid: "9", message: "run"),
        Case(
            name: "unpadded day", input: "<13>Nov 1 08:00:00 cron: run",
            timestamp: utc(2026, 11, 1, 8, 0, 0), program: "cron", message: "run"),
        Case(
            name: "rsyslog ISO stamp", input: "<13>2026-11-21T12:00:00.123+01:00 web-01 app[7]: hi",
            timestamp: utc(2026, 11, 21, 11, 0, 0, nanos: 123_000_000), host: "web-01", program: "app", pid: "7",
            message: "hi"),
        Case(
            name: "tag without a colon (also what a missing tag gives, as in rsyslog and syslog-ng)",
            input: "<13>Nov 21 12:00:00 host just some text",
            timestamp: utc(2026, 11, 21, 12, 0, 0), host: "host", program: "just", message: "some text"),
        Case(
            name: "a first word that is not a name stays text", input: "<13>Nov 21 12:00:00 host - no tag here",
            timestamp: utc(2026, 11, 21, 12, 0, 0), host: "host", message: "- no tag here"),
        Case(
            name: "one word after stamp is the message", input: "<13>Nov 21 12:00:00 hello",
            timestamp: utc(2026, 11, 21, 12, 0, 0), message: "hello"),
        Case(
            name: "tag without colon", input: "<13>Nov 21 12:00:00 host app[5] text",
            timestamp: utc(2026, 11, 21, 12, 0, 0), host: "host", program: "app", pid: "5", message: "text"),
        Case(
            name: "IPv6 host", input: "<13>Nov 21 12:00:00 2001:db8::1 app: m",
            timestamp: utc(2026, 11, 21, 12, 0, 0), host: "2001:db8::1", program: "app", message: "m"),
        Case(
            name: "tag with slash and dots", input: "<22>Nov 21 12:00:00 mx postfix/smtpd[77]: connect",
            timestamp: utc(2026, 11, 21, 12, 0, 0), host: "mx", program: "postfix/smtpd", pid: "77",
            message: "connect"),
        Case(
            name: "Cisco year", input: "<13>Nov 21 2025 12:00:00 host app: m",
            timestamp: utc(2025, 11, 21, 12, 0, 0), host: "host", program: "app", message: "m"),
        Case(
            name: "fractional BSD stamp", input: "<13>Nov 21 12:00:00.250 app: m",
            timestamp: utc(2026, 11, 21, 12, 0, 0, nanos: 250_000_000), program: "app", message: "m"),
        Case(name: "Python SysLogHandler plain", input: "<14>hello\u{0}", message: "hello"),
        Case(
            name: "Python SysLogHandler name: msg", input: "<14>myapp: started\u{0}", program: "myapp",
            message: "started"),
        Case(
            name: "no timestamp, text with colon later", input: "<14>disk is full: /var", message: "disk is full: /var"),
        Case(
            name: "empty tag pid", input: "<13>Nov 21 12:00:00 app[]: m",
            timestamp: utc(2026, 11, 21, 12, 0, 0), program: "app", message: "m"),
        Case(
            name: "extra spaces kept after the first", input: "<13>Nov 21 12:00:00 app:   indented",
            timestamp: utc(2026, 11, 21, 12, 0, 0), program: "app", message: "  indented"),
        Case(
            name: "tag at end, empty message", input: "<13>Nov 21 12:00:00 app:",
            timestamp: utc(2026, 11, 21, 12, 0, 0), program: "app", message: ""),
        Case(
            name: "tag longer than 48 is message",
            input: "<13>Nov 21 12:00:00 " + String(repeating: "t", count: 49) + ": m",
            timestamp: utc(2026, 11, 21, 12, 0, 0), message: String(repeating: "t", count: 49) + ": m"),
        Case(
            name: "48-char tag", input: "<13>Nov 21 12:00:00 " + String(repeating: "t", count: 48) + ": m",
            timestamp: utc(2026, 11, 21, 12, 0, 0), program: String(repeating: "t", count: 48), message: "m"),
        Case(name: "stamp glued to text is not a stamp", input: "<13>Nov 21 12:00:00x", message: "Nov 21 12:00:00x"),
        Case(name: "only PRI", input: "<13>", message: ""),
        Case(
            name: "JSON without a tag is not a tag", input: #"<13>Nov 21 12:00:00 {"a": 1}"#,
            timestamp: utc(2026, 11, 21, 12, 0, 0), message: #"{"a": 1}"#),
        Case(
            name: "JSON after a host", input: #"<13>Nov 21 12:00:00 web {"a": 1}"#,
            timestamp: utc(2026, 11, 21, 12, 0, 0), host: "web", message: #"{"a": 1}"#),
        Case(
            name: "CRLF stripped", input: "<13>Nov 21 12:00:00 app: m\r\n",
            timestamp: utc(2026, 11, 21, 12, 0, 0), program: "app", message: "m"),
    ]

    @Test(arguments: senders)
    func realSenders(c: Case) {
        let e = parse(c.input)
        #expect(e.parseError == nil)
        #expect(e.raw == nil)
        #expect(e.timestamp == c.timestamp)
        #expect(e.host == c.host)
        #expect(e.program == c.program)
        #expect(e.pid == c.pid)
        #expect(e.message == c.message)
        #expect(e.version == nil)
    }

    @Test func priDecoded() {
        let e = parse(#"<190>Nov 21 12:00:00 nginx: {}"#)
        #expect(e.facility == .local7)
        #expect(e.severity == .info)
        let python = parse("<14>hello\u{0}")
        #expect(python.facility == .user)
        #expect(python.severity == .info)
    }

    @Test func zonelessStampUsesAssumedOffset() {
        #expect(parse("<13>Nov 21 12:00:00 root: x", offset: 3600).timestamp == utc(2026, 11, 21, 11, 0, 0))
        #expect(parse("<13>Nov 21 12:00:00 root: x", offset: -5 * 3600).timestamp == utc(2026, 11, 21, 17, 0, 0))
        #expect(parse("<13>2026-11-21T12:00:00 h app: x", offset: 3600).timestamp == utc(2026, 11, 21, 11, 0, 0))
    }

    @Test(arguments: [
        // (received, stamp, expected): the year that puts the stamp closest to the receive time.
        (utc(2027, 1, 1, 0, 0, 10), "Dec 31 23:59:50", utc(2026, 12, 31, 23, 59, 50)),
        (utc(2026, 12, 31, 23, 59, 59), "Jan  1 00:00:01", utc(2027, 1, 1, 0, 0, 1)),
        (utc(2027, 1, 15, 0, 0, 0), "Dec 20 10:00:00", utc(2026, 12, 20, 10, 0, 0)),
        (utc(2026, 6, 1, 0, 0, 0), "Dec 20 10:00:00", utc(2025, 12, 20, 10, 0, 0)),  // 163 days back beats 202 ahead
        (utc(2028, 3, 1, 0, 0, 0), "Feb 29 10:00:00", utc(2028, 2, 29, 10, 0, 0)),
    ])
    func yearInferenceAcrossNewYear(received: Timestamp, stamp: String, expected: Timestamp) {
        let e = SyslogParser().parse("<13>\(stamp) app: x", context: context(at: received))
        #expect(e.timestamp == expected)
    }

    @Test func yearInferenceUsesLocalNewYear() {
        // Received 00:30 UTC on Jan 1 = 01:30 local at +01:00; a local 01:29 stamp is a minute earlier, same year.
        let ctx = context(at: utc(2027, 1, 1, 0, 30, 0), offset: 3600)
        #expect(SyslogParser().parse("<13>Jan  1 01:29:00 app: x", context: ctx).timestamp == utc(2027, 1, 1, 0, 29, 0))
        #expect(
            SyslogParser().parse("<13>Dec 31 23:59:00 app: x", context: ctx).timestamp == utc(2026, 12, 31, 22, 59, 0))
    }

    @Test func explicitFormatWithBadPRIFails() {
        let e = parse("<999>Nov 21 12:00:00 app: x", .rfc3164)
        #expect(e.parseError == "invalid PRI 999: must be 0..191")
        #expect(e.raw == "<999>Nov 21 12:00:00 app: x")
        #expect(parse("", .rfc3164).parseError == "empty message")
    }

    @Test func explicitFormatWithoutPRIParsesHeader() {
        let e = parse("Nov 21 12:00:00 web-01 app: x", .rfc3164)
        #expect(e.parseError == nil)
        #expect(e.facility == nil)
        #expect(e.timestamp == utc(2026, 11, 21, 12, 0, 0))
        #expect(e.host == "web-01")
        #expect(e.program == "app")
        #expect(e.message == "x")
    }

    @Test func autoTreatsVersionlessDigitsAsRFC3164() {
        let e = parse("<13>2 apples")
        #expect(e.version == nil)
        #expect(e.parseError == nil)
        #expect(e.message == "2 apples")
    }
}
