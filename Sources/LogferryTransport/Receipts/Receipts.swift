import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// Receipts: which journal record (seq) a receiver acknowledged under which document ID, kept by the edge for a
// bounded time so an operator can answer "did line X reach central, and as which document?"
// (`logferry journal dump` shows the ID next to each acknowledged record).
//
// On disk, per websocket destination: `<data_dir>/receipts/<destination>/`, segment files `<ms>.rcpt` named by the
// time of their first entry, text, one *run* per line:
//
//     <acked at, unix ms> <first seq> <count> <first document ID>\n
//
// A run covers `count` consecutive journal seqs whose IDs are `<prefix>-<n>`, `<prefix>-<n+1>`, ... (the first ID
// split at its last `-`). A node's own events (ID `<node hex>-<seq>`) and a relay's runs of one origin compress
// to one line per batch. An ID that does not end in `-<digits>` gets a run of its own with count 1. A torn last
// line (crash mid-write) is ignored by the reader. Segments whose newest entry is older than the retention are
// deleted, and the oldest ones while more than the entry bound are kept. Receipts are informational: written
// without fsync, a crash can lose the last second of them (the events are delivered all the same).

/// One run of receipts: journal seqs `seq ..< seq+count` stored as `<prefix>-<number>` ... `<prefix>-<number+count-1>`
/// (or, for an ID without a numeric suffix, `prefix` is the whole ID and `number` is nil, count 1).
struct ReceiptRun: Sendable, Equatable {
    var ackedAtMillis: Int64
    var seq: UInt64
    var count: UInt64
    var prefix: String
    var number: UInt64?

    func id(forSeq s: UInt64) -> String? {
        guard s >= seq, s - seq < count else { return nil }
        guard let number else { return prefix }
        return "\(prefix)-\(number + (s - seq))"
    }

    var line: String {
        let first = number.map { "\(prefix)-\($0)" } ?? prefix
        return "\(ackedAtMillis) \(seq) \(count) \(first)\n"
    }

    init(ackedAtMillis: Int64, seq: UInt64, count: UInt64, prefix: String, number: UInt64?) {
        self.ackedAtMillis = ackedAtMillis
        self.seq = seq
        self.count = count
        self.prefix = prefix
        self.number = number
    }

    init?(line: Substring) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, let at = Int64(parts[0]), let seq = UInt64(parts[1]), let count = UInt64(parts[2]),
            count >= 1, !parts[3].isEmpty
        else { return nil }
        let (prefix, number) = Self.split(String(parts[3]))
        guard count == 1 || number != nil else { return nil }
        self.init(ackedAtMillis: at, seq: seq, count: count, prefix: prefix, number: number)
    }

    /// `"abc-41"` -> ("abc", 41); an ID without a `-<digits>` suffix -> (id, nil).
    static func split(_ id: String) -> (String, UInt64?) {
        guard let (dash, n) = numericSuffix(id) else { return (id, nil) }
        return (String(id[..<dash]), n)
    }

    /// Where the last `-` is and the number after it, when all that follows it is ASCII digits (no overflow).
    /// Scans UTF-8 bytes: this runs for every acknowledged event, and Character-based scanning (Unicode
    /// properties, grapheme breaking) was a fifth of an edge's CPU in the forwarding bench.
    static func numericSuffix(_ id: String) -> (String.Index, UInt64)? {
        let u = id.utf8
        guard let dash = u.lastIndex(of: UInt8(ascii: "-")) else { return nil }
        var n: UInt64 = 0
        var digits = 0
        for b in u[u.index(after: dash)...] {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (sum, o2) = m.addingReportingOverflow(UInt64(b - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            n = sum
            digits += 1
        }
        return digits > 0 ? (dash, n) : nil
    }

    /// The runs of one acknowledged batch: `seqs[i]` was stored as `ids[i]`. IDs with whitespace are not kept.
    static func runs(seqs: [UInt64], ids: [String], at millis: Int64) -> [ReceiptRun] {
        var out: [ReceiptRun] = []
        for (seq, id) in zip(seqs, ids) {
            // Space and line breaks would break the one-run-per-line file format.
            guard !id.isEmpty, !id.utf8.contains(where: { $0 == 0x20 || (0x09...0x0D).contains($0) }) else { continue }
            let suffix = numericSuffix(id)
            if let (dash, number) = suffix, var last = out.last, let n = last.number,
                last.seq + last.count == seq, n + last.count == number, last.prefix.utf8.elementsEqual(id.utf8[..<dash])
            {
                last.count += 1
                out[out.count - 1] = last
                continue
            }
            let (prefix, number): (String, UInt64?) = suffix.map { (String(id[..<$0.0]), $0.1) } ?? (id, nil)
            out.append(ReceiptRun(ackedAtMillis: millis, seq: seq, count: 1, prefix: prefix, number: number))
        }
        return out
    }
}

/// Where a destination's receipts live, and how long they are kept.
public struct ReceiptsConfiguration: Sendable, Equatable {
    /// The destination's receipts directory, `<data_dir>/receipts/<destination>` (see `directory(dataDirectory:destination:)`).
    public var directory: String
    /// How long a receipt is kept after its ack (YAML `receipts_retention`, default 24 h).
    public var retention: Duration
    /// Most receipt runs kept on disk (about one per acknowledged batch; ~70 bytes each). The oldest segment goes
    /// first when there are more, whatever its age.
    public var maxEntries: Int

    public init(directory: String, retention: Duration = .seconds(24 * 3600), maxEntries: Int = 1_000_000) {
        self.directory = directory
        self.retention = retention
        self.maxEntries = maxEntries
    }

    /// `<data_dir>/receipts/<destination>`: where the sender of destination `destination` keeps its receipts.
    public static func directory(dataDirectory: String, destination: String) -> String {
        (dataDirectory.hasSuffix("/") ? String(dataDirectory.dropLast()) : dataDirectory) + "/receipts/" + destination
    }
}

/// Read-only view of a destination's receipts, for `logferry journal dump` (works while the node runs: it reads
/// what was flushed when it was opened).
///
/// ```swift
/// let receipts = try Receipts(dataDirectory: "/var/lib/logferry", destination: "central")
/// receipts.receipt(forSeq: 41251)   // "9f1c…e2-41251", or nil when not acknowledged (or no longer kept)
/// Receipts.destinations(dataDirectory: "/var/lib/logferry")   // ["central"]
/// ```
public struct Receipts: Sendable {
    /// Sorted by seq; when a seq was acknowledged twice (a resend), the later receipt wins.
    private let runs: [ReceiptRun]

    /// Loads every receipt of `destination`; an absent directory gives no receipts (nothing acknowledged yet, or
    /// receipts not enabled).
    public init(dataDirectory: String, destination: String) throws(ReceiptsError) {
        try self.init(
            directory: ReceiptsConfiguration.directory(dataDirectory: dataDirectory, destination: destination))
    }

    public init(directory: String) throws(ReceiptsError) {
        var all: [ReceiptRun] = []
        var prefixes: [String: String] = [:]  // one string per origin, shared by its runs
        for segment in ReceiptSegments.list(directory) {
            let text = try ReceiptSegments.readFile(directory + "/" + segment.name)
            for line in text.split(separator: "\n") {
                guard var run = ReceiptRun(line: line) else { continue }
                if let shared = prefixes[run.prefix] {
                    run.prefix = shared
                } else {
                    prefixes[run.prefix] = run.prefix
                }
                all.append(run)
            }
        }
        // Stable sort by seq keeps file order (ack order) among equal starts, so the later receipt comes last.
        runs = all.enumerated().sorted { ($0.element.seq, $0.offset) < ($1.element.seq, $1.offset) }.map(\.element)
    }

    /// The websocket destinations that have receipts under `dataDirectory`.
    public static func destinations(dataDirectory: String) -> [String] {
        ReceiptSegments.entries(ReceiptsConfiguration.directory(dataDirectory: dataDirectory, destination: ""))
            .filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Number of receipt runs loaded.
    public var runCount: Int { runs.count }

    /// The document ID the receiver acknowledged journal record `seq` under, or nil when there is no receipt (not
    /// acknowledged yet, acknowledged before receipts were kept or longer ago than the retention, skipped by the
    /// sender, or counted as delivered from `welcome.committed` without an ack).
    public func receipt(forSeq seq: UInt64) -> String? {
        // The last run starting at or before seq, then back over runs that may still cover it.
        var lo = 0
        var hi = runs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if runs[mid].seq <= seq { lo = mid + 1 } else { hi = mid }
        }
        var i = lo - 1
        var scanned = 0
        while i >= 0, scanned < 64 {
            if let id = runs[i].id(forSeq: seq) { return id }
            i -= 1
            scanned += 1
        }
        return nil
    }
}

public struct ReceiptsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Segment files of one receipts directory.
enum ReceiptSegments {
    struct Segment: Equatable {
        var name: String
        var startMillis: Int64
    }

    static let suffix = ".rcpt"

    static func entries(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Segments sorted oldest first.
    static func list(_ directory: String) -> [Segment] {
        entries(directory).compactMap { name -> Segment? in
            guard name.hasSuffix(suffix), let ms = Int64(name.dropLast(suffix.count)) else { return nil }
            return Segment(name: name, startMillis: ms)
        }.sorted { $0.startMillis < $1.startMillis }
    }

    static func readFile(_ path: String) throws(ReceiptsError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return "" }  // pruned meanwhile
            throw ReceiptsError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReceiptsError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func makeDirectories(_ path: String) throws(ReceiptsError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw ReceiptsError("cannot create \(current): \(String(cString: strerror(errno)))")
            }
        }
    }
}

/// The sender's side: receipts of acknowledged batches, buffered in memory and appended to the current segment by
/// `flush()` (the sender calls it about every second and when it stops). Bounded by time and count.
final class ReceiptWriter: Sendable {
    private struct State {
        var pending: [ReceiptRun] = []
        /// Oldest first; the last one is written to. `entries` counts lines, `lastMillis` the newest ack in it.
        var segments: [(segment: ReceiptSegments.Segment, entries: Int, lastMillis: Int64)] = []
        var failedOnce = false
    }

    let configuration: ReceiptsConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    /// Entries per segment before a new one is started (also started every hour), so pruning by count or age
    /// removes whole files in steps of about 1/16 of the bound.
    private let segmentEntries: Int

    init(configuration: ReceiptsConfiguration, logger: Logger) throws(ReceiptsError) {
        self.configuration = configuration
        self.logger = logger
        self.segmentEntries = max(1, configuration.maxEntries / 16)
        try ReceiptSegments.makeDirectories(configuration.directory)
        var segments: [(segment: ReceiptSegments.Segment, entries: Int, lastMillis: Int64)] = []
        for s in ReceiptSegments.list(configuration.directory) {
            let text = try ReceiptSegments.readFile(configuration.directory + "/" + s.name)
            var entries = 0
            var last = s.startMillis
            for line in text.split(separator: "\n") {
                entries += 1
                if let run = ReceiptRun(line: line) { last = max(last, run.ackedAtMillis) }
            }
            segments.append((s, entries, last))
        }
        state.withLock { $0.segments = segments }
    }

    /// A batch was acknowledged: `seqs[i]` is stored as `ids[i]`.
    func record(seqs: [UInt64], ids: [String], at millis: Int64 = ReceiptWriter.nowMillis()) {
        let runs = ReceiptRun.runs(seqs: seqs, ids: ids, at: millis)
        guard !runs.isEmpty else { return }
        state.withLock { $0.pending.append(contentsOf: runs) }
    }

    /// Writes what is pending, then drops segments past the retention or the count bound.
    func flush(now: Int64 = ReceiptWriter.nowMillis()) {
        state.withLock { s in
            if !s.pending.isEmpty {
                let runs = s.pending
                s.pending.removeAll(keepingCapacity: true)
                writeRuns(runs, &s)
            }
            prune(&s, now: now)
        }
    }

    /// Flushes about every second until cancelled, then once more.
    func run() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(1))
            } catch {
                break
            }
            flush()
        }
        flush()
    }

    static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    private func writeRuns(_ runs: [ReceiptRun], _ s: inout State) {
        let first = runs[0].ackedAtMillis
        let reuse =
            s.segments.last.map { $0.entries < segmentEntries && first - $0.segment.startMillis < 3_600_000 } ?? false
        if !reuse {
            var start = first
            if let last = s.segments.last, start <= last.segment.startMillis { start = last.segment.startMillis + 1 }
            s.segments.append(
                (ReceiptSegments.Segment(name: "\(start)\(ReceiptSegments.suffix)", startMillis: start), 0, start))
        }
        let index = s.segments.count - 1
        let path = configuration.directory + "/" + s.segments[index].segment.name
        let text = runs.map(\.line).joined()
        if append(text, to: path) {
            s.segments[index].entries += runs.count
            s.segments[index].lastMillis = max(s.segments[index].lastMillis, runs.last!.ackedAtMillis)
        } else if !s.failedOnce {
            s.failedOnce = true
            logger.warning(
                "cannot write receipts; acknowledged IDs are not kept (delivery is not affected)",
                metadata: ["path": "\(path)", "error": "\(String(cString: strerror(errno)))"])
        }
    }

    private func append(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            bytes = bytes.dropFirst(n)
        }
        return true
    }

    private func prune(_ s: inout State, now: Int64) {
        let c = configuration.retention.components
        let retentionMillis = c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000
        var total = s.segments.reduce(0) { $0 + $1.entries }
        while let oldest = s.segments.first {
            let expired = now - oldest.lastMillis > retentionMillis
            let over = total > configuration.maxEntries
            guard expired || over else { break }
            unlink(configuration.directory + "/" + oldest.segment.name)
            total -= oldest.entries
            s.segments.removeFirst()
        }
    }
}
