import Foundation
import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryFormat

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a real rsyslogd (Debian's package, unpacked by `.ci/unpack-rsyslog.sh`, never installed: it conflicts with
/// syslog-ng-core) that forwards what it receives to sockets this test listens on, with each of rsyslog's standard
/// forwarding templates, TCP octet-counted framing and a JSON (`option.jsonf`) template; then cuts what arrived
/// with `FrameSplitter` and parses it with `SyslogParser` as a logferry tcp source would, and checks every field.
@Suite(.serialized)
struct RsyslogCaptureTests {
    /// An unpacked (or installed) rsyslog: the daemon, its module dir (`-M`) and its library dir.
    struct Rsyslog {
        var daemon: String
        var modules: String
        var libraries: String

        /// `LOGFERRY_RSYSLOG_ROOT` when set; else `.ci/unpack-rsyslog.sh`'s default cache, the benchmarks' cache
        /// (bench/run.sh) and an installed rsyslog, in that order.
        static func find() -> Rsyslog? {
            let env = ProcessInfo.processInfo.environment["LOGFERRY_RSYSLOG_ROOT"] ?? ""
            let roots =
                env.isEmpty ? ["/var/tmp/logferry-rsyslog/root", "/var/tmp/logferry-bench/rsyslog-root", "/"] : [env]
            let fm = FileManager.default
            for root in roots {
                let daemon = root + "/usr/sbin/rsyslogd"
                guard fm.isExecutableFile(atPath: daemon),
                    let arches = try? fm.contentsOfDirectory(atPath: root + "/usr/lib")
                else { continue }
                for arch in arches.sorted()
                where fm.fileExists(atPath: "\(root)/usr/lib/\(arch)/rsyslog/imptcp.so")
                    && fm.fileExists(atPath: "\(root)/usr/lib/\(arch)/rsyslog/imuxsock.so")
                {
                    let lib = "\(root)/usr/lib/\(arch)"
                    return Rsyslog(daemon: daemon, modules: lib + "/rsyslog", libraries: lib)
                }
            }
            return nil
        }
    }

    static let rsyslog = Rsyslog.find()
    static let logger = findTool("logger")

    @Test(
        .enabled(
            if: (rsyslog != nil && logger != nil) || integrationRequired,
            "needs rsyslog unpacked by .ci/unpack-rsyslog.sh (or LOGFERRY_RSYSLOG_ROOT) and logger"),
        .timeLimit(.minutes(2)))
    func rsyslogForwardingTemplatesParse() async throws {
        guard let rs = Self.rsyslog, let logger = Self.logger else {
            Issue.record(
                "LOGFERRY_REQUIRE_INTEGRATION=1 but rsyslog (run .ci/unpack-rsyslog.sh) or logger is missing")
            return
        }
        let base = try makeTempDirectory("rsyslog")
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base + "/work", withIntermediateDirectories: true)

        let names = ["traditional", "forward", "protocol23", "octet", "json"]
        let captures = Dictionary(uniqueKeysWithValues: try names.map { ($0, try CaptureSocket(.tcp)) })
        defer { for c in captures.values { c.stop() } }
        func port(_ name: String) -> Int { captures[name]!.port }

        // rsyslog's JSON template: the keys of logferry's JSON format, as an rsyslog user would name them.
        let conf = """
            global(workDirectory="\(base)/work" maxMessageSize="64k" localHostName="capture-host")
            module(load="imptcp")
            input(type="imptcp" path="\(base)/in.sock" unlink="on")
            module(load="imuxsock" SysSock.Use="off")
            input(type="imuxsock" socket="\(base)/log.sock" createPath="on" rateLimit.interval="0")
            template(name="lf_json" type="list" option.jsonf="on") {
                property(outname="@timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
                property(outname="host" name="hostname" format="jsonf")
                property(outname="severity" name="syslogseverity-text" format="jsonf")
                property(outname="facility" name="syslogfacility-text" format="jsonf")
                property(outname="program" name="programname" format="jsonf")
                property(outname="pid" name="procid" format="jsonf")
                property(outname="message" name="msg" format="jsonf")
            }
            action(type="omfwd" target="127.0.0.1" port="\(port("traditional"))" protocol="tcp" template="RSYSLOG_TraditionalForwardFormat")
            action(type="omfwd" target="127.0.0.1" port="\(port("forward"))" protocol="tcp" template="RSYSLOG_ForwardFormat")
            action(type="omfwd" target="127.0.0.1" port="\(port("protocol23"))" protocol="tcp" template="RSYSLOG_SyslogProtocol23Format")
            action(type="omfwd" target="127.0.0.1" port="\(port("octet"))" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
            action(type="omfwd" target="127.0.0.1" port="\(port("json"))" protocol="tcp" template="lf_json")

            """
        try conf.write(toFile: base + "/rsyslog.conf", atomically: true, encoding: .utf8)
        let daemon = try spawnLogged(
            "/usr/bin/env",
            [
                "LD_LIBRARY_PATH=\(rs.libraries)", rs.daemon, "-n", "-f", base + "/rsyslog.conf", "-i",
                base + "/rsyslog.pid", "-M", rs.modules,
            ], output: base + "/rsyslog.out")
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        let started = await eventually(timeout: 20) {
            FileManager.default.fileExists(atPath: base + "/in.sock")
                && FileManager.default.fileExists(atPath: base + "/log.sock")
        }
        try #require(started, "rsyslogd did not start:\n\(readText(base + "/rsyslog.out"))")

        // Dates around today, so that rsyslog (3164 input) and logferry (3164 output) both infer this year.
        let now = Timestamp.now()
        let (y, mo, d) = Timestamp.civilFromDays(Int(now.seconds / 86400))
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let day = "\(y)-\(two(mo))-\(two(d))"
        let first = "\(y)-\(two(mo))-01"
        let month = "\(months[mo - 1]) \(d < 10 ? " " : "")\(d)"
        func at(_ date: String, _ time: String) -> Timestamp {
            TimestampParser.parseRFC3339("\(date)T\(time)", defaultOffset: 0)!
        }
        // rsyslog reads an RFC 3164 stamp (no zone) in its local zone, and writes it back in that zone.
        func zone(_ date: String, _ time: String) -> Int {
            let guess = at(date, time)
            let roughly = ParseContext.localTimeZoneOffset(at: guess)
            return ParseContext.localTimeZoneOffset(at: Timestamp(nanos: guess.nanos - Int64(roughly) * 1_000_000_000))
        }
        func local(_ date: String, _ time: String) -> Timestamp {
            TimestampParser.parseRFC3339("\(date)T\(time)", defaultOffset: zone(date, time))!
        }
        func x(
            _ host: String?, _ program: String?, _ pid: String?, _ facility: Facility, _ severity: Severity,
            _ timestamp: Timestamp?, _ message: String
        ) -> CaptureExpected {
            CaptureExpected(
                host: host, program: program, pid: pid, facility: facility, severity: severity, timestamp: timestamp,
                message: message)
        }
        let long = String(repeating: "L", count: 10_000)
        let sdText = #"[exampleSDID@32473 iut="3" eventSource="App\"x\]y"]"#
        // What rsyslog receives on its imptcp socket (RFC 5424 and RFC 3164 input), what the message means (as the
        // RFC 5424 template carries it), and what each kind of template changes.
        let cases: [RsyslogCase] = [
            RsyslogCase(
                "<134>1 \(day)T12:34:56.123456+01:00 web-01 myapp 4242 ID47 \(sdText) hello 5424",
                x("web-01", "myapp", "4242", .local0, .info, at(day, "12:34:56.123456+01:00"), "hello 5424"),
                offset: 3600, msgid: "ID47",
                sd: ["exampleSDID@32473": .object(["iut": "3", "eventSource": "App\"x]y"])]),
            // RFC 3164 input: rsyslog's MSG keeps the space after `TAG:` (visible in the 5424 and JSON templates),
            // and its stamp is local time.
            RsyslogCase(
                "<165>\(month) 12:34:56 web-02 app[77]: héllo wörld ✓ 日本",
                x("web-02", "app", "77", .local4, .notice, local(day, "12:34:56"), " héllo wörld ✓ 日本"),
                offset: zone(day, "12:34:56"), traditional: { $0.message = "héllo wörld ✓ 日本" }),
            // No APP-NAME: rsyslog writes `-` where the TAG goes, and in its JSON.
            RsyslogCase(
                "<13>1 \(day)T12:34:56Z web-03 - - - - no tag here",
                x("web-03", nil, nil, .user, .notice, at(day, "12:34:56Z"), "no tag here"),
                traditional: { $0.message = "- no tag here" }, json: { $0.program = "-" }),
            RsyslogCase(
                "<14>1 \(day)T01:02:03.5-05:00 web-04 longapp 1 - - \(long)",
                x("web-04", "longapp", "1", .user, .info, at(day, "01:02:03.5-05:00"), long), offset: -5 * 3600),
            RsyslogCase(
                "<11>1 \(day)T12:34:56.000001+00:00 web-05 sdapp 9 - - [not sd] looks like sd",
                x("web-05", "sdapp", "9", .user, .err, at(day, "12:34:56.000001Z"), "[not sd] looks like sd")),
            // RFC 3164 without a TAG: rsyslog takes the first word as one (so do we, and syslog-ng); its 3164
            // templates give it back without a colon, and we drop the one space after it.
            RsyslogCase(
                "<13>\(months[mo - 1])  1 12:03:04 web-06 just some text",
                x("web-06", "just", nil, .user, .notice, local(first, "12:03:04"), " some text"),
                offset: zone(first, "12:03:04"), traditional: { $0.message = "some text" }),
            // RFC 3164 without a HOST (a local program's form): rsyslog fills in its own name.
            RsyslogCase(
                "<13>\(month) 12:34:56 app[5]: no host",
                x("capture-host", "app", "5", .user, .notice, local(day, "12:34:56"), " no host"),
                offset: zone(day, "12:34:56"), traditional: { $0.message = "no host" }),
            RsyslogCase(
                "<14>1 \(day)T12:34:56Z web-08 nopid - - - plain",
                x("web-08", "nopid", nil, .user, .info, at(day, "12:34:56Z"), "plain")),
            RsyslogCase(
                #"<13>1 \#(day)T12:34:56.25Z web-12 sdmsg 5 - [a@1 x="1"][b@1 y="\\"] [c] msg after sd"#,
                x("web-12", "sdmsg", "5", .user, .notice, at(day, "12:34:56.25Z"), "[c] msg after sd"),
                sd: ["a@1": .object(["x": "1"]), "b@1": .object(["y": "\\"])]),
            // An empty MSG: rsyslog's 3164 templates end with the space after the TAG.
            RsyslogCase(
                "<13>1 \(day)T12:34:56Z web-10 emptyapp 4 - -",
                x("web-10", "emptyapp", "4", .user, .notice, at(day, "12:34:56Z"), "")),
            RsyslogCase(
                "<13>1 \(day)T12:34:56Z 2001:db8::1 v6app 3 - - ipv6 host",
                x("2001:db8::1", "v6app", "3", .user, .notice, at(day, "12:34:56Z"), "ipv6 host")),
            // A BOM before MSG: RFC 5424 drops it; rsyslog keeps it in MSG for every other template.
            RsyslogCase(
                "<14>1 \(day)T12:34:56Z web-09 bomapp 7 - - \u{FEFF}bom message",
                x("web-09", "bomapp", "7", .user, .info, at(day, "12:34:56Z"), "bom message"),
                traditional: { $0.message = "\u{FEFF}bom message" }, json: { $0.message = "\u{FEFF}bom message" }),
            // Control characters arrive escaped the rsyslog way (`#011` for a tab), in every template.
            RsyslogCase(
                "<13>\(month) 12:34:56 web-07 tabbed[6]: a\tb",
                x("web-07", "tabbed", "6", .user, .notice, local(day, "12:34:56"), " a#011b"),
                offset: zone(day, "12:34:56"), traditional: { $0.message = "a#011b" }),
        ]
        let socketPath = base + "/in.sock"
        let payload = Array(cases.map { $0.input + "\n" }.joined().utf8)
        try await offThePool { try Self.writeUnixStream(socketPath, payload) }
        // Then logger through imuxsock, once the others are through (the two inputs are not ordered otherwise).
        let through = await eventually(timeout: 30) {
            captures.values.allSatisfy { $0.streams.first?.filter { $0 == 0x0A }.count == cases.count }
        }
        try #require(through, "rsyslog did not forward everything:\n\(readText(base + "/rsyslog.out"))")
        let before = Timestamp.now()
        let (code, out) = try await runToExit(
            logger, ["-d", "-u", base + "/log.sock", "--id=4343", "-t", "loggertag", "from logger -u"],
            output: base + "/logger.out", timeout: 20)
        #expect(code == 0, "logger: \(out)")
        let all = await eventually(timeout: 30) {
            captures.values.allSatisfy { $0.streams.first?.filter { $0 == 0x0A }.count == cases.count + 1 }
        }
        let after = Timestamp.now()
        // Everything is captured and rsyslog keeps no state worth a clean stop (a child of a test thread may also
        // inherit a blocked SIGTERM): SIGKILL.
        kill(daemon.processIdentifier, SIGKILL)
        _ = await eventually(timeout: 10) { !daemon.isRunning }
        try #require(all, "logger's message was not forwarded:\n\(readText(base + "/rsyslog.out"))")
        for name in names { #expect(captures[name]!.streams.count == 1, "\(name): one connection") }

        // logger's message through imuxsock, stamped by rsyslog on receipt (checked against a window).
        let fromLogger = RsyslogCase(
            "", x("capture-host", "loggertag", "4343", .user, .notice, nil, " from logger -u"),
            offset: ParseContext.localTimeZoneOffset(at: now), traditional: { $0.message = "from logger -u" })
        let everything = cases + [fromLogger]

        func parsed(_ name: String, _ framing: Framing, zoned: Bool) -> [Event] {
            let cut = frames(captures[name]!.streams[0], framing)
            #expect(cut.allSatisfy { $0.error == nil }, "\(name): framing errors \(cut.compactMap(\.error))")
            return cut.enumerated().map { k, frame in
                let offset = zoned && k < everything.count ? everything[k].offset : 0
                return SyslogParser().parse(
                    frame, context: ParseContext(source: "rsyslog", receivedAt: now, assumeTimeZoneOffset: offset))
            }
        }
        func checkAll(_ name: String, _ events: [Event], fraction: Bool, _ expected: (RsyslogCase) -> CaptureExpected) {
            #expect(events.count == everything.count, "\(name): \(events.map { $0.message.prefix(80) })")
            for (k, c) in everything.enumerated() where k < events.count {
                let label = "\(name) #\(k) \(c.input.prefix(60).debugDescription)"
                let bytesFraction = fraction && c.expected.timestamp == nil
                checkCapture(events[k], expected(c), label, window: before...after, fraction: bytesFraction)
            }
        }

        // RSYSLOG_TraditionalForwardFormat: `<PRI>Mmm dd hh:mm:ss HOST TAG MSG`. No fraction, no zone, no MSGID
        // or SD: each stamp is read in the zone it was written in (what a receiver configured for its senders
        // does). rsyslog writes the TAG of RFC 5424 input as `app[pid]` without a colon.
        checkAll("traditional", parsed("traditional", .lines, zoned: true), fraction: false) { c in
            var x = c.traditional
            x.timestamp = x.timestamp.map { Timestamp(nanos: $0.nanos - $0.subsecondNanos) }
            return x
        }
        // RSYSLOG_ForwardFormat: the same with an RFC 3339 stamp, fraction and offset kept.
        checkAll("forward", parsed("forward", .lines, zoned: false), fraction: true) { $0.traditional }
        // RSYSLOG_SyslogProtocol23Format (RFC 5424), newline-framed and octet-counted (TCP_Framing).
        for (name, framing) in [("protocol23", Framing.lines), ("octet", .octetCounted)] {
            checkAll(name, parsed(name, framing, zoned: false), fraction: true) { $0.rfc5424 }
        }
        // The JSON template (option.jsonf): `-` for an unknown program or PID, MSG as rsyslog has it.
        checkAll("json", parsed("json", .lines, zoned: false), fraction: true) { $0.json }
    }

    /// One message for rsyslog: its input and what each kind of template must parse to.
    struct RsyslogCase {
        var input: String
        /// The message as the RFC 5424 template carries it (MSGID and SD aside).
        var expected: CaptureExpected
        /// The zone its stamp is written in by the RFC 3164 template (which carries none).
        var offset: Int
        var msgid: String?
        var sd: JSONObject?
        /// What the RFC 3164 templates (and the JSON one) change.
        var traditionalChange: @Sendable (inout CaptureExpected) -> Void
        var jsonChange: @Sendable (inout CaptureExpected) -> Void

        init(
            _ input: String, _ expected: CaptureExpected, offset: Int = 0, msgid: String? = nil, sd: JSONObject? = nil,
            traditional: @escaping @Sendable (inout CaptureExpected) -> Void = { _ in },
            json: @escaping @Sendable (inout CaptureExpected) -> Void = { _ in }
        ) {
            self.input = input
            self.expected = expected
            self.offset = offset
            self.msgid = msgid
            self.sd = sd
            self.traditionalChange = traditional
            self.jsonChange = json
        }

        var traditional: CaptureExpected {
            var x = expected
            traditionalChange(&x)
            return x
        }
        var rfc5424: CaptureExpected {
            var x = expected
            x.version = 1
            x.msgid = msgid
            x.sd = sd
            return x
        }
        var json: CaptureExpected {
            var x = expected
            x.program = x.program ?? "-"
            x.pid = x.pid ?? "-"
            jsonChange(&x)
            return x
        }
    }

    /// Connects to a unix stream socket and writes `bytes` (blocking: call it off the pool).
    static func writeUnixStream(_ path: String, _ bytes: [UInt8]) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CaptureSocket.Failure.socket("socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard ok == 0 else { throw CaptureSocket.Failure.socket("connect \(path): errno \(errno)") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw CaptureSocket.Failure.socket("send: errno \(errno)") }
            sent += n
        }
    }
}
