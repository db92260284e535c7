import Foundation
import LogferryTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 3: a real nginx (apt) logs to one logferry node over unix datagram sockets, exactly as in production:
/// `access_log syslog:server=unix:SOCK,nohostname,tag=nginx json_fmt;` (a JSON `log_format` with `escape=json`)
/// and `error_log syslog:server=unix:SOCK2 warn;`. The node (template with `json_body: true` on the access
/// source) writes to a `file` destination. N requests from a Python urllib client, some of them 404s, must give
/// exactly N access events with typed fields (status and bytes JSON numbers, path and method strings), and every
/// request for a missing file an error-log event (`open() ... failed (2: No such file or directory)`).
@Suite(.serialized)
struct NginxTests {
    static let nginx = findTool("nginx")
    static let python = findTool("python3")
    static let ready =
        nginx != nil && python != nil && FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    static let requests = 500
    /// Every `missingEvery`-th request asks for a file that does not exist (a 404 and an error-log line).
    static let missingEvery = 10

    @Test(
        .enabled(if: ready || integrationRequired, "needs nginx (apt-get install nginx), python3 and a built logferry"))
    func accessAndErrorLogsOverUnixDatagrams() async throws {
        #expect(Self.ready, "LOGFERRY_REQUIRE_INTEGRATION=1 but nginx, python3 or the logferry binary is missing")
        guard Self.ready, let nginx = Self.nginx, let python = Self.python else { return }
        let base = try makeTempDirectory("ngx")
        defer { try? FileManager.default.removeItem(atPath: base) }
        // nginx workers run as `nobody` when the master is root: they must reach the docroot and the sockets.
        chmod(base, 0o755)
        let www = base + "/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        chmod(www, 0o755)

        // The request plan: unique paths, so the stored `path` fields can be compared one by one.
        var plan: [(path: String, found: Bool)] = []
        for i in 0..<Self.requests {
            if i % Self.missingEvery == Self.missingEvery - 1 {
                plan.append(("/missing-\(i).html", false))
            } else {
                plan.append(("/ok-\(i).html", true))
                try "page \(i)\n".write(toFile: www + "/ok-\(i).html", atomically: false, encoding: .utf8)
            }
        }

        // The logferry node: the sockets must exist before nginx starts (nginx connects its unix syslog socket once).
        let accessSock = base + "/a.sock"
        let errorSock = base + "/e.sock"
        let config = """
            node:
              name: web-01
              data_dir: \(base)/data
            sources:
              nginx_access:
                type: unix-dgram
                path: \(accessSock)
                mode: "0666"
                template: nginx_json
                preset: nginx
              nginx_error:
                type: unix-dgram
                path: \(errorSock)
                mode: "0666"
                preset: nginx
            templates:
              nginx_json:
                json_body: true
            destinations:
              archive:
                type: file
                path: \(base)/store/${SOURCE}.log
            """
        try config.write(toFile: base + "/logferry.yaml", atomically: false, encoding: .utf8)
        let node = try LogferryProcess(
            arguments: ["run", "--config", base + "/logferry.yaml"], logPath: base + "/logferry.log")
        defer { node.terminate() }
        let socketsUp = await eventually(timeout: 20) {
            FileManager.default.fileExists(atPath: accessSock) && FileManager.default.fileExists(atPath: errorSock)
        }
        #expect(socketsUp, "the node's sockets never appeared:\n\(node.log.suffix(2000))")
        guard socketsUp else { return }

        // nginx in the foreground (master + one worker), everything it writes inside `base`.
        let port = freeTCPPort()
        let nginxConf = """
            daemon off;
            master_process on;
            worker_processes 1;
            pid \(base)/nginx.pid;
            error_log \(base)/nginx-error.log warn;
            error_log syslog:server=unix:\(errorSock) warn;
            events { worker_connections 256; }
            http {
                client_body_temp_path \(base)/tmp-body;
                proxy_temp_path \(base)/tmp-proxy;
                fastcgi_temp_path \(base)/tmp-fastcgi;
                uwsgi_temp_path \(base)/tmp-uwsgi;
                scgi_temp_path \(base)/tmp-scgi;
                log_format json_fmt escape=json '{"status":"$status","path":"$uri","body_bytes_sent":"$body_bytes_sent","method":"$request_method","request_time":"$request_time"}';
                access_log syslog:server=unix:\(accessSock),nohostname,tag=nginx json_fmt;
                server {
                    listen 127.0.0.1:\(port);
                    root \(www);
                }
            }
            """
        try nginxConf.write(toFile: base + "/nginx.conf", atomically: false, encoding: .utf8)
        let check = try runTool(
            nginx, ["-t", "-p", base, "-c", base + "/nginx.conf", "-e", base + "/nginx-startup.log"])
        #expect(check.code == 0, "nginx -t rejected the generated config:\n\(check.err)")
        guard check.code == 0 else { return }
        let master = try spawnLogged(
            nginx, ["-p", base, "-c", base + "/nginx.conf", "-e", base + "/nginx-startup.log"],
            output: base + "/nginx.out")
        defer { stopProcessTree(master, timeout: 10) }  // nginx's master stops its workers on SIGTERM
        let listening = await eventually(timeout: 20) { canConnect(port: port) }
        #expect(
            listening,
            "nginx never listened on \(port):\n\(readText(base + "/nginx.out"))\n\(readText(base + "/nginx-error.log"))"
        )
        guard listening else { return }

        // The client: one Python process, sequential requests, prints the status of each.
        let client = """
            import sys, urllib.request, urllib.error
            port = sys.argv[1]
            for path in sys.argv[2:]:
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path), timeout=10) as r:
                        r.read(); print(r.status)
                except urllib.error.HTTPError as e:
                    e.read(); print(e.code)
            """
        let (code, output) = try await runToExit(
            python, ["-c", client, String(port)] + plan.map(\.path), output: base + "/client.out", timeout: 60)
        #expect(code == 0, "the HTTP client failed:\n\(output.suffix(2000))")
        let statuses = output.split(separator: "\n").map(String.init)
        let wantStatuses = plan.map { $0.found ? "200" : "404" }
        #expect(statuses == wantStatuses, "nginx answered \(statuses.count) requests differently than planned")

        // N access events, no more, no fewer.
        let accessFile = base + "/store/nginx_access.log"
        let errorFile = base + "/store/nginx_error.log"
        let missingPaths = plan.filter { !$0.found }.map(\.path)
        let arrived = await eventually(timeout: 30, interval: 0.1) {
            storedDocuments(file: accessFile).count >= Self.requests
                && Self.errorEvents(storedDocuments(file: errorFile)).count >= missingPaths.count
        }
        #expect(
            arrived,
            "only \(storedDocuments(file: accessFile).count) of \(Self.requests) access events and \(Self.errorEvents(storedDocuments(file: errorFile)).count) of \(missingPaths.count) error events arrived:\n\(node.log.suffix(3000))"
        )
        // A straggling duplicate would show up after the last expected event: give it a moment.
        try await Task.sleep(for: .milliseconds(500))

        let access = storedDocuments(file: accessFile)
        #expect(access.count == Self.requests, "stored \(access.count) access events for \(Self.requests) requests")
        var paths: [String: Int] = [:]
        var statusCounts: [Int: Int] = [:]
        for d in access {
            guard let fields = d["fields"] as? [String: Any] else {
                Issue.record("access event without fields: \(d)")
                continue
            }
            // Typed: JSON numbers stay numbers (not strings, not booleans), strings stay strings.
            let raw = d["_raw"] as? String ?? ""
            let status = Self.jsonInt("status", in: fields, raw: raw)
            // nginx writes every value quoted; the nginx preset types the known numeric variables.
            let bytes = Self.jsonInt("body_bytes_sent", in: fields, raw: raw)
            #expect(
                fields["request_time"] is NSNumber && !(fields["request_time"] is String), "request_time: \(fields)")
            #expect(status != nil, "status is not a JSON number: \(fields)")
            #expect(bytes != nil, "bytes is not a JSON number: \(fields)")
            #expect(fields["path"] is String, "path is not a string: \(fields)")
            #expect(fields["method"] as? String == "GET", "method: \(fields)")
            #expect(d["program"] as? String == "nginx", "program: \(d)")
            #expect(d["host"] as? String == "web-01", "nohostname: host should be the node name: \(d)")
            #expect(
                d["severity"] as? String == "info" && d["facility"] as? String == "local7", "nginx's defaults: \(d)")
            if let status { statusCounts[status, default: 0] += 1 }
            if let path = fields["path"] as? String { paths[path, default: 0] += 1 }
        }
        let missing = plan.map(\.path).filter { paths[$0] == nil }
        let doubled = paths.filter { $0.value > 1 }.keys.sorted()
        #expect(missing.isEmpty, "no access event for \(missing.count) requests, e.g. \(missing.prefix(5))")
        #expect(doubled.isEmpty, "access events stored twice: \(doubled.prefix(5))")
        #expect(
            statusCounts == [200: Self.requests - missingPaths.count, 404: missingPaths.count],
            "statuses: \(statusCounts)")

        // Every missing file gave an error-log event: nginx's `open() "..." failed (2: No such file or directory)`.
        let errors = Self.errorEvents(storedDocuments(file: errorFile))
        for path in missingPaths {
            #expect(
                errors.contains { ($0["message"] as? String ?? "").contains(path) },
                "no error-log event for \(path); error events: \(errors.prefix(3))")
        }
        for e in errors {
            #expect(e["program"] as? String == "nginx", "error event program: \(e)")
            // The preset splits nginx's error line: level, pid, connection and the request context.
            let f = e["fields"] as? [String: Any] ?? [:]
            #expect(f["level"] as? String == "error", "error event level: \(e)")
            #expect(f["pid"] is NSNumber && f["connection_id"] != nil, "error event pid/connection: \(e)")
            #expect(f["client"] as? String == "127.0.0.1", "error event client: \(e)")
            #expect((e["message"] as? String ?? "").hasPrefix("open()"), "error event message: \(e)")
        }
        #expect(master.isRunning, "nginx died during the test:\n\(readText(base + "/nginx-error.log"))")
    }

    // MARK: Helpers

    /// The error-log events about a missing file.
    static func errorEvents(_ docs: [[String: Any]]) -> [[String: Any]] {
        docs.filter { d in
            let message = d["message"] as? String ?? ""
            let severity = d["severity"] as? String ?? ""
            return ["err", "error", "warning"].contains(severity) && message.contains("open()")
                && message.contains("No such file")
        }
    }

    /// An integer that was a JSON number in the stored line: `"key":123`, not `"key":"123"` nor `true`.
    static func jsonInt(_ key: String, in fields: [String: Any], raw: String) -> Int? {
        guard let n = fields[key] as? NSNumber, !(fields[key] is String) else { return nil }
        let value = n.intValue
        return raw.contains("\"\(key)\":\(value)") ? value : nil
    }

}
