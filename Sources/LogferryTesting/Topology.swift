import Foundation

/// Helpers for end-to-end tests that run several logferry nodes (edges, relays, centrals) as real processes:
/// a node that can be started, SIGKILLed and restarted on the same data directory; numbered lines fed to an edge's
/// file source; an exactly-once check of what a receiver stored; the document IDs an edge's own journal gives.

/// One logferry node of a test topology: its directory (config at `DIR/logferry.yaml`, data in `DIR/data`, log
/// of the current run in `DIR/log`, of earlier runs in `DIR/log.earlier`) and its current process. Not
/// thread-safe: one test drives it.
public final class TestNode {
    public let name: String
    public let dir: String
    public private(set) var process: LogferryProcess?

    /// Writes `config` to `dir/logferry.yaml`; `${DIR}` in it stands for `dir`.
    public init(name: String, dir: String, config: String) throws {
        self.name = name
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try writeConfig(config)
    }

    /// A node whose `dir/logferry.yaml` is already written (e.g. by `writeReceiverConfig`).
    public init(name: String, dir: String) {
        self.name = name
        self.dir = dir
    }

    public var configPath: String { dir + "/logferry.yaml" }
    public var dataDir: String { dir + "/data" }
    public var logPath: String { dir + "/log" }
    /// The log of every run so far (a check that something never appears in a log must see all of them).
    public var log: String { readText(logPath + ".earlier") + readText(logPath) }
    public var isRunning: Bool { process?.isRunning ?? false }

    /// Replaces the config (takes effect at the next start).
    public func writeConfig(_ config: String) throws {
        try config.replacingOccurrences(of: "${DIR}", with: dir).write(
            toFile: configPath, atomically: false, encoding: .utf8)
    }

    /// Starts `logferry run --config DIR/logferry.yaml`.
    public func start() throws {
        // LogferryProcess starts each run with an empty log file: keep the earlier runs' lines.
        if let previous = FileManager.default.contents(atPath: logPath), !previous.isEmpty {
            let earlier = logPath + ".earlier"
            if !FileManager.default.fileExists(atPath: earlier) {
                _ = FileManager.default.createFile(atPath: earlier, contents: nil)
            }
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: earlier))
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: previous)
        }
        process = try LogferryProcess(arguments: ["run", "--config", configPath], logPath: logPath)
    }

    /// SIGKILL, and wait for the process to be gone.
    public func kill9() {
        process?.kill9()
    }

    /// SIGTERM (graceful drain), SIGKILL after `timeout`.
    public func stop(timeout: Double = 20) {
        if let p = process, p.isRunning { p.terminate(timeout: timeout) }
    }

    /// The node identity (32 hex digits) from `DIR/data/node-id`, once the node created it.
    public var identity: String? {
        let text = readText(dataDir + "/node-id").trimmingCharacters(in: .whitespacesAndNewlines)
        return text.count == 32 ? text : nil
    }

    /// The last `count` characters of the log, for failure messages.
    public func logTail(_ count: Int = 2000) -> String { "--- \(name) log ---\n" + String(log.suffix(count)) }
}

/// A websocket destination in a test node's config.
public struct Upstream: Sendable {
    public var name: String
    public var url: String
    public var token: String
    /// `ca_file`, for `wss://`.
    public var caFile: String?

    public init(name: String, url: String, token: String, caFile: String? = nil) {
        self.name = name
        self.url = url
        self.token = token
        self.caFile = caFile
    }

    /// Its YAML under `destinations:`.
    public var yaml: String {
        """
          \(name):
            type: websocket
            url: \(url)
            token: \(token)
        """ + (caFile.map { "\n    ca_file: \($0)" } ?? "")
    }
}

/// The config of an edge: a `file` source tailing `input` (from its beginning), forwarding to `upstreams`. Data in
/// `${DIR}/data` (TestNode fills in `${DIR}`).
public func edgeConfig(name: String, input: String, upstreams: [Upstream]) -> String {
    """
    node:
      name: \(name)
      data_dir: ${DIR}/data
    sources:
      lines:
        type: file
        include: [\(input)]
        start_at: beginning
    destinations:
    \(upstreams.map(\.yaml).joined(separator: "\n"))
    """
}

/// The config of a relay: a websocket receiver on 127.0.0.1:`port` accepting `token`, forwarding everything it
/// receives to `upstream`. Relayed events keep their origin, so their document IDs do not change.
public func relayConfig(name: String, port: Int, token: String, upstream: Upstream) -> String {
    """
    node:
      name: \(name)
      data_dir: ${DIR}/data
    sources:
      ingest:
        type: websocket
        listen: 127.0.0.1:\(port)
        tokens: [\(token)]
    destinations:
    \(upstream.yaml)
    """
}

/// Numbered lines `PREFIX-000000`, `PREFIX-000001`, … that a test appends to a file an edge's `file` source
/// tails. A file source is the edge input here because it pushes back (nothing is dropped before the journal),
/// so every line written must come out exactly once at the far end.
public struct NumberedLines: Sendable {
    public let prefix: String
    public let path: String

    public init(prefix: String, path: String) {
        self.prefix = prefix
        self.path = path
    }

    public func line(_ i: Int) -> String { String(format: "%@-%06d", prefix, i) }

    public func lines(_ range: Range<Int>) -> [String] { range.map(line) }

    /// Appends lines `range` (each `\n`-terminated) in one write.
    public func append(_ range: Range<Int>) throws {
        guard !range.isEmpty else { return }
        let text = range.map(line).joined(separator: "\n") + "\n"
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil)
        }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
    }
}

/// The number of stored documents (lines) in every `*.log` file below `directory`, without parsing them: cheap
/// enough to poll while tens of thousands arrive.
public func storedLineCount(under directory: String) -> Int {
    guard let e = FileManager.default.enumerator(atPath: directory) else { return 0 }
    var n = 0
    for case let rel as String in e where rel.hasSuffix(".log") {
        guard let data = FileManager.default.contents(atPath: directory + "/" + rel) else { continue }
        n += data.reduce(into: 0) { if $1 == UInt8(ascii: "\n") { $0 += 1 } }
    }
    return n
}

/// What a receiver stored, checked against what was sent: every expected message exactly once, nothing else,
/// every `_id` distinct and, where the expected ID is known, equal to it.
public struct ExactlyOnceReport: CustomStringConvertible {
    public var documents = 0
    /// Expected messages not stored.
    public var missing: [String] = []
    /// Messages stored more than once.
    public var doubled: [String] = []
    /// Stored messages nobody sent (or documents without a message).
    public var unexpected: [String] = []
    /// `_id`s held by more than one document, and documents without one.
    public var duplicateIDs: [String] = []
    /// `message: stored ID != expected ID`.
    public var wrongIDs: [String] = []

    /// - Parameters:
    ///   - documents: the stored documents (`storedDocuments(under:)`).
    ///   - expected: every message that must be stored once.
    ///   - ids: the document ID a message must be stored under, where known (others: any ID, if unique).
    public init(documents docs: [[String: Any]], expected: Set<String>, ids: [String: String] = [:]) {
        documents = docs.count
        var seen: [String: Int] = [:]
        var stored = Set<String>()
        for d in docs {
            guard let m = d["message"] as? String else {
                unexpected.append("<no message> \(d["_raw"] ?? "")")
                continue
            }
            seen[m, default: 0] += 1
            if !expected.contains(m) { unexpected.append(m) }
            guard let id = d["_id"] as? String else {
                duplicateIDs.append("<no _id> \(m)")
                continue
            }
            if !stored.insert(id).inserted { duplicateIDs.append(id) }
            if let want = ids[m], want != id { wrongIDs.append("\(m): stored \(id) != expected \(want)") }
        }
        missing = expected.filter { seen[$0] == nil }.sorted()
        doubled = seen.filter { $0.value > 1 && expected.contains($0.key) }.map(\.key).sorted()
    }

    public var isExact: Bool {
        missing.isEmpty && doubled.isEmpty && unexpected.isEmpty && duplicateIDs.isEmpty && wrongIDs.isEmpty
    }

    public var description: String {
        func show(_ name: String, _ list: [String]) -> String {
            list.isEmpty ? "" : " \(name) \(list.count) (e.g. \(list.sorted().prefix(4)))"
        }
        return "\(documents) stored:" + show("missing", missing) + show("doubled", doubled)
            + show("unexpected", unexpected) + show("duplicate _id", duplicateIDs) + show("wrong _id", wrongIDs)
            + (isExact ? " exactly once" : "")
    }
}

/// The document ID an edge's own journal gives each message (`logferry journal dump`: `<origin hex>-<origin
/// seq>`), keyed by `message`. Safe while the node runs (the dump is a read-only snapshot).
public func journalDocumentIDs(dataDir: String, scratch: String) async throws -> [String: String] {
    let out = scratch + "/dump-\(UUID().uuidString.prefix(8)).jsonl"
    defer { try? FileManager.default.removeItem(atPath: out) }
    let (code, text) = try await runToExit(
        LogferryProcess.binaryPath, ["journal", "dump", "--data-dir", dataDir], output: out, timeout: 60)
    guard code == 0 else { throw DumpFailed(output: String(text.suffix(1000))) }
    var ids: [String: String] = [:]
    for line in text.split(separator: "\n") {
        guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let id = o["id"] as? String, let doc = o["doc"] as? [String: Any], let m = doc["message"] as? String
        else { continue }
        ids[m] = id
    }
    return ids
}

/// `logferry journal dump` failed.
public struct DumpFailed: Error, CustomStringConvertible {
    public var output: String
    public var description: String { "logferry journal dump failed: \(output)" }
}

/// A websocket destination's cursor lag (records not yet acknowledged) in a node's journal, from
/// `logferry journal stat --json` (safe while the node runs); nil when it cannot be read.
public func journalCursorLag(dataDir: String, cursor: String) async -> Int? {
    let out = "/tmp/lf-stat-\(UUID().uuidString.prefix(8)).json"
    defer { try? FileManager.default.removeItem(atPath: out) }
    guard
        let (code, text) = try? await runToExit(
            LogferryProcess.binaryPath, ["journal", "stat", "--json", "--data-dir", dataDir], output: out, timeout: 30),
        code == 0,
        let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
        let cursors = o["cursors"] as? [[String: Any]],
        let c = cursors.first(where: { $0["name"] as? String == cursor })
    else { return nil }
    return (c["lag_records"] as? NSNumber)?.intValue
}

/// `eventually` for a condition that has to await (e.g. runs a program with `runToExit`).
public func eventuallyAsync(timeout: Double, interval: Double = 0.1, _ condition: () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
    }
    return await condition()
}

/// Removes a test's temporary directory, unless `LOGFERRY_KEEP_TEST_DIRS=1` asks to keep it (logs, journals and
/// stores of every node, for a look after a run).
public func removeTestDirectory(_ path: String) {
    guard ProcessInfo.processInfo.environment["LOGFERRY_KEEP_TEST_DIRS"] != "1" else { return }
    try? FileManager.default.removeItem(atPath: path)
}
