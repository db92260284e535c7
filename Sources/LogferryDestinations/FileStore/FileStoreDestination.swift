// The file store: journal records -> one JSON document per line, in files whose paths come from each event.
//
// # Delivery
// A batch of records is read after the cursor, rendered (`_id` first, one line each), appended with one
// write per file, the written files are fsynced (config `fsync`), and only then is the cursor committed
// through the batch's last sequence. A record is never skipped: an undecodable one is written as a
// `parse_error` document; a failed write is retried (with backoff) until it succeeds. The one exception is an
// event the configured selector (`inputs`, `filter`) rejects: it is not written, and the batch commit moves
// the cursor past it like past any other record of the batch (a batch of only rejected events writes nothing
// and commits an empty state, which keeps I1 by I3).
//
// # Crash consistency: kill -9 at any moment neither loses nor repeats a line
// The cursor's opaque state (`FileStoreCursorState`) maps paths to lengths. Invariants:
//  I1. Every byte in any file beyond what the committed cursor accounts for is in a file listed in the
//      committed state, beyond the length recorded there. (Nothing else is ever written uncommitted.)
//  I2. Before a file is first written after a commit, it is registered: the cursor is committed again at
//      the SAME sequence with the file added at its current length (0 if it does not exist). A listed file
//      whose size differs from its recorded length (changed by someone else) is registered again the same
//      way. Registration commits happen before any write of the batch.
//  I3. A batch commit moves the sequence and replaces the state with the lengths, after the write, of the
//      files the batch wrote, and nothing else. A listed file the batch did not touch holds exactly
//      committed content (it was not written since it was listed, or was cut back before a retry), so
//      dropping it keeps I1.
//  I4. On start, and before retrying a failed batch, every listed file longer than its recorded length is
//      cut back to it (fsynced when `fsync` is on). The records after the cursor are then written again.
// With `fsync: true`, written files and the directories of created files are fsynced before each batch
// commit, so the same holds across a power cut. A file whose size is below its recorded length (lost in a
// power cut with `fsync: false`, or truncated by someone else) is logged and left as it is.
//
// Not covered: two destinations writing the same files (each would cut the other's lines), and files
// renamed away between a write and its commit (their uncommitted lines stay in the renamed file).
//
// # Threads
// Rendering (JSON parsing for path macros) runs in the caller's task; every blocking file call runs on the
// destination's private serial DispatchQueue (`FileStoreIO`), never on the cooperative pool.

import LogferryCore
import LogferryFormat
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `file` destination: writes every event of the journal, exactly once and in journal order per file,
/// as a JSON line (`_id` first) to the file its path template names.
///
/// Wire it as a long-running service: create it with the node's spool and identity, then call `run()` in
/// a task of the service group; cancel that task to stop it (the batch in progress finishes and commits).
public final class FileStoreDestination: Sendable {
    public let configuration: FileStoreConfiguration
    private let spool: any Spool
    private let localNode: NodeIdentity
    private let logger: Logger
    private let template: PathTemplate
    private let io: FileStoreIO
    private let running = Atomic<Bool>(false)

    private let recordsWrittenCount = Atomic<Int>(0)
    private let bytesWrittenCount = Atomic<Int>(0)
    private let undecodableCount = Atomic<Int>(0)
    private let bytesCutCount = Atomic<Int>(0)
    private let writeErrorCount = Atomic<Int>(0)
    private let filteredCount = Atomic<Int>(0)

    /// Records written and committed.
    public var recordsWritten: Int { recordsWrittenCount.load(ordering: .relaxed) }
    /// Bytes written and committed (document lines including their newline).
    public var bytesWritten: Int { bytesWrittenCount.load(ordering: .relaxed) }
    /// Files open right now.
    public var filesOpen: Int { io.filesOpen }
    /// Records whose payload or document could not be decoded (written as `parse_error` documents).
    public var undecodableRecords: Int { undecodableCount.load(ordering: .relaxed) }
    /// Bytes cut from files on start or before a retry: lines written after the last commit.
    public var bytesTruncated: Int { bytesCutCount.load(ordering: .relaxed) }
    /// Failed file operations (each one retried).
    public var writeErrors: Int { writeErrorCount.load(ordering: .relaxed) }
    /// Events the selector rejected: not written, committed past.
    public var recordsFiltered: Int { filteredCount.load(ordering: .relaxed) }

    /// - Parameters:
    ///   - spool: the node's journal; the destination reads through the cursor `file-NAME`.
    ///   - localNode: this node's identity, the origin of records that entered at this node.
    ///   - logger: where to log; the destination adds `destination: NAME` metadata.
    /// - Throws: `FileStoreError` (`.invalidConfiguration`) when `configuration.problems()` is not empty.
    public init(
        configuration: FileStoreConfiguration, spool: any Spool, localNode: NodeIdentity, logger: Logger
    ) throws(FileStoreError) {
        let problems = configuration.problems()
        guard problems.isEmpty else {
            throw FileStoreError(
                .invalidConfiguration,
                "destination '\(configuration.name)': " + problems.joined(separator: "; "))
        }
        var configuration = configuration
        if !configuration.pathTemplate.hasPrefix("/") {
            // Pinned now: the cursor state holds paths, and they must name the same files after a restart
            // from another working directory.
            configuration.pathTemplate = Self.workingDirectory() + "/" + configuration.pathTemplate
        }
        self.configuration = configuration
        self.template = try PathTemplate(configuration.pathTemplate)
        self.spool = spool
        self.localNode = localNode
        var logger = logger
        logger[metadataKey: "destination"] = "\(configuration.name)"
        self.logger = logger
        self.io = FileStoreIO(
            label: "logferry.file-store.\(configuration.name)",
            files: OpenFiles(
                maxOpen: configuration.maxOpenFiles, fileMode: configuration.fileMode,
                dirMode: configuration.dirMode, fsync: configuration.fsync))
    }

    /// Delivers journal records to files until the task is cancelled; returns then, after the batch in
    /// progress is committed. Throws what the spool throws (the caller may call `run()` again: every point
    /// it can stop at is one it recovers from), or `.alreadyRunning`. File errors do not end it: they are
    /// logged, counted and retried.
    public func run() async throws {
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { throw FileStoreError(.alreadyRunning, "destination '\(configuration.name)' is already running") }
        defer { running.store(false, ordering: .releasing) }
        do {
            try await deliver()
        } catch {
            _ = try? await io.run { files in files.closeAll() }
            if error is CancellationError || Task.isCancelled { return }
            throw error
        }
        _ = try? await io.run { files in files.closeAll() }
    }

    private func deliver() async throws {
        let cursorName = configuration.cursorName
        let cursor = try await spool.openCursor(cursorName)
        var seq = cursor.seq
        var committed: [String: UInt64]
        do {
            committed = try FileStoreCursorState(decoding: cursor.state).lengths
        } catch {
            // Only a foreign writer of this cursor gets here. Start without a state: nothing is cut, so lines
            // written after the last commit may appear twice, but none is lost.
            logger.error("\(error); lines written after the last commit may repeat once")
            committed = [:]
        }
        logger.info("file destination starts after journal record \(seq), \(committed.count) files to check")

        var needsRecovery = true
        var delay = configuration.ioRetryDelay
        while !Task.isCancelled {
            do {
                if needsRecovery {
                    try await cutBack(to: committed)
                    needsRecovery = false
                }
                let records = try await spool.read(
                    after: seq, maxRecords: configuration.batchRecords, maxBytes: configuration.batchBytes)
                guard let last = records.last else {
                    try await spool.waitForRecords(after: seq)
                    continue
                }
                let batch = render(records)

                // I2: register files that are new since the commit, or changed behind our back.
                let paths = batch.paths
                let sizes = try await io.run { files in try files.sizes(of: paths) }
                var registering = committed
                for (path, size) in zip(paths, sizes) where committed[path] != size {
                    if let recorded = committed[path] {
                        logger.warning(
                            """
                            \(path) is \(size) bytes, not the \(recorded) written through the last commit: \
                            changed outside logferry; appending after it
                            """)
                    }
                    registering[path] = size
                }
                if registering != committed {
                    try await spool.commit(
                        cursor: cursorName, through: seq, state: FileStoreCursorState(lengths: registering).encoded())
                    committed = registering
                }

                let buffers = batch.buffers
                let lengths = try await io.run { files in
                    var lengths: [String: UInt64] = [:]
                    for (path, bytes) in zip(paths, buffers) { lengths[path] = try files.append(bytes, to: path) }
                    try files.sync()
                    return lengths
                }

                // I3: the state of this commit lists only the files this batch wrote.
                try await spool.commit(
                    cursor: cursorName, through: last.seq, state: FileStoreCursorState(lengths: lengths).encoded())
                committed = lengths
                seq = last.seq
                recordsWrittenCount.add(records.count - batch.filtered, ordering: .relaxed)
                if batch.filtered > 0 { filteredCount.add(batch.filtered, ordering: .relaxed) }
                bytesWrittenCount.add(batch.byteCount, ordering: .relaxed)
                if batch.undecodable > 0 {
                    undecodableCount.add(batch.undecodable, ordering: .relaxed)
                    logger.warning(
                        """
                        \(batch.undecodable) undecodable journal records written as parse_error documents; \
                        first: \(batch.firstProblem ?? "")
                        """)
                }
                delay = configuration.ioRetryDelay
            } catch let error as CoreIOError {
                // Some of the batch may be on disk; it is cut back (I4) before the batch is tried again.
                writeErrorCount.add(1, ordering: .relaxed)
                logger.error("\(error); retrying in \(delay)")
                _ = try? await io.run { files in files.closeAll() }
                needsRecovery = true
                try await Task.sleep(for: delay)
                delay = min(delay * 2, configuration.ioRetryMaxDelay)
            }
        }
    }

    /// I4: cuts every listed file back to its committed length.
    private func cutBack(to committed: [String: UInt64]) async throws {
        guard !committed.isEmpty else { return }
        let entries = committed.sorted { $0.key < $1.key }
        let before = try await io.run { files in
            try entries.map { (path, length) in try files.truncate(path, to: length) }
        }
        for ((path, length), size) in zip(entries, before) {
            guard let size else {
                if length > 0 { logger.warning("\(path) is gone; its \(length) committed bytes are not rewritten") }
                continue
            }
            if size > length {
                bytesCutCount.add(Int(size - length), ordering: .relaxed)
                logger.notice(
                    "cut \(size - length) bytes from \(path) (written after the last commit; they are written again)")
            } else if size < length {
                logger.warning(
                    """
                    \(path) is \(size) bytes, shorter than the \(length) committed: truncated outside logferry, \
                    or lost in a power cut (fsync off)
                    """)
            }
        }
    }

    /// The lines of a batch, one buffer per file, in the order the files first appear.
    struct RenderedBatch {
        var paths: [String] = []
        var buffers: [[UInt8]] = []
        var index: [String: Int] = [:]
        var byteCount = 0
        var undecodable = 0
        /// Events the selector rejected.
        var filtered = 0
        var firstProblem: String?

        mutating func append(_ line: [UInt8], to path: String) {
            let i: Int
            if let existing = index[path] {
                i = existing
            } else {
                i = paths.count
                index[path] = i
                paths.append(path)
                buffers.append([])
            }
            buffers[i].append(contentsOf: line)
            buffers[i].append(0x0A)
            byteCount += line.count + 1
        }
    }

    func render(_ records: [SpoolRecord]) -> RenderedBatch {
        var batch = RenderedBatch()
        // Without a selector only the members the path names are built (the rest is checked, not built), and
        // consecutive events with the same values reuse the expanded path (with a selector the whole documents
        // are compared, which fails at their first differing member).
        let selector = configuration.selector
        let pathKeys = Array(template.macros.documentKeys)  // a few keys: comparing beats hashing each member
        var lastPathValues: JSONObject?
        var lastPath = ""
        for record in records {
            let event: SpooledEvent
            do {
                event = try SpooledEvent.decode(record.payload)
            } catch {
                let id = EventOrigin(node: localNode, seq: record.seq).documentID
                batch.undecodable += 1
                if batch.firstProblem == nil { batch.firstProblem = "record \(record.seq): \(error)" }
                batch.append(
                    Self.errorDocument(id: id, error: error.description, raw: record.payload),
                    to: template.expand(JSONObject()))
                continue
            }
            let id = event.resolvedOrigin(localNode: localNode, seq: record.seq).documentID
            let object: JSONObject
            do {
                if selector == nil {
                    object = try JSONParser.parseObject(event.document, keeping: pathKeys.contains)
                } else {
                    guard case .object(let o) = try JSONParser.parse(event.document) else {
                        throw JSONParseError(offset: 0, reason: "the document is not a JSON object")
                    }
                    object = o
                }
            } catch {
                batch.undecodable += 1
                if batch.firstProblem == nil { batch.firstProblem = "record \(record.seq): \(error)" }
                batch.append(
                    Self.errorDocument(id: id, error: "\(error)", raw: event.document),
                    to: template.expand(JSONObject()))
                continue
            }
            if let selector, !selector.accepts(object: object) {
                batch.filtered += 1
                continue
            }
            let path: String
            if lastPathValues == object {
                path = lastPath
            } else {
                path = template.expand(object)
                lastPathValues = object
                lastPath = path
            }
            if event.document.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
                // Valid JSON holds raw line breaks only as whitespace; re-render so the document stays one line.
                var w = JSONWriter(capacity: event.document.count)
                if case .object(let whole)? = try? JSONParser.parse(event.document) { w.write(whole) }
                batch.append(documentWithID(w.bytes, id: id), to: path)
            } else {
                batch.append(documentWithID(event.document, id: id), to: path)
            }
        }
        return batch
    }

    /// `{"_id":…,"parse_error":…,"raw":…}` for a record that is not an event document.
    static func errorDocument(id: String, error: String, raw: [UInt8]) -> [UInt8] {
        var o = JSONObject()
        o.appendUnchecked("_id", .string(id))
        o.appendUnchecked("parse_error", .string(error))
        o.appendUnchecked("raw", .string(String(decoding: raw, as: UTF8.self)))
        return JSONWriter.render(.object(o))
    }

    private static func workingDirectory() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buf, buf.count) != nil else { return "." }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
