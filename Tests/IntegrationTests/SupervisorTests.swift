import Foundation
import LogferryTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 3: a real supervisord (apt) runs two programs that print numbered lines fast into their child logs, with
/// a small `stdout_logfile_maxbytes` so supervisor rotates them while they are written; a logferry node tails
/// `logs/*.log` (the child logs) into a `file` destination.
/// - `stdout_logfile_backups=3`: supervisor rotates by renaming (`x.log` -> `x.log.1` -> ...). Every line must
///   arrive exactly once, with `file` and `offset`.
/// - `stdout_logfile_backups=0`: supervisor truncates the log in place. Lines written and truncated before logferry
///   read them are lost for every reader; then the source must say so with a `file-truncated` event. No line may
///   arrive twice, and a missing line needs a truncation event.
///
/// supervisor rotates by byte count, between two writes of the child: `print` under `python3 -u` writes the text and
/// its newline separately, so a line's text can end one file and its newline start the next. The old file's
/// partial tail is then flushed as the line (once the rotated file was read to its end and lingered), and the
/// newline alone arrives as an empty message: empty messages are tolerated here and counted.
@Suite(.serialized)
struct SupervisorTests {
    static let supervisord = findTool("supervisord")
    static let python = findTool("python3")
    static let ready =
        supervisord != nil && python != nil
        && FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    static let programs = ["alpha", "beta"]
    static let linesPerProgram = 20_000
    /// The writers print `burst` lines, then sleep `pause` seconds: 20,000 lines (260 KB) in about 8 s per program,
    /// so a 64 KB log generation lives about 2 s. Unpaced (20,000 lines in ~0.1 s) a generation can be created and
    /// renamed away between two looks of the source and is then never seen under `*.log`: its lines are lost
    /// (known gap, reported on issue 3; including the rotated names avoids it but then keeps the partial tail of
    /// a rotated file waiting for a newline that never comes).
    static let burst = 50
    static let pause = 0.02

    struct Outcome {
        var counts: [String: [Int: Int]] = [:]  // program -> line number -> times stored
        var empty = 0
        var fragments: [String] = []
        var truncations: [[String: Any]] = []
        var withoutFileOffset = 0
        /// Lines whose `program` is not their supervisor program's name.
        var wrongProgram = 0
        var nodeLog = ""
    }

    @Test(
        .enabled(
            if: ready || integrationRequired,
            "needs supervisord (apt-get install supervisor), python3 and a built logferry"))
    func renameRotationEveryLineOnce() async throws {
        #expect(Self.ready, "LOGFERRY_REQUIRE_INTEGRATION=1 but supervisord, python3 or the logferry binary is missing")
        guard Self.ready else { return }
        guard let o = try await run(backups: 3) else { return }
        for p in Self.programs {
            let counts = o.counts[p] ?? [:]
            let missing = (0..<Self.linesPerProgram).filter { counts[$0] == nil }
            let doubled = counts.filter { $0.value > 1 }.keys.sorted()
            #expect(
                missing.isEmpty,
                "\(p): \(missing.count) lines missing, e.g. \(missing.prefix(5))\n\(o.nodeLog.suffix(3000))")
            #expect(doubled.isEmpty, "\(p): \(doubled.count) lines stored twice, e.g. \(doubled.prefix(5))")
        }
        #expect(o.fragments.isEmpty, "unexpected messages (line fragments?): \(o.fragments.prefix(5))")
        #expect(o.truncations.isEmpty, "rename rotation reported as truncation: \(o.truncations.prefix(3))")
        #expect(o.withoutFileOffset == 0, "\(o.withoutFileOffset) events without file/offset")
        #expect(o.wrongProgram == 0, "\(o.wrongProgram) lines without their program name")
        print(
            "supervisor backups=3: \(Self.programs.count)x\(Self.linesPerProgram) lines, \(o.empty) empty messages (lines split by rotation)"
        )
    }

    @Test(
        .enabled(
            if: ready || integrationRequired,
            "needs supervisord (apt-get install supervisor), python3 and a built logferry"))
    func truncateInPlaceNoDuplicatesAndLossIsReported() async throws {
        #expect(Self.ready, "LOGFERRY_REQUIRE_INTEGRATION=1 but supervisord, python3 or the logferry binary is missing")
        guard Self.ready else { return }
        guard let o = try await run(backups: 0) else { return }
        var totalMissing = 0
        for p in Self.programs {
            let counts = o.counts[p] ?? [:]
            let missing = (0..<Self.linesPerProgram).filter { counts[$0] == nil }
            let doubled = counts.filter { $0.value > 1 }.keys.sorted()
            totalMissing += missing.count
            #expect(doubled.isEmpty, "\(p): \(doubled.count) lines stored twice, e.g. \(doubled.prefix(5))")
            // Each run of lost lines is the unread tail of one generation of the log: one truncation of that file,
            // which must have been announced.
            var gaps = 0
            for (i, n) in missing.enumerated() where i == 0 || missing[i - 1] != n - 1 { gaps += 1 }
            let announced = o.truncations.filter {
                let sd = ($0["sd"] as? [String: Any])?["truncated@32473"] as? [String: Any]
                return (sd?["file"] as? String)?.hasSuffix("/\(p).log") == true
            }.count
            #expect(
                gaps <= announced,
                "\(p): \(gaps) runs of lost lines but only \(announced) file-truncated events for its log")
        }
        // Lost lines must be announced by at least one file-truncated event. (The reported missing bytes are a lower
        // bound only: what was written after the source's last look and before the truncation is unknown to it.)
        if totalMissing > 0 {
            #expect(
                !o.truncations.isEmpty,
                "\(totalMissing) lines lost without any file-truncated event\n\(o.nodeLog.suffix(3000))")
        }
        // supervisor truncated each log about 4 times: the source must have noticed (at least one event).
        #expect(
            !o.truncations.isEmpty,
            "no file-truncated event although supervisor truncated the logs\n\(o.nodeLog.suffix(3000))")
        for t in o.truncations {
            let sd = (t["sd"] as? [String: Any])?["truncated@32473"] as? [String: Any]
            #expect(
                sd?["file"] as? String != nil && sd?["missing"] as? String == "unknown",
                "truncation event without file or missing=unknown: \(t)")
        }
        #expect(o.withoutFileOffset == 0, "\(o.withoutFileOffset) events without file/offset")
        #expect(o.wrongProgram == 0, "\(o.wrongProgram) lines without their program name")
        let reported = o.truncations.compactMap {
            ((($0["sd"] as? [String: Any])?["truncated@32473"] as? [String: Any])?["seen_unread"] as? String).flatMap {
                Int($0)
            }
        }
        print(
            "supervisor backups=0: \(totalMissing) of \(Self.programs.count * Self.linesPerProgram) lines lost to truncation, "
                + "\(o.truncations.count) file-truncated events (unread bytes seen, a lower bound: \(reported)), \(o.empty) empty messages, "
                + "\(o.fragments.count) fragments \(o.fragments.prefix(3))")
    }

    // MARK: The run

    /// Starts the node and supervisord, waits for both programs to finish writing and the node to go quiet, and
    /// classifies what was stored. Nil when something could not start (already recorded as an issue).
    func run(backups: Int) async throws -> Outcome? {
        guard let supervisord = Self.supervisord, let python = Self.python else { return nil }
        let base = try makeTempDirectory("sv\(backups)")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let logs = base + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)

        let writer = """
            import sys, time
            name, n, burst, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
            for i in range(n):
                print("%s-%06d" % (name, i))
                if i % burst == burst - 1:
                    time.sleep(pause)
            open(sys.argv[5], "w").close()
            time.sleep(3600)
            """
        try writer.write(toFile: base + "/writer.py", atomically: false, encoding: .utf8)
        var conf = """
            [unix_http_server]
            file=\(base)/supervisor.sock
            [supervisord]
            nodaemon=true
            logfile=\(base)/supervisord.log
            pidfile=\(base)/supervisord.pid
            childlogdir=\(logs)
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

            """
        for p in Self.programs {
            conf += """
                [program:\(p)]
                command=\(python) -u \(base)/writer.py \(p) \(Self.linesPerProgram) \(Self.burst) \(Self.pause) \(base)/\(p).done
                startsecs=0
                autorestart=false
                redirect_stderr=true
                stopsignal=KILL
                stopwaitsecs=2
                stdout_logfile=\(logs)/\(p).log
                stdout_logfile_maxbytes=64KB
                stdout_logfile_backups=\(backups)

                """
        }
        try conf.write(toFile: base + "/supervisord.conf", atomically: false, encoding: .utf8)

        let config = """
            node:
              name: app-01
              data_dir: \(base)/data
            sources:
              apps:
                type: file
                include: ["\(logs)/*.log"]
                start_at: beginning
                rotated_file_linger: 1s
                preset: supervisor
            destinations:
              archive:
                type: file
                path: \(base)/store/${SOURCE}.log
            """
        try config.write(toFile: base + "/logferry.yaml", atomically: false, encoding: .utf8)
        let node = try LogferryProcess(
            arguments: ["run", "--config", base + "/logferry.yaml"], logPath: base + "/logferry.log")
        defer { node.terminate() }
        // The node is up once it has created its journal; the child logs do not exist yet.
        let nodeUp = await eventually(timeout: 20) { FileManager.default.fileExists(atPath: base + "/data/journal") }
        #expect(nodeUp, "node did not start:\n\(node.log.suffix(2000))")
        guard nodeUp else { return nil }

        // Through a tiny exec wrapper that clears the signal mask: a child spawned from a test thread (a Dispatch
        // worker, which blocks most signals) inherits the blocked mask, and supervisord with SIGTERM blocked never
        // shuts down (nor do its programs).
        let unblock =
            "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])"
        let sv = try spawnLogged(
            python, ["-c", unblock, supervisord, "-c", base + "/supervisord.conf"], output: base + "/supervisord.out")
        defer { stopProcessTree(sv, timeout: 15) }  // supervisord stops its programs on SIGTERM

        // Wait for both programs to finish writing, then for the node to store their last lines and go quiet.
        let lastLines = Self.programs.map { String(format: "%@-%06d", $0, Self.linesPerProgram - 1) }
        let written = await eventually(timeout: 40, interval: 0.1) {
            Self.programs.allSatisfy { FileManager.default.fileExists(atPath: base + "/\($0).done") }
        }
        #expect(written, "the programs did not finish writing:\n\(readText(base + "/supervisord.log").suffix(2000))")
        guard written else { return nil }
        let storePath = base + "/store/apps.log"
        let stored = await eventually(timeout: 30, interval: 0.1) {
            let text = readText(storePath)
            return lastLines.allSatisfy { text.contains("\"message\":\"\($0)\"") }
        }
        // With backups=0 the last line can (rarely) be truncated away: supervisor truncates right after a write
        // that crosses the limit.
        if backups > 0 { #expect(stored, "the last lines never arrived:\n\(node.log.suffix(3000))") }
        // Quiet: the store stopped growing for 2 s (rotated files linger 1 s before their partial tail is flushed).
        var size = -1
        var stableSince = Date()
        _ = await eventually(timeout: 20, interval: 0.1) {
            let now = readText(storePath).utf8.count
            if now != size {
                size = now
                stableSince = Date()
            }
            return Date().timeIntervalSince(stableSince) >= 2
        }
        #expect(sv.isRunning, "supervisord exited early:\n\(readText(base + "/supervisord.log").suffix(2000))")

        var o = Outcome()
        o.nodeLog = node.log
        for line in readText(storePath).split(separator: "\n") {
            guard let d = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                o.fragments.append("unparseable: " + line)
                continue
            }
            if d["msgid"] as? String == "file-truncated" {
                o.truncations.append(d)
                continue
            }
            if d["file"] as? String == nil || d["offset"] == nil { o.withoutFileOffset += 1 }
            let m = d["message"] as? String ?? "<no message>"
            if m.isEmpty {
                o.empty += 1
                continue
            }
            let parts = m.split(separator: "-")
            if parts.count == 2, Self.programs.contains(String(parts[0])), parts[1].count == 6, let n = Int(parts[1]) {
                o.counts[String(parts[0]), default: [:]][n, default: 0] += 1
                // The supervisor preset names the program after the child log file (alpha.log, alpha.log.1, ...).
                if d["program"] as? String != String(parts[0]) { o.wrongProgram += 1 }
            } else {
                o.fragments.append(m)
            }
        }
        return o
    }

    // MARK: Helpers

}
