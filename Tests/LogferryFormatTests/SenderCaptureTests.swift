import Foundation
import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryFormat

#if canImport(Glibc)
    import Glibc
#endif

/// Captures what util-linux `logger` and Python's `logging.handlers.SysLogHandler` really send, in each of their
/// dialects, on sockets this test listens on, and checks what `SyslogParser` (and `FrameSplitter` for octet
/// counting) makes of every message. The transport tests (LogferrySourcesTests) check delivery; these check parsing.
@Suite(.serialized)
struct SenderCaptureTests {
    static let logger = findTool("logger")
    static let python = findTool("python3")

    /// This machine's name as `gethostname` gives it: logger's RFC 5424 HOSTNAME; its RFC 3164 HOST is the part
    /// before the first dot.
    static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
    static var shortHostname: String { String(hostname.prefix { $0 != "." }) }

    static func parse(_ bytes: [UInt8], at now: Timestamp) -> Event {
        SyslogParser().parse(bytes, context: ParseContext(source: "capture", receivedAt: now))
    }

    /// logger's `timeQuality` element as it sent it: `isSynced` (and `syncAccuracy`) depend on the machine's clock.
    static func timeQuality(_ e: Event) -> JSONObject {
        let tq = e.sd?["timeQuality"]
        #expect(tq?["tzKnown"] == "1", "timeQuality \(String(describing: e.sd))")
        #expect(tq?["isSynced"] == "0" || tq?["isSynced"] == "1", "timeQuality \(String(describing: e.sd))")
        return ["timeQuality": tq ?? .null]
    }

    @Test(.enabled(if: logger != nil || integrationRequired, "needs util-linux logger"), .timeLimit(.minutes(2)))
    func loggerDialectsOnAUnixDatagramSocket() async throws {
        let logger = try #require(Self.logger)
        let base = try makeTempDirectory("cap-logger")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let capture = try CaptureSocket(.unixDatagram(base + "/log.sock"))
        defer { capture.stop() }

        let long = String(repeating: "x", count: 15_000)
        let host = Self.hostname
        let short = Self.shortHostname
        let tq: JSONObject = ["timeQuality": .null]  // replaced by what logger sent (see timeQuality)
        // (arguments, expected); `-d -u SOCKET` come first. Stamps are logger's clock: checked against a window.
        let cases: [([String], CaptureExpected)] = [
            // The local form (as to /dev/log): no HOST.
            (
                ["-t", "t1", "plain local"],
                CaptureExpected(
                    host: nil, program: "t1", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: "plain local")
            ),
            (
                ["--rfc3164", "-t", "t2", "rfc3164 msg"],
                CaptureExpected(
                    host: short, program: "t2", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: "rfc3164 msg")
            ),
            (
                ["--rfc5424", "-t", "t3", "rfc5424 msg"],
                CaptureExpected(
                    host: host, program: "t3", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: "rfc5424 msg", sd: tq, version: 1)
            ),
            (
                [
                    "--rfc5424", "-t", "t4", "--msgid", "MID", "--sd-id", "zoo@123", "--sd-param", #"tiger="hungry""#,
                    "--sd-param", #"zebra="running""#, "--sd-id", "manager@123", "--sd-param", #"onMeal="yes""#,
                    "with sd",
                ],
                CaptureExpected(
                    host: host, program: "t4", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: "with sd", msgid: "MID",
                    sd: [
                        "timeQuality": .null, "zoo@123": .object(["tiger": "hungry", "zebra": "running"]),
                        "manager@123": .object(["onMeal": "yes"]),
                    ], version: 1)
            ),
            (
                ["--rfc5424=notq,notime,nohost", "-t", "t5", "stripped"],
                CaptureExpected(
                    host: nil, program: "t5", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: "stripped", version: 1, noTimestamp: true)
            ),
            // An `[sd]`-looking message after a NILVALUE structured data, with unicode.
            (
                ["--rfc5424=notq", "-t", "t6", "[not sd] héllo wörld ✓ 日本"],
                CaptureExpected(
                    host: host, program: "t6", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: "[not sd] héllo wörld ✓ 日本", version: 1)
            ),
            (
                ["--id=4242", "-p", "local3.warning", "-t", "t7", "with pid"],
                CaptureExpected(
                    host: nil, program: "t7", pid: "4242", facility: .local3, severity: .warning, timestamp: nil,
                    message: "with pid")
            ),
            (
                ["--rfc5424", "--id=4242", "-p", "daemon.err", "-t", "t8", "5424 pid"],
                CaptureExpected(
                    host: host, program: "t8", pid: "4242", facility: .daemon, severity: .err, timestamp: nil,
                    message: "5424 pid", sd: tq, version: 1)
            ),
            // SD-PARAM escapes as logger writes them (`\"`, `\]`, `\\`).
            (
                ["--rfc5424=notq", "-t", "t10", "--sd-id", "x@1", "--sd-param", #"k="a\"b\]c\\d""#, "escaped sd"],
                CaptureExpected(
                    host: host, program: "t10", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: "escaped sd", sd: ["x@1": .object(["k": #"a"b]c\d"#])], version: 1)
            ),
            // Only the one space logger writes after `TAG:` is not the message's.
            (
                ["-t", "t11", "   indented"],
                CaptureExpected(
                    host: nil, program: "t11", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: "   indented")
            ),
            // A newline inside a datagram stays in the message.
            (
                ["-t", "t12", "line1\nline2"],
                CaptureExpected(
                    host: nil, program: "t12", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: "line1\nline2")
            ),
            (
                ["-S", "20000", "-t", "t9", long],
                CaptureExpected(
                    host: nil, program: "t9", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: long)
            ),
        ]
        let start = Timestamp.now()
        for (args, _) in cases {
            let (code, out) = try await runToExit(
                logger, ["-d", "-u", base + "/log.sock"] + args, output: base + "/logger.out", timeout: 20)
            #expect(code == 0, "logger \(args.prefix(4)): \(out)")
        }
        #expect(await eventually(timeout: 10) { capture.datagrams.count >= cases.count })
        let end = Timestamp.now()
        let got = capture.datagrams
        try #require(got.count == cases.count, "\(got.map { String(decoding: $0, as: UTF8.self) })")
        for (k, (args, expected)) in cases.enumerated() {
            let e = Self.parse(got[k], at: end)
            var x = expected
            if let sd = x.sd, sd["timeQuality"] != nil {
                var merged = Self.timeQuality(e)
                for (key, value) in sd where key != "timeQuality" { merged[key] = value }
                x.sd = merged
            }
            let is5424 = args.contains { $0.hasPrefix("--rfc5424") }
            checkCapture(
                e, x,
                "logger \(args.prefix(3).joined(separator: " ")): \(String(decoding: got[k].prefix(120), as: UTF8.self))",
                window: start...end, fraction: is5424)
        }
    }

    @Test(.enabled(if: logger != nil || integrationRequired, "needs util-linux logger"), .timeLimit(.minutes(2)))
    func loggerOctetCountingOnAUnixStreamSocket() async throws {
        let logger = try #require(Self.logger)
        let base = try makeTempDirectory("cap-oct")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let path = base + "/log.sock"
        let capture = try CaptureSocket(.unixStream(path))
        defer { capture.stop() }

        // Each run sends two messages (two lines of stdin) on one connection, octet-counted.
        let runs: [[String]] = [
            ["-T", "-u", path, "--octet-count", "-t", "oc1"],
            ["-T", "-u", path, "--octet-count", "--rfc5424", "--id=99", "-t", "oc2"],
            ["-T", "-u", path, "--octet-count", "--rfc3164", "-t", "oc3"],
        ]
        let start = Timestamp.now()
        for args in runs {
            let r = try await offThePool { try runTool(logger, args, stdin: Data("first line\nsecond ✓ [x]\n".utf8)) }
            #expect(r.code == 0, "logger \(args): \(r.err)")
        }
        #expect(await eventually(timeout: 10) { capture.streams.count >= runs.count && capture.allClosed })
        let end = Timestamp.now()
        let streams = capture.streams
        try #require(streams.count == runs.count)
        let host = Self.hostname
        for (k, args) in runs.enumerated() {
            let label = "logger \(args.dropFirst(3).joined(separator: " "))"
            // Octet counting really was used: the stream starts with a length, and no frame ends in a newline.
            #expect(streams[k].first.map { (0x31...0x39).contains($0) } == true, "\(label): \(streams[k].prefix(20))")
            let cut = frames(streams[k], .octetCounted)
            try #require(cut.count == 2, "\(label): \(cut.map { String(decoding: $0.bytes, as: UTF8.self) })")
            #expect(cut.allSatisfy { $0.error == nil && $0.bytes.last != 0x0A }, "\(label)")
            for (n, message) in ["first line", "second ✓ [x]"].enumerated() {
                let e = SyslogParser().parse(cut[n], context: ParseContext(source: "capture", receivedAt: end))
                var x = CaptureExpected(
                    host: nil, program: "oc\(k + 1)", pid: nil, facility: .user, severity: .notice, timestamp: nil,
                    message: message)
                switch k {
                case 1:
                    x.host = host
                    x.pid = "99"
                    x.version = 1
                    x.sd = Self.timeQuality(e)
                case 2: x.host = Self.shortHostname
                default: break
                }
                checkCapture(e, x, "\(label) #\(n)", window: start...end, fraction: k == 1)
            }
        }
    }

    @Test(.enabled(if: python != nil || integrationRequired, "needs python3"), .timeLimit(.minutes(2)))
    func pythonSysLogHandlerFormats() async throws {
        let python = try #require(Self.python)
        let base = try makeTempDirectory("cap-py")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let path = base + "/log.sock"
        let capture = try CaptureSocket(.unixDatagram(path))
        defer { capture.stop() }

        let script = """
            import logging, logging.handlers, os, sys
            h = logging.handlers.SysLogHandler(address=sys.argv[1])
            log = logging.getLogger("probe"); log.addHandler(h); log.setLevel(logging.DEBUG); log.propagate = False
            log.warning("default format %d", 1)
            log.info("[not sd] looks like sd")
            h.setFormatter(logging.Formatter("%(name)s[%(process)d]: %(message)s"))
            log.error("with tag")
            h.setFormatter(logging.Formatter("%(message)s"))
            h.ident = "identapp: "
            log.debug("with ident")
            h7 = logging.handlers.SysLogHandler(address=sys.argv[1], facility=logging.handlers.SysLogHandler.LOG_LOCAL7)
            h7.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            l7 = logging.getLogger("p7"); l7.addHandler(h7); l7.propagate = False
            l7.critical("héllo wörld ✓ 日本")
            h.ident = ""
            h.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
            log.warning("with asctime")
            print(os.getpid())
            """
        let r = try await offThePool { try runTool(python, ["-c", script, path]) }
        try #require(r.code == 0, "python: \(r.err)")
        let pid = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(await eventually(timeout: 10) { capture.datagrams.count >= 6 })
        let got = capture.datagrams
        try #require(got.count == 6, "\(got.map { String(decoding: $0, as: UTF8.self) })")
        // Every record is `<PRI>` + the formatted text + NUL: no timestamp, no host.
        #expect(got.allSatisfy { $0.last == 0 })
        let asctimeText = String(decoding: got[5].dropFirst("<12>".count).dropLast(), as: UTF8.self)
        #expect(asctimeText.hasSuffix(" probe: with asctime") && asctimeText.first?.isNumber == true, "\(asctimeText)")
        let expected = [
            CaptureExpected(
                host: nil, program: nil, pid: nil, facility: .user, severity: .warning, timestamp: nil,
                message: "default format 1", noTimestamp: true),
            CaptureExpected(
                host: nil, program: nil, pid: nil, facility: .user, severity: .info, timestamp: nil,
                message: "[not sd] looks like sd", noTimestamp: true),
            CaptureExpected(
                host: nil, program: "probe", pid: pid, facility: .user, severity: .err, timestamp: nil,
                message: "with tag", noTimestamp: true),
            CaptureExpected(
                host: nil, program: "identapp", pid: nil, facility: .user, severity: .debug, timestamp: nil,
                message: "with ident", noTimestamp: true),
            CaptureExpected(
                host: nil, program: "p7", pid: nil, facility: .local7, severity: .crit, timestamp: nil,
                message: "héllo wörld ✓ 日本", noTimestamp: true),
            // Python's asctime (`2026-11-21 20:24:10,233`) is no syslog stamp: all of it is message text.
            CaptureExpected(
                host: nil, program: nil, pid: nil, facility: .user, severity: .warning, timestamp: nil,
                message: asctimeText, noTimestamp: true),
        ]
        let now = Timestamp.now()
        for (k, x) in expected.enumerated() {
            let label = "python #\(k): \(String(decoding: got[k], as: UTF8.self).debugDescription)"
            checkCapture(Self.parse(got[k], at: now), x, label, window: now...now, fraction: false)
        }
    }
}
