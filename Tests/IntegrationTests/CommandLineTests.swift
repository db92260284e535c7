import Foundation
import LogferryTesting
import Testing

/// The CLI contract of SPEC.md §1, through the real binary: exit codes, `check`'s file:line messages, `parse`.
struct CommandLineTests {
    static let binaryPresent = FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    func run(_ args: [String], stdin: String? = nil) throws -> (code: Int32, out: String, err: String) {
        try LogferryProcess.runToCompletion(args, stdin: stdin.map { Data($0.utf8) })
    }

    func write(_ dir: String, _ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    @Test(
        .enabled(if: binaryPresent || integrationRequired),
        arguments: ["quickstart.yaml", "edge.yaml", "central.yaml", "relay.yaml", "edge-supervisor.yaml"])
    func shippedExamplesPassCheck(_ name: String) throws {
        let r = try run(["check", "--config", LogferryProcess.packageRoot + "/conf.d/" + name])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("pipeline:"))
        #expect(r.out.contains("journal:"))
    }

    @Test(.enabled(if: binaryPresent || integrationRequired))
    func everyKindOfMistakeIsReportedWithFileAndLine() throws {
        let dir = try makeTempDirectory("check")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try write(
            dir, "main.yaml",
            """
            node:
              name: web
              data_dri: /tmp/x
            journal:
              max_bytes: lots
              fsync: sometimes
            sources:
              sock:
                type: unix-dgram
                path: [not, a, string]
              other:
                type: carrier-pigeon
            destinations:
              out:
                type: file
                path: /tmp/${NOPE}.log
            """)
        let r = try run(["check", "--config", path])
        #expect(r.code == 1)
        let expectations: [(Int, String)] = [
            (3, "unknown key 'data_dri'"), (5, "'max_bytes' is not a size"), (6, "'fsync' cannot be 'sometimes'"),
            (10, "must be a single value"), (12, "unknown type 'carrier-pigeon'"), (16, "NOPE"),
        ]
        for (line, text) in expectations {
            let hit = r.err.split(separator: "\n").contains { $0.hasPrefix("\(path):\(line): ") && $0.contains(text) }
            #expect(hit, "expected \(path):\(line): …\(text)… in:\n\(r.err)")
        }
    }

    @Test(.enabled(if: binaryPresent || integrationRequired))
    func syntaxErrorsAndIncludesNameTheirFiles() throws {
        let dir = try makeTempDirectory("check")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try write(dir, "conf.d/a.yaml", "sources:\n  s1:\n    type: unix-dgram\n    path: /tmp/a.sock\n")
        _ = try write(dir, "conf.d/b.yaml", "sources:\n  s1:\n    type: unix-dgram\n    path: /tmp/b.sock\n")
        let main = try write(
            dir, "main.yaml",
            "include: [\"conf.d/*.yaml\"]\nnode: {data_dir: /tmp/x}\ndestinations:\n  o: {type: stdout}\n")
        let r = try run(["check", "--config", main])
        #expect(r.code == 1)
        #expect(
            r.err.contains("\(dir)/conf.d/b.yaml:2: source 's1' is defined twice: here and at \(dir)/conf.d/a.yaml:2"),
            "\(r.err)")

        let bad = try write(dir, "syntax.yaml", "node:\n  name: [unclosed\n")
        let s = try run(["check", "--config", bad])
        #expect(s.code == 1)
        #expect(s.err.contains("\(bad):"), "\(s.err)")
        #expect(s.err.contains("YAML syntax error"))

        let missing = try run(["check", "--config", dir + "/nope.yaml"])
        #expect(missing.code == 1)
        #expect(missing.err.contains("nope.yaml"))
    }

    @Test(.enabled(if: binaryPresent || integrationRequired))
    func includedFragmentsMergeIntoOnePipeline() throws {
        let dir = try makeTempDirectory("check")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try write(dir, "conf.d/src.yaml", "sources:\n  s1:\n    type: unix-dgram\n    path: /tmp/a.sock\n")
        let main = try write(
            dir, "main.yaml", "include: conf.d/*.yaml\nnode: {data_dir: /tmp/x}\ndestinations:\n  o: {type: stdout}\n")
        let r = try run(["check", "--config", main])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("s1 -> parse -> template -> journal -> o"), "\(r.out)")
        #expect(r.out.contains("(+1 included)"))
    }

    @Test(.enabled(if: binaryPresent || integrationRequired))
    func parsePrintsOneDocumentPerMessageAndKeepsMalformedInput() throws {
        let input =
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8\n"
            + "<999>not syslog at all\n"
        let r = try run(["parse"], stdin: input)
        #expect(r.code == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["host"] as? String == "mymachine.example.com")
        #expect(first?["program"] as? String == "su")
        #expect(first?["msgid"] as? String == "ID47")
        #expect(first?["severity"] as? String == "crit")
        #expect(first?["facility"] as? String == "auth")
        #expect(first?["@timestamp"] as? String == "2003-10-11T22:14:15.003Z")
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(second?["parse_error"] != nil)
        #expect((second?["raw"] as? String)?.contains("not syslog at all") == true)
    }

    @Test(.enabled(if: binaryPresent || integrationRequired))
    func exitCodes() throws {
        #expect(try run(["version"]).code == 0)
        #expect(try run(["parse", "--format", "klingon"], stdin: "").code == 1)
        #expect(try run(["frobnicate"]).code == 1)
        #expect(try run(["check"]).code == 1)
    }
}
