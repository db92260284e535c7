import Foundation
import LogferryTesting
import Testing

/// Issue 4's crash test: a child process appends with `fsync: always` and reports each record it was told is
/// durable; it is SIGKILLed at random moments 50 times and restarted on the same directory. After every
/// restart the child reads the whole journal back (every record CRC-checked by the journal) and checks each
/// record carries the payload of its number and that numbers are contiguous; the test checks that everything
/// reported durable before the kill is still there. Now and then, while the child appends, the read-only
/// `journal verify` runs against the live directory and must find it intact.
struct JournalCrashTests {
    static let binaryPresent = FileManager.default.isExecutableFile(atPath: LogferryProcess.binaryPath)

    struct Check: Equatable {
        var records: UInt64
        var first: UInt64
        var last: UInt64
        var bad: Int
    }

    /// The child's `check records=N first=F last=L bad=B ...` line, once it has printed it.
    static func check(in log: String) -> Check? {
        guard let line = log.split(separator: "\n").first(where: { $0.hasPrefix("check records=") }) else { return nil }
        var values: [String: UInt64] = [:]
        for field in line.split(separator: " ") {
            let kv = field.split(separator: "=", maxSplits: 1)
            if kv.count == 2, let v = UInt64(kv[1]) { values[String(kv[0])] = v }
        }
        guard let r = values["records"], let f = values["first"], let l = values["last"], let b = values["bad"] else {
            return nil
        }
        return Check(records: r, first: f, last: l, bad: Int(b))
    }

    /// The highest `durable <seq>` among complete lines (a line cut by the kill has no newline and is ignored).
    static func highestDurable(in log: String) -> UInt64 {
        var highest: UInt64 = 0
        var text = Substring(log)
        if let lastNewline = text.lastIndex(of: "\n") { text = text[...lastNewline] } else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("durable ") {
            if let seq = UInt64(line.dropFirst(8)) { highest = max(highest, seq) }
        }
        return highest
    }

    @Test(.enabled(if: binaryPresent || integrationRequired), .timeLimit(.minutes(2)))
    func sigkillFiftyTimesLosesNothingReportedDurable() async throws {
        let base = try makeTempDirectory("jcrash")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let seed = UInt64.random(in: 1...UInt64.max)
        var rng = SplitMix64(seed: seed)
        var promised: UInt64 = 0  // highest sequence any child reported durable
        var kills = 0
        for round in 0..<50 {
            let child = try LogferryProcess(
                arguments: [
                    "journal", "append-test", "--data-dir", base, "--count", "100000000", "--fsync", "always",
                    "--batch", "4", "--segment-bytes", "32768", "--payload-bytes", String(100 + Int(rng.next() % 200)),
                ],
                logPath: base + "/child-\(round).log")
            let recovered = await eventually(timeout: 20) { Self.check(in: child.log) != nil }
            #expect(
                recovered, "round \(round) (seed \(seed)): the child never finished opening: \(child.log.suffix(2000))")
            if let c = Self.check(in: child.log) {
                #expect(c.bad == 0, "round \(round) (seed \(seed)): \(c.bad) records with a wrong payload or number")
                #expect(
                    c.last >= promised,
                    "round \(round) (seed \(seed)): durable \(promised) reported, only \(c.last) survived")
                #expect(c.records == 0 || (c.first == 1 && c.records == c.last), "round \(round) (seed \(seed)): \(c)")
            }
            if round % 10 == 5 {
                // The read-only tools on a journal being appended to: no lock, no false damage.
                let verify = try await offThePool {
                    try LogferryProcess.runToCompletion(["journal", "verify", "--data-dir", base])
                }
                #expect(
                    verify.code == 0,
                    "round \(round) (seed \(seed)): verify of a live journal: \(verify.out)\(verify.err)")
            }
            // A random moment: sometimes at once (mid-recovery or the first append), mostly while appending.
            try await Task.sleep(for: .milliseconds(Int(rng.next() % 250)))
            kill(child.pid, SIGKILL)
            _ = await eventually(timeout: 10) { !child.isRunning }
            #expect(
                child.process.terminationReason == .uncaughtSignal,
                "round \(round): the child exited on its own: \(child.log.suffix(1000))")
            kills += 1
            promised = max(promised, Self.highestDurable(in: child.log))
        }
        // A last run appends nothing: it only recovers and checks.
        let final = try await offThePool {
            try LogferryProcess.runToCompletion(["journal", "append-test", "--data-dir", base, "--count", "0"])
        }
        let c = Self.check(in: final.out)
        #expect(c != nil, "\(final.out)\(final.err)")
        #expect(c?.bad == 0)
        #expect((c?.last ?? 0) >= promised)
        #expect(kills == 50)
        #expect(promised > 0, "no child ever reported a durable record")
    }
}
