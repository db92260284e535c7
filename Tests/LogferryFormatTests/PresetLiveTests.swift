import Foundation
import LogferryCore
import LogferryTesting
import Testing

@testable import LogferryFormat

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the real nginx and supervisord (apt) in a temp directory and checks that what they write today still has
/// the shapes of `PresetFixtures`: each live line, through its preset, yields the same field names with the same
/// JSON types as the fixture of its kind.
@Suite(.serialized)
struct PresetLiveTests {
    static let nginx = findTool("nginx")
    static let curl = findTool("curl")
    static let supervisord = findTool("supervisord")
    static let python = findTool("python3")

    /// Field name → JSON kind (`int`, `double`, `string`, ...), the shape compared.
    static func shape(_ e: Event) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in e.fields {
            switch v {
            case .null: out[k] = "null"
            case .bool: out[k] = "bool"
            case .int: out[k] = "int"
            case .double: out[k] = "double"
            case .string: out[k] = "string"
            case .array: out[k] = "array"
            case .object: out[k] = "object"
            }
        }
        return out
    }

    static func applied(_ line: String, file: String?, _ preset: Preset) -> Event {
        var e = SyslogParser().parse(line, context: ParseContext(source: "live", assumeTimeZoneOffset: 0))
        e.file = file
        preset.apply(to: &e, assumeTimeZoneOffset: 0)
        return e
    }

    /// SIGTERM, then SIGKILL for whatever of the tree is left after `timeout`; waits without blocking a thread.
    static func stop(_ p: Process, timeout: Double) async {
        let children = childPIDs(of: p.processIdentifier)
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        if !(await eventually(timeout: timeout, interval: 0.05) { !p.isRunning }) {
            kill(p.processIdentifier, SIGKILL)
            _ = await eventually(timeout: 5) { !p.isRunning }
        }
        for c in children where kill(c, 0) == 0 { kill(c, SIGKILL) }
    }

    static func lines(_ path: String) -> [String] { readText(path).split(separator: "\n").map(String.init) }

    @Test(
        .enabled(
            if: (nginx != nil && curl != nil) || integrationRequired,
            "needs nginx and curl (apt-get install nginx curl)"))
    func nginxStillWritesTheFixtureShapes() async throws {
        guard let nginx = Self.nginx, let curl = Self.curl else {
            Issue.record("LOGFERRY_REQUIRE_INTEGRATION=1 but nginx or curl is missing")
            return
        }
        let base = try makeTempDirectory("preset-nginx")
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base + "/www", withIntermediateDirectories: true)
        try "hi\n".write(toFile: base + "/www/index.html", atomically: false, encoding: .utf8)
        let port = freeTCPPort()
        // The JSON format of the fixtures: every variable quoted, as most published nginx JSON formats do.
        let vars = [
            "time:time_iso8601", "remote_addr", "request", "status", "body_bytes_sent", "request_time",
            "upstream_response_time", "upstream_status", "msec", "connection", "connection_requests", "request_length",
            "bytes_sent", "http_user_agent", "pipe",
        ].map { v -> String in
            let parts = v.split(separator: ":")
            return "\"\(parts[0])\":\"$\(parts.last!)\""
        }
        let conf = """
            daemon off;
            master_process on;
            worker_processes 1;
            pid \(base)/nginx.pid;
            error_log \(base)/error.log info;
            events { worker_connections 64; }
            http {
                client_body_temp_path \(base)/t1;
                proxy_temp_path \(base)/t2;
                fastcgi_temp_path \(base)/t3;
                uwsgi_temp_path \(base)/t4;
                scgi_temp_path \(base)/t5;
                log_format j escape=json '{\(vars.joined(separator: ","))}';
                access_log \(base)/access.json j;
                access_log \(base)/access.log combined;
                upstream dead { server 127.0.0.1:1; }
                server {
                    listen 127.0.0.1:\(port);
                    server_name localhost;
                    root \(base)/www;
                    location /up { proxy_pass http://dead; }
                }
            }
            """
        try conf.write(toFile: base + "/nginx.conf", atomically: false, encoding: .utf8)
        let master = try spawnLogged(
            nginx, ["-p", base, "-c", base + "/nginx.conf", "-e", base + "/startup.log"], output: base + "/nginx.out")
        let listening = await eventually(timeout: 20) { canConnect(port: port) }
        #expect(listening, "nginx never listened:\n\(readText(base + "/nginx.out"))\(readText(base + "/error.log"))")
        if listening {
            for path in ["/", "/x", "/up"] {
                _ = try await runToExit(
                    curl, ["-s", "-o", "/dev/null", "http://127.0.0.1:\(port)\(path)"], output: base + "/curl.out",
                    timeout: 20)
            }
            _ = await eventually(timeout: 10) {
                Self.lines(base + "/access.json").count >= 3
                    && readText(base + "/error.log").contains("connect() failed")
            }
        }
        await Self.stop(master, timeout: 10)
        guard listening else { return }

        let json = Self.lines(base + "/access.json")
        let combined = Self.lines(base + "/access.log")
        let errors = Self.lines(base + "/error.log")
        try #require(json.count == 3 && combined.count == 3, "access logs: \(json) \(combined)")
        let fixtureUp = Self.applied(PresetFixtures.nginxJSONAccess, file: "/f", .nginx)
        let fixtureRoot = Self.applied(PresetFixtures.nginxJSONAccessNoUpstream, file: "/f", .nginx)
        #expect(Self.shape(Self.applied(json[0], file: "/f", .nginx)) == Self.shape(fixtureRoot), "\(json[0])")
        #expect(Self.shape(Self.applied(json[2], file: "/f", .nginx)) == Self.shape(fixtureUp), "\(json[2])")
        #expect(Self.applied(json[2], file: "/f", .nginx).message == "GET /up HTTP/1.1 502")

        let fixtureCombined = Self.applied(PresetFixtures.nginxCombined, file: "/f", .nginx)
        let liveCombined = Self.applied(combined[1], file: "/f", .nginx)
        #expect(Self.shape(liveCombined) == Self.shape(fixtureCombined), "\(combined[1])")
        #expect(liveCombined.fields["status"] == 404)

        let open = try #require(errors.first { $0.contains("[error]") && $0.contains("open()") }, "\(errors)")
        let liveOpen = Self.applied(open, file: "/f", .nginx)
        #expect(Self.shape(liveOpen) == Self.shape(Self.applied(PresetFixtures.nginxErrorFile, file: "/f", .nginx)))
        #expect(liveOpen.message.hasPrefix("open() \"") && liveOpen.message.hasSuffix("(2: No such file or directory)"))
        #expect(liveOpen.severity == .err)
        let upstream = try #require(errors.first { $0.contains("while connecting to upstream") }, "\(errors)")
        let liveUpstream = Self.applied(upstream, file: "/f", .nginx)
        let fixtureUpstream = Self.applied(PresetFixtures.nginxErrorUpstreamSyslog, file: nil, .nginx)
        #expect(Self.shape(liveUpstream) == Self.shape(fixtureUpstream), "\(upstream)")
        #expect(liveUpstream.message == fixtureUpstream.message)
        // Every line of the error log is recognised: level, pid and tid at least, and a timestamp.
        for line in errors {
            let e = Self.applied(line, file: "/f", .nginx)
            #expect(e.fields["level"] != nil && e.fields["pid"] != nil && e.timestamp != nil, "\(line)")
        }
    }

    @Test(
        .enabled(
            if: (supervisord != nil && python != nil) || integrationRequired,
            "needs supervisord and python3 (apt-get install supervisor)"))
    func supervisorStillWritesTheFixtureShapes() async throws {
        guard let supervisord = Self.supervisord, let python = Self.python else {
            Issue.record("LOGFERRY_REQUIRE_INTEGRATION=1 but supervisord or python3 is missing")
            return
        }
        let base = try makeTempDirectory("preset-sv")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let logs = base + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let conf = """
            [unix_http_server]
            file=\(base)/sv.sock
            [supervisord]
            nodaemon=true
            logfile=\(base)/supervisord.log
            pidfile=\(base)/sv.pid
            childlogdir=\(logs)
            loglevel=debug
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
            [program:web]
            command=/bin/sh -c "echo out-line; echo err-line >&2; exec sleep 60"
            startsecs=0
            autorestart=false
            stopsignal=KILL
            [program:job]
            command=/bin/sh -c "echo job-out; exit 3"
            startsecs=0
            autorestart=false
            stdout_logfile=\(logs)/job.out.log
            stderr_logfile=\(logs)/job.err.log

            """
        try conf.write(toFile: base + "/sv.conf", atomically: false, encoding: .utf8)
        // Through an exec wrapper that clears the signal mask (a child of a test thread inherits a blocked SIGTERM).
        let unblock =
            "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])"
        let sv = try spawnLogged(
            python, ["-c", unblock, supervisord, "-c", base + "/sv.conf"], output: base + "/sv.out")
        let done = await eventually(timeout: 30, interval: 0.1) {
            let log = readText(base + "/supervisord.log")
            let childLogs = (try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? []
            return log.contains("spawned: 'web'") && log.contains("exited: job")
                && childLogs.contains { $0.hasPrefix("web-stdout---supervisor-") }
                && readText(base + "/logs/job.out.log").contains("job-out")
        }
        await Self.stop(sv, timeout: 15)
        #expect(done, "supervisord did not run its programs:\n\(readText(base + "/sv.out"))")
        guard done else { return }

        let own = Self.lines(base + "/supervisord.log")
        let spawned = try #require(own.first { $0.contains("spawned: 'web'") })
        let e = Self.applied(spawned, file: base + "/supervisord.log", .supervisor)
        let fixture = Self.applied(PresetFixtures.supervisordSpawned, file: "/x/supervisord.log", .supervisor)
        #expect(Self.shape(e) == Self.shape(fixture))
        #expect(e.program == "supervisord" && e.severity == .info && e.timestamp != nil)
        #expect(e.message.hasPrefix("spawned: 'web' with pid "))
        let exited = try #require(own.first { $0.contains("exited: job") })
        #expect(Self.applied(exited, file: "/x/supervisord.log", .supervisor).severity == .warning)
        // Every line that starts with a date is one of supervisord's own, with a level the preset knows.
        for line in own where line.first?.isNumber == true {
            let o = Self.applied(line, file: "/x/supervisord.log", .supervisor)
            #expect(o.severity != nil && o.timestamp != nil, "\(line)")
        }

        for name in try FileManager.default.contentsOfDirectory(atPath: logs) {
            let path = logs + "/" + name
            let c = Self.applied("a line", file: path, .supervisor)
            switch name {
            case _ where name.hasPrefix("web-stdout---"): #expect(c.program == "web" && c.fields["stream"] == "stdout")
            case _ where name.hasPrefix("web-stderr---"): #expect(c.program == "web" && c.fields["stream"] == "stderr")
            case "job.out.log": #expect(c.program == "job" && c.fields["stream"] == "stdout")
            case "job.err.log": #expect(c.program == "job" && c.fields["stream"] == "stderr")
            default: Issue.record("unexpected child log \(name)")
            }
        }
    }
}
