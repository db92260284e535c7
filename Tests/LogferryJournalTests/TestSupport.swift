import Foundation
import LogferryCore
import Logging
import Testing

@testable import LogferryJournal

/// A logger that prints nothing; created per test, never bootstrapped.
func quietLogger() -> Logger {
    Logger(label: "journal-test", factory: { _ in SwiftLogNoOpLogHandler() })
}

/// Runs `body` with the path of a journal directory (not yet created: the journal creates it) inside a fresh
/// directory under the temporary directory, which is removed afterwards with everything in it.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let root = FileManager.default.temporaryDirectory
        .appendingPathComponent("logferry-journal-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    return try await body(root + "/journal")
}

/// Small segments, no fsync (tests about fsync set it themselves).
func testConfiguration(
    _ directory: String, segmentBytes: Int = 4096, maxBytes: Int = 1 << 20, fsync: FsyncPolicy = .never,
    whenFull: FullPolicy = .block
) -> JournalConfiguration {
    JournalConfiguration(
        directory: directory, segmentBytes: segmentBytes, maxBytes: maxBytes, fsync: fsync,
        fsyncInterval: .milliseconds(10), whenFull: whenFull, maxRecordBytes: 2048)
}

func openJournal(_ configuration: JournalConfiguration) async throws -> Journal {
    try await Journal.open(configuration, logger: quietLogger(), clock: { 1_700_000_000_000_000_000 })
}

/// Payload `i`: its number, padded to `size` bytes, so a test can tell records apart and check them whole.
func payload(_ i: Int, size: Int = 100) -> [UInt8] {
    var bytes = Array("record-\(i)-".utf8)
    while bytes.count < size { bytes.append(UInt8(truncatingIfNeeded: i &+ bytes.count)) }
    return bytes
}

/// Appends payloads `range` one append per record.
@discardableResult
func appendEach(_ journal: Journal, _ range: ClosedRange<Int>, size: Int = 100) async throws -> [UInt64] {
    var seqs: [UInt64] = []
    for i in range { seqs.append(try await journal.append([payload(i, size: size)]).lowerBound) }
    return seqs
}

/// Every visible record after `after`, read in batches of `batch`.
func readAll(_ journal: Journal, after: UInt64 = 0, batch: Int = 1000) async throws -> [SpoolRecord] {
    var out: [SpoolRecord] = []
    var position = after
    while true {
        let records = try await journal.read(after: position, maxRecords: batch, maxBytes: 1 << 30)
        guard let last = records.last else { return out }
        out += records
        position = last.seq
    }
}

func segmentPaths(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory)
        .filter { $0.hasPrefix("seg-") && $0.hasSuffix(".log") }
        .sorted()
        .map { directory + "/" + $0 }
}

func fileBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

func writeBytes(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// What a crash would leave on disk: a copy of the directory taken while the journal is open (next to it, so
/// `withTemporaryDirectory` removes it too).
func crashImage(of directory: String) throws -> String {
    let copy = directory + "-crash"
    try FileManager.default.copyItem(atPath: directory, toPath: copy)
    return copy
}

struct TimedOut: Error {}

/// Fails with `TimedOut` instead of hanging when `body` does not finish in time.
func withTimeout<T: Sendable>(seconds: Double = 10, _ body: @escaping @Sendable () async throws -> T) async throws
    -> T
{
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
