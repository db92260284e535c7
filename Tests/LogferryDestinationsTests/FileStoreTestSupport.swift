import Foundation
import LogferryCore
import LogferryTesting
import Logging
import Synchronization
import Testing

@testable import LogferryDestinations

/// A directory unique to one test, removed when the test ends.
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/logferry-filestore-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A spool that stops its destination deterministically: `commit` throws `SimulatedCrash` once
/// `commitsAllowed` commits went through (the crash falls between a write and its commit, or before a write),
/// and `waitForRecords` throws `Drained` instead of waiting, so `run()` ends when everything is delivered.
/// What a durable journal keeps (records, committed cursors) lives in `inner`, which outlives the "process".
final class CrashingSpool: Spool {
    struct SimulatedCrash: Error {}
    struct Drained: Error {}

    let inner: InMemorySpool
    private let commitsLeft: Mutex<Int>

    init(_ inner: InMemorySpool, commitsAllowed: Int = .max) {
        self.inner = inner
        self.commitsLeft = Mutex(commitsAllowed)
    }

    func append(_ payloads: [[UInt8]]) async throws -> ClosedRange<UInt64> { try await inner.append(payloads) }
    func write(_ payloads: [[UInt8]]) async throws -> ClosedRange<UInt64> { try await inner.write(payloads) }
    func waitDurable(through seq: UInt64) async throws { try await inner.waitDurable(through: seq) }
    func read(after: UInt64, maxRecords: Int, maxBytes: Int) async throws -> [SpoolRecord] {
        try await inner.read(after: after, maxRecords: maxRecords, maxBytes: maxBytes)
    }
    func waitForRecords(after: UInt64) async throws { throw Drained() }
    func openCursor(_ name: String) async throws -> SpoolCursor { try await inner.openCursor(name) }
    func commit(cursor name: String, through seq: UInt64, state: [UInt8]) async throws {
        let allowed = commitsLeft.withLock { n in
            guard n > 0 else { return false }
            n -= 1
            return true
        }
        guard allowed else { throw SimulatedCrash() }
        try await inner.commit(cursor: name, through: seq, state: state)
    }
    func lastSequence() async -> UInt64 { await inner.lastSequence() }
}

/// How a test event is made and what the destination must write for it.
struct TestEvent {
    var host: String?
    var program: String?
    var n: Int
    var origin: EventOrigin?

    var payload: [UInt8] {
        var o = JSONObject()
        o["@timestamp"] = .string("2026-11-21T12:00:00.000Z")
        if let host { o["host"] = .string(host) }
        if let program { o["program"] = .string(program) }
        o["message"] = .string("event \(n) \u{2028} \"quoted\"")
        o["n"] = .int(Int64(n))
        return SpooledEvent(origin: origin, document: JSONWriter.render(.object(o))).encoded()
    }
}

/// Appends `events` and returns the document ID each one must be stored under.
func append(_ events: [TestEvent], to spool: some Spool, localNode: NodeIdentity) async throws -> [String] {
    let range = try await spool.append(events.map(\.payload))
    return zip(events, range).map { event, seq in
        (event.origin ?? EventOrigin(node: localNode, seq: seq)).documentID
    }
}

/// One line the destination wrote.
struct WrittenLine {
    var path: String
    var id: String
    var object: JSONObject
}

/// Every line of every regular file under `root` (paths relative to it), checking that each is a JSON object
/// whose first key is `_id`.
func readLines(under root: String, skippingPrefix prefix: [String: Int] = [:]) throws -> [WrittenLine] {
    var out: [WrittenLine] = []
    let files = try allFiles(under: root)
    for rel in files {
        var bytes = try readFileBytes(root + "/" + rel)
        if let skip = prefix[rel] { bytes.removeFirst(min(skip, bytes.count)) }
        guard !bytes.isEmpty else { continue }
        #expect(bytes.last == 0x0A, "\(rel) does not end with a newline")
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            let value = try JSONParser.parse(Array(line))
            let object = try #require(value.objectValue, "\(rel): a line is not a JSON object")
            #expect(object.keys.first == "_id", "\(rel): _id is not the first key")
            out.append(WrittenLine(path: rel, id: object["_id"]?.stringValue ?? "", object: object))
        }
    }
    return out
}

func allFiles(under root: String) throws -> [String] {
    let fm = FileManager.default
    var out: [String] = []
    guard let walker = fm.enumerator(atPath: root) else { return [] }
    while let rel = walker.nextObject() as? String {
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue { out.append(rel) }
    }
    return out.sorted()
}

/// Each expected ID exactly once, nothing else.
func expectExactlyOnce(_ lines: [WrittenLine], expected: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    var counts: [String: Int] = [:]
    for line in lines { counts[line.id, default: 0] += 1 }
    let missing = expected.filter { counts[$0] == nil }
    let repeated = counts.filter { $0.value > 1 }
    let unexpected = Set(counts.keys).subtracting(expected)
    #expect(missing.isEmpty, "missing \(missing.count), e.g. \(missing.prefix(3))", sourceLocation: sourceLocation)
    #expect(repeated.isEmpty, "repeated \(repeated.count), e.g. \(repeated.prefix(3))", sourceLocation: sourceLocation)
    #expect(unexpected.isEmpty, "unexpected \(unexpected.prefix(3))", sourceLocation: sourceLocation)
    #expect(lines.count == expected.count, sourceLocation: sourceLocation)
}

/// Per file, the events' `n` must grow: journal order is kept within a file.
func expectJournalOrder(_ lines: [WrittenLine], sourceLocation: SourceLocation = #_sourceLocation) {
    var last: [String: Int64] = [:]
    for line in lines {
        guard let n = line.object["n"]?.int64Value else { continue }
        if let prev = last[line.path] {
            #expect(n > prev, "\(line.path): event \(n) after \(prev)", sourceLocation: sourceLocation)
        }
        last[line.path] = n
    }
}

/// Polls until the cursor reached `seq` (the destination runs in another task).
func waitForCursor(_ spool: some Spool, _ name: String, atLeast seq: UInt64, timeout: Duration = .seconds(60))
    async throws
{
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while try await spool.openCursor(name).seq < seq {
        guard clock.now < deadline else {
            Issue.record("cursor \(name) did not reach \(seq) within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

func appendBytes(_ text: String, to path: String) throws {
    let fm = FileManager.default
    if !fm.fileExists(atPath: path) {
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = fm.createFile(atPath: path, contents: nil)
    }
    let handle = try #require(FileHandle(forWritingAtPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
}

func fileSize(_ path: String) -> UInt64 {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
}
