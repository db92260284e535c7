import LogferryCore
import Testing

@testable import LogferryFormat

/// Lines captured from nginx 1.22.1 and supervisor 4.2.5 (Debian 12 packages); `PresetLiveTests` checks that the
/// installed programs still write them in these shapes.
enum PresetFixtures {
    static let nginxJSONAccess =
        #"{"time":"2026-11-21T16:28:34+00:00","remote_addr":"127.0.0.1","request":"GET /up HTTP/1.1","status":"502","body_bytes_sent":"157","request_time":"0.001","upstream_response_time":"0.000","upstream_status":"502","msec":"1795278514.694","connection":"3","connection_requests":"1","request_length":"81","bytes_sent":"314","http_user_agent":"curl/7.88.1","pipe":"."}"#
    static let nginxJSONAccessNoUpstream =
        #"{"time":"2026-11-21T16:28:34+00:00","remote_addr":"127.0.0.1","request":"GET / HTTP/1.1","status":"200","body_bytes_sent":"3","request_time":"0.000","upstream_response_time":"","upstream_status":"","msec":"1795278514.391","connection":"1","connection_requests":"1","request_length":"79","bytes_sent":"237","http_user_agent":"curl/7.88.1","pipe":"."}"#
    static let nginxCombined =
        #"127.0.0.1 - - [21/Nov/2026:16:28:34 +0000] "GET /x HTTP/1.1" 404 153 "-" "curl/7.88.1""#
    static let nginxErrorFile =
        #"2026/11/21 16:28:34 [error] 8419#8419: *2 open() "/tmp/eh-live/www/x" failed (2: No such file or directory), client: 127.0.0.1, server: localhost, request: "GET /x HTTP/1.1", host: "127.0.0.1:18457""#
    static let nginxErrorUpstreamSyslog =
        #"<187>Nov 21 16:28:34 vm nginx: 2026/11/21 16:28:34 [error] 8419#8419: *3 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: localhost, request: "GET /up HTTP/1.1", upstream: "http://127.0.0.1:1/up", host: "127.0.0.1:18457""#
    static let nginxNotice = "2026/11/21 16:28:33 [notice] 8416#8416: start worker process 8419"
    static let supervisordSpawned = "2026-11-21 16:28:55,227 INFO spawned: 'job' with pid 9797"
    static let supervisordExited = "2026-11-21 16:28:55,256 WARN exited: job (exit status 3; not expected)"
    static let supervisordCrit =
        "2026-11-21 16:28:54,188 CRIT Server 'unix_http_server' running without any HTTP authentication checking"
}

@Suite struct PresetTests {
    func fileEvent(_ line: String, file: String, offset: Int = 0) -> Event {
        var e = parse(line, .auto, offset: offset)
        e.file = file
        return e
    }

    @Test func nginxJSONAccessFromFileGetsTypedNumbers() {
        // A file source with format auto: the JSON parser already moved the keys to fields (and `time`).
        var e = fileEvent(PresetFixtures.nginxJSONAccess, file: "/var/log/nginx/access.json")
        Preset.nginx.apply(to: &e, assumeTimeZoneOffset: 0)
        #expect(e.fields["status"] == 502)
        #expect(e.fields["upstream_status"] == 502)
        #expect(e.fields["body_bytes_sent"] == 157)
        #expect(e.fields["bytes_sent"] == 314)
        #expect(e.fields["request_length"] == 81)
        #expect(e.fields["connection"] == 3)
        #expect(e.fields["connection_requests"] == 1)
        #expect(e.fields["request_time"] == .double(0.001))
        #expect(e.fields["upstream_response_time"] == .double(0))
        #expect(e.fields["msec"] == .double(1_795_278_514.694))
        #expect(e.fields["pipe"] == false)
        #expect(e.fields["remote_addr"] == "127.0.0.1")
        #expect(e.fields["http_user_agent"] == "curl/7.88.1")
        #expect(e.timestamp == utc(2026, 11, 21, 16, 28, 34, nanos: 694_000_000))
        #expect(e.message == "GET /up HTTP/1.1 502")
    }

    @Test func nginxJSONAccessThroughSyslogEmptyValuesDropped() {
        var e = parse("<190>Nov 21 16:28:34 nginx: " + PresetFixtures.nginxJSONAccessNoUpstream)
        #expect(e.program == "nginx")
        Preset.nginx.apply(to: &e, assumeTimeZoneOffset: 0)
        #expect(e.fields["status"] == 200)
        #expect(e.fields["upstream_response_time"] == nil)
        #expect(e.fields["upstream_status"] == nil)
        #expect(e.fields["time"] == "2026-11-21T16:28:34+00:00")
        #expect(e.message == "GET / HTTP/1.1 200")
        #expect(e.timestamp == utc(2026, 11, 21, 16, 28, 34, nanos: 391_000_000))
    }

    @Test func nginxValuesThatAreNotOneNumberStayStrings() {
        var e = Event(
            message: #"{"upstream_response_time":"0.001, 0.002","upstream_status":"502, 200","status":"-","x":"7"}"#,
            source: "s", receivedAt: receivedAt)
        Preset.nginx.apply(to: &e)
        #expect(
            e.fields == ["upstream_response_time": "0.001, 0.002", "upstream_status": "502, 200", "x": "7"])
        #expect(
            e.message == #"{"upstream_response_time":"0.001, 0.002","upstream_status":"502, 200","status":"-","x":"7"}"#
        )
    }

    @Test func nginxErrorLineFromFile() {
        var e = fileEvent(PresetFixtures.nginxErrorFile, file: "/var/log/nginx/error.log")
        Preset.nginx.apply(to: &e, assumeTimeZoneOffset: 3600)
        #expect(e.message == #"open() "/tmp/eh-live/www/x" failed (2: No such file or directory)"#)
        #expect(
            e.fields == [
                "level": "error", "pid": 8419, "tid": 8419, "connection_id": 2, "client": "127.0.0.1",
                "server": "localhost", "request": "GET /x HTTP/1.1", "host": "127.0.0.1:18457",
            ])
        #expect(e.severity == .err)
        #expect(e.pid == "8419")
        #expect(e.timestamp == utc(2026, 11, 21, 15, 28, 34))  // written in local time, UTC+1
    }

    @Test func nginxErrorLineThroughSyslogKeepsPRISeverityAndHeaderTime() {
        var e = parse(PresetFixtures.nginxErrorUpstreamSyslog)
        let headerTime = e.timestamp
        Preset.nginx.apply(to: &e, assumeTimeZoneOffset: 0)
        #expect(e.severity == .err)  // from <187>
        #expect(e.timestamp == headerTime)
        #expect(e.message == "connect() failed (111: Connection refused) while connecting to upstream")
        #expect(e.fields["upstream"] == "http://127.0.0.1:1/up")
        #expect(e.fields["request"] == "GET /up HTTP/1.1")
        #expect(e.fields["connection_id"] == 3)
    }

    @Test func nginxErrorLineWithoutDateOrConnection() {
        var e = Event(message: "*5 open() \"/x\" failed, client: 10.0.0.1", source: "s", receivedAt: receivedAt)
        Preset.nginx.apply(to: &e)
        #expect(e.message == #"open() "/x" failed"#)
        #expect(e.fields == ["connection_id": 5, "client": "10.0.0.1"])
        var notice = fileEvent(PresetFixtures.nginxNotice, file: "/x/error.log")
        Preset.nginx.apply(to: &notice, assumeTimeZoneOffset: 0)
        #expect(notice.message == "start worker process 8419")
        #expect(notice.severity == .notice)
        #expect(notice.fields["connection_id"] == nil)
    }

    @Test func nginxQuotedRequestMayContainContextLikeText() {
        let line =
            #"2026/11/21 16:28:34 [warn] 1#1: *9 x, client: 1.2.3.4, server: s, request: "GET /?a=, host: evil HTTP/1.1", host: "h""#
        var e = Event(message: line, source: "s", receivedAt: receivedAt)
        Preset.nginx.apply(to: &e, assumeTimeZoneOffset: 0)
        #expect(e.fields["request"] == "GET /?a=, host: evil HTTP/1.1")
        #expect(e.fields["host"] == "h")
        #expect(e.message == "x")
    }

    @Test func nginxCombinedAccessLine() {
        var e = fileEvent(PresetFixtures.nginxCombined, file: "/var/log/nginx/access.log")
        Preset.nginx.apply(to: &e)
        #expect(
            e.fields == [
                "remote_addr": "127.0.0.1", "request": "GET /x HTTP/1.1", "status": 404, "body_bytes_sent": 153,
                "http_user_agent": "curl/7.88.1",
            ])
        #expect(e.timestamp == utc(2026, 11, 21, 16, 28, 34))
        #expect(e.message == PresetFixtures.nginxCombined)
        var zoned = Event(
            message: #"::1 - bob [01/Feb/2026:01:02:03 -0130] "POST /a HTTP/2.0" 201 0 "http://r/" "ua x" "1.2.3.4""#,
            source: "s", receivedAt: receivedAt)
        Preset.nginx.apply(to: &zoned)
        #expect(zoned.timestamp == utc(2026, 2, 1, 2, 32, 3))
        #expect(zoned.fields["remote_user"] == "bob")
        #expect(zoned.fields["http_referer"] == "http://r/")
        #expect(zoned.fields["http_user_agent"] == "ua x")
    }

    @Test(arguments: [
        "", "hello world", "[", "[error", "*", "*5", "2026/11/21 16:28:34", "2026/11/21 16:28:34 [", "1.2.3.4 - - [",
        "1.2.3.4 - - [21/Nov/2026:16:28:34 +0000] \"GET", "{\"status\":", "2026/11/21 16:28:34 [error] 1#",
        "[error] x, client: ", "[error] x, client: \"", "*1 , client: a, server", "\u{FFFD}\u{0}[\u{0}",
    ])
    func nginxNeverTrapsAndLeavesUnknownLinesAlone(line: String) {
        var e = Event(message: line, source: "s", receivedAt: receivedAt)
        Preset.nginx.apply(to: &e, assumeTimeZoneOffset: 0)
        Preset.supervisor.apply(to: &e, assumeTimeZoneOffset: 0)
        if ["", "hello world", "[", "[error", "*", "*5", "{\"status\":"].contains(line) {
            #expect(e.message == line)
            #expect(e.fields.isEmpty)
        }
    }

    @Test(
        arguments: [
            ("/var/log/supervisor/web-stdout---supervisor-AbC123.log", "web", "stdout"),
            ("/var/log/supervisor/my-app-stderr---supervisor-_ne6fdu8.log", "my-app", "stderr"),
            ("/logs/web.log", "web", nil),
            ("/logs/web.log.3", "web", nil),
            ("/logs/job.out.log", "job", "stdout"),
            ("/logs/job.err.log", "job", "stderr"),
            ("/logs/api-stdout.log", "api", "stdout"),
            ("/logs/api_stderr.log", "api", "stderr"),
            ("/logs/worker.stdout.log", "worker", "stdout"),
            ("/var/log/supervisor/supervisord.log", "supervisord", nil),
        ] as [(String, String, String?)])
    func supervisorProgramFromFileName(file: String, program: String, stream: String?) {
        var e = Event(message: "a line", source: "apps", receivedAt: receivedAt, file: file)
        Preset.supervisor.apply(to: &e, assumeTimeZoneOffset: 0)
        #expect(e.program == program)
        #expect(e.fields["stream"] == stream.map(JSONValue.string))
        #expect(e.message == "a line")
        #expect(e.timestamp == nil)
    }

    @Test func supervisorKeepsAProgramTheEventAlreadyHas() {
        var e = Event(
            message: "x", source: "s", receivedAt: receivedAt, program: "given",
            file: "/l/web-stdout---supervisor-a.log")
        Preset.supervisor.apply(to: &e)
        #expect(e.program == "given")
        #expect(e.fields.isEmpty)
    }

    @Test(arguments: [
        (PresetFixtures.supervisordSpawned, Severity.info, "spawned: 'job' with pid 9797", Int64(227)),
        (PresetFixtures.supervisordExited, .warning, "exited: job (exit status 3; not expected)", 256),
        (
            PresetFixtures.supervisordCrit, .crit,
            "Server 'unix_http_server' running without any HTTP authentication checking", 188
        ),
        ("2026-11-21 16:28:55,283 DEBG 'web' stdout output:", .debug, "'web' stdout output:", 283),
        ("2026-11-21 16:28:55,283 ERRO x", .err, "x", 283),
        ("2026-11-21 16:28:55,283 BLAT", .debug, "", 283),
    ])
    func supervisordOwnLines(line: String, severity: Severity, message: String, millis: Int64) {
        var e = fileEvent(line, file: "/var/log/supervisor/supervisord.log")
        Preset.supervisor.apply(to: &e, assumeTimeZoneOffset: -3600)
        #expect(e.program == "supervisord")
        #expect(e.severity == severity)
        #expect(e.message == message)
        let second = line.hasPrefix("2026-11-21 16:28:54") ? 54 : 55
        #expect(e.timestamp == utc(2026, 11, 21, 17, 28, second, nanos: millis * 1_000_000))
    }

    @Test func supervisorLeavesOtherLinesAlone() {
        for line in ["2026-11-21 16:28:55,283 NOTE x", "2026-11-21 16:28:55 INFO x", "out-line", "2026-11-21"] {
            var e = fileEvent(line, file: "/l/web.log")
            Preset.supervisor.apply(to: &e, assumeTimeZoneOffset: 0)
            #expect(e.message == line)
            #expect(e.severity == nil)
            #expect(e.timestamp == nil)
        }
    }

    @Test func templateAppliesThePresetFirst() throws {
        let template = try Template(
            spec: TemplateSpec(
                fields: [("code", "${fields.status}")], fieldTypes: [("code", FieldConversion(type: .string))])
        ).withPreset(.nginx)
        let e = fileEvent(PresetFixtures.nginxCombined, file: "/a.log")
        let doc = text(template.render(e, nodeName: "n", assumeTimeZoneOffset: 0))
        #expect(doc.contains(#""status":404,"body_bytes_sent":153"#))
        #expect(doc.hasSuffix(#""code":"404"}}"#))
        #expect(Preset(rawValue: "supervisor") == .supervisor)
        #expect(Preset.names == "nginx, supervisor")
    }
}
