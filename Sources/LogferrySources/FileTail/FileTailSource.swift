import Dispatch
import Glibc
import LogferryCore
import Logging
import Synchronization

// # The file source: design
//
// Invariants
// - A line is handed to the journal in exactly one batch, and batches are cut at line (event) boundaries.
// - The offsets checkpoint's confirmed entry moves only after the journal made a batch durable, and it records
//   for each file the end of the last line in a delivered batch (`committedOffset`). Up to `maxBatchesInFlight`
//   batches may wait for their group fsync while reading goes on; they are confirmed in order.
// - Hence after kill -9 at any moment, a restart resumes every file (matched by device + inode + fingerprint)
//   at the end of the last batch the journal holds: nothing is lost (at least once), and no line is read twice.
// - The gap between the journal's commit and the checkpoint's is closed by pending entries: as soon as the
//   journal assigned a batch its sequence numbers, the batch's offsets are written as pending with its highest
//   sequence (no fsync). On start the newest pending entry whose sequence the journal holds wins; one the
//   journal lost (its records did not survive) is ignored, so it never skips a line (FileTailCheckpointFile).
// - Rotation logic lives in `FileTailState` (pure); line splitting in `FileTailLineAssembler` (pure). This file
//   is the thin shell doing the I/O: glob, stat, open, pread, inotify, checkpoint writes.
// - All blocking file I/O (waiting on inotify, reads, fsync of the checkpoint) runs on one serial DispatchQueue
//   per source, never on the cooperative pool. `FileTailReader` is confined to that queue.
// - No buffer is unbounded: a pass reads at most `readBatchBytes`; a partial line holds at most `maxLineBytes`.
//
// Limits (documented, not bugs)
// - Lines appended to a file after it was truncated and before we saw the truncation are read; what was written
//   between our last read and the truncation is lost (copytruncate loses it for every reader); we say so in an
//   internal event.
// - A file rotated to a name outside `include` while logferry was stopped cannot be resumed: include rotated
//   names (`app.log.1`) if that matters, and exclude compressed ones (`*.gz`).
// - Two different files whose first bytes (up to 256) are equal, on a reused inode, are taken for the same file;
//   likewise a file truncated and rewritten past our offset with the same first bytes is not seen as truncated.
// - A deleted file is closed once read to its end; a writer still appending to the unlinked file after that
//   writes where nobody can read it.
// - The partial tail of a rotated or deleted file is flushed as a line once the file was read to its end; if the
//   writer later completes that line in the old file, the rest arrives as a line of its own.

/// Counters of a file source, read by metrics and tests.
public final class FileTailCounters: Sendable {
    public let lines = Atomic<Int>(0)
    public let bytes = Atomic<Int>(0)
    /// Lines (events) cut to `maxLineBytes`.
    public let truncatedLines = Atomic<Int>(0)
    /// Files found truncated (copytruncate, truncate in place).
    public let truncations = Atomic<Int>(0)
    /// Files found rotated away or deleted.
    public let rotations = Atomic<Int>(0)
    public let filesOpened = Atomic<Int>(0)
    public let filesClosed = Atomic<Int>(0)
    public let checkpointWrites = Atomic<Int>(0)
    public let checkpointErrors = Atomic<Int>(0)
    public let readErrors = Atomic<Int>(0)
    public init() {}
}

/// Tails files (`type: file`): see the design notes at the top of this file.
///
/// ```swift
/// let source = FileTailSource(config: FileTailConfiguration(
///     name: "apps", include: ["/var/log/supervisor/*.log"],
///     statePath: FileTailConfiguration.defaultStatePath(dataDir: dataDir, name: "apps")), logger: logger)
/// try await source.run { batch in try await journal.append(batch) }   // returns once durable
/// ```
public struct FileTailSource: HookedSource {
    public let config: FileTailConfiguration
    public let counters: FileTailCounters
    private let logger: Logger
    /// The highest sequence number the journal holds, asked once at start to resolve the checkpoint's pending
    /// entries (see `FileTailCheckpointFile`); nil = only confirmed offsets are trusted.
    private let journalLastSequence: (@Sendable () async -> UInt64)?

    public var name: String { config.name }

    /// `program` of the internal events this source emits (RFC 5424 messages with MSGID `file-truncated`).
    public static let internalProgram = "logferry"

    public init(
        config: FileTailConfiguration, counters: FileTailCounters = .init(),
        journalLastSequence: (@Sendable () async -> UInt64)? = nil, logger: Logger
    ) {
        self.config = config
        self.counters = counters
        self.journalLastSequence = journalLastSequence
        self.logger = logger
    }

    public func run(deliver: @escaping Deliver) async throws {
        try await run(deliverWithHook: { batch, _ in try await deliver(batch) })
    }

    public func run(deliverWithHook deliver: @escaping DeliverWithHook) async throws {
        let queue = DispatchQueue(label: "logferry.file-source.\(config.name)")
        let (config, counters, logger) = (self.config, self.counters, self.logger)
        let journalHolds = await journalLastSequence?()
        let reader = try await onQueue(queue) {
            try FileTailReader(config: config, counters: counters, journalHolds: journalHolds, logger: logger)
        }
        logger.info("file source started", metadata: ["source": "\(name)", "include": "\(config.include)"])
        do {
            try await withTaskCancellationHandler {
                try await loop(reader: reader, queue: queue, deliver: deliver)
            } onCancel: {
                reader.wake()
            }
        } catch {
            _ = try? await onQueue(queue) { reader.shutdown() }
            throw error
        }
        _ = try await onQueue(queue) { reader.shutdown() }
    }

    /// A batch written to the journal but not yet durable, with the checkpoint it allows once it is and its highest
    /// journal sequence number (nil when it was not journaled, or holds no lines).
    private typealias Pending = (delivery: Delivery, checkpoint: [FileTailState.Checkpoint]?, seq: UInt64?)

    /// At most this many batches wait for their group fsync while reading goes on. Reading is then not paced by
    /// the fsync interval (a writer that truncates in place, like supervisor with `*_logfile_backups=0`, leaves
    /// less unread), and after a crash at most this many batches are read again.
    static let maxBatchesInFlight = 4

    /// Reads and delivers; a second task waits for each batch to be durable and then writes its checkpoint, in
    /// order, so offsets move only past lines the journal holds durably.
    private func loop(reader: FileTailReader, queue: DispatchQueue, deliver: @escaping DeliverWithHook) async throws {
        let pending = AsyncBoundedQueue<Pending>(capacity: Self.maxBatchesInFlight)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while let ready = await pending.takeAll() {
                    for p in ready {
                        try await p.delivery.durable()
                        if let checkpoint = p.checkpoint {
                            _ = try await onQueue(queue) { reader.checkpoints.confirm(checkpoint, through: p.seq) }
                        }
                    }
                }
            }
            defer { pending.close() }
            while !Task.isCancelled {
                // Waits at most `pollInterval` when nothing changed; cancellation wakes it through `wake()`.
                let batch = try await onQueue(queue) { reader.nextBatch() }
                if batch.messages.isEmpty {
                    // Opened, closed or reset files: recorded once the batches before it are durable.
                    guard let checkpoint = batch.checkpoint else { continue }
                    guard await pending.push((.immediate, checkpoint, nil)) else { break }
                    continue
                }
                let delivery = try await Self.deliver(batch, to: deliver, checkpoints: reader.checkpoints)
                let seq = delivery.sequences?.upperBound
                // Waits while `maxBatchesInFlight` batches are not yet durable.
                guard await pending.push((delivery, batch.checkpoint, seq)) else { break }
            }
            pending.close()
            try await group.waitForAll()
        }
    }
}

/// Runs `body` on `queue` (blocking work off the cooperative pool) and returns its result.
func onQueue<T: Sendable>(_ queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        queue.async { c.resume(with: Result { try body() }) }
    }
}

extension FileTailSource {
    /// Delivers a batch with a journal hook that writes the batch's offsets as a pending checkpoint entry right
    /// before the journal writes its records (see `DeliverWithHook`). If the write then fails, the entry goes again:
    /// its sequence numbers may be reused by another batch.
    static func deliver(_ batch: FileTailBatch, to deliver: DeliverWithHook, checkpoints: FileTailCheckpoints)
        async throws -> Delivery
    {
        guard let files = batch.checkpoint else { return try await deliver(batch.messages, nil) }
        let fired = Mutex<UInt64?>(nil)
        do {
            return try await deliver(batch.messages) { range in
                fired.withLock { $0 = range.upperBound }
                checkpoints.notePending(files, seq: range.upperBound)
            }
        } catch {
            if let seq = fired.withLock({ $0 }) { checkpoints.discardPending(seq: seq) }
            throw error
        }
    }
}

/// The offsets checkpoint file of one file source and what it holds: confirmed offsets plus the batches not yet
/// known durable. Locked, because pending entries are written from the journal's writer thread (the hook) while
/// confirmations come from the source's queue; each change rewrites the file under the lock, so writes land in
/// the order of the changes.
final class FileTailCheckpoints: Sendable {
    private let path: String
    private let counters: FileTailCounters
    private let logger: Logger
    private let contents: Mutex<FileTailCheckpointFile.Contents>
    /// A write failed: the next idle pass records the offsets again.
    let dirty = Atomic<Bool>(false)

    init(path: String, files: [FileTailState.Checkpoint], counters: FileTailCounters, logger: Logger) {
        self.path = path
        self.counters = counters
        self.logger = logger
        self.contents = Mutex(FileTailCheckpointFile.Contents(files: files))
    }

    /// A batch gets sequence numbers through `seq`: its offsets go into the file as a pending entry (no fsync).
    func notePending(_ files: [FileTailState.Checkpoint], seq: UInt64) {
        contents.withLock { c in
            c.pending.append(FileTailCheckpointFile.Pending(seq: seq, files: files))
            write(c, durable: false)
        }
    }

    /// The batch's write failed after the hook ran.
    func discardPending(seq: UInt64) {
        contents.withLock { c in
            c.pending.removeAll { $0.seq == seq }
            write(c, durable: true)
        }
    }

    /// A batch is durable (or held no journaled lines): its offsets become the confirmed ones.
    func confirm(_ files: [FileTailState.Checkpoint], through seq: UInt64?) {
        contents.withLock { c in
            c.files = files
            if let seq { c.pending.removeAll { $0.seq <= seq } }
            write(c, durable: true)
        }
    }

    private func write(_ c: FileTailCheckpointFile.Contents, durable: Bool) {
        do {
            try writeFileAtomically(path, FileTailCheckpointFile.encode(c), durable: durable)
            counters.checkpointWrites.add(1, ordering: .relaxed)
        } catch {
            // Retried on the next idle pass; until then a restart would re-deliver, never skip.
            dirty.store(true, ordering: .relaxed)
            counters.checkpointErrors.add(1, ordering: .relaxed)
            logger.error("cannot write offsets checkpoint", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}

/// One batch of lines and the checkpoint to write once it is durable.
struct FileTailBatch: Sendable {
    var messages: [RawMessage]
    var checkpoint: [FileTailState.Checkpoint]?
}

/// The I/O shell around `FileTailState`: owns the descriptors, the line assemblers, the inotify watches.
final class FileTailReader: @unchecked Sendable {
    // @unchecked: used only from the source's serial queue (every call goes through `onQueue`), so no two
    // threads touch it at once; the queue is the lock. The one exception, `wake()`, only writes to a pipe whose
    // descriptors are set in init and closed in deinit.
    let config: FileTailConfiguration
    let counters: FileTailCounters
    let logger: Logger
    private var state: FileTailState
    private var fds: [FileTailState.Key: Int32] = [:]
    private var assemblers: [FileTailState.Key: FileTailLineAssembler] = [:]
    private var inotifyFD: Int32 = -1
    /// A pipe that `wake()` writes to, so a cancelled source does not sleep out its poll interval.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var watched: Set<String> = []
    /// Watch descriptor -> directory, to name the files inotify events are about.
    private var watchDirs: [Int32: String] = [:]
    /// IN_MOVED_FROM of a file we care about, by cookie, until its IN_MOVED_TO arrives.
    private var movedFrom: [UInt32: String] = [:]
    /// Files renamed from an included name to one outside the include set (fast rotation: `x.log` -> `x.log.1`),
    /// offered to the next scan once, so a file created and renamed away between two looks is still read; the
    /// scan after that no longer sees it, which drains and closes it like any rotated file.
    private var adopted: [String] = []
    private var inotifyBuffer = [UInt8](repeating: 0, count: 16 * 1024)
    /// The last pass stopped at `readBatchBytes`: read again without waiting.
    private var backlog = true
    private var checkpointDirty = false
    let checkpoints: FileTailCheckpoints
    private let pollNanos: Int64
    private let chunk: UnsafeMutableRawBufferPointer
    private static let chunkBytes = 64 * 1024

    init(config: FileTailConfiguration, counters: FileTailCounters, journalHolds: UInt64? = nil, logger: Logger) throws
    {
        self.config = config
        self.counters = counters
        self.logger = logger
        let (s, atto) = config.pollInterval.components
        self.pollNanos = max(1_000_000, s * 1_000_000_000 + atto / 1_000_000_000)
        // Fail early on a bad multiline pattern.
        _ = try FileTailLineAssembler(offset: 0, maxLineBytes: config.maxLineBytes, multiline: config.multiline)
        let checkpoint = Self.loadCheckpoint(config.statePath, journalHolds: journalHolds, logger: logger)
        self.checkpoints = FileTailCheckpoints(
            path: config.statePath, files: checkpoint ?? [], counters: counters, logger: logger)
        self.state = FileTailState(
            startAt: config.startAt, checkpoint: checkpoint, rotatedLinger: config.rotatedFileLinger)
        if let slash = config.statePath.lastIndex(of: "/"), slash != config.statePath.startIndex {
            try makeDirectories(String(config.statePath[..<slash]))
        }
        // IN_NONBLOCK | IN_CLOEXEC; inotify is an accelerator, polling covers when it is unavailable.
        inotifyFD = inotify_init1(Int32(O_NONBLOCK | O_CLOEXEC))
        if inotifyFD < 0 {
            logger.warning("inotify unavailable, polling only", metadata: ["errno": "\(errno)"])
        }
        var pipeFDs: [Int32] = [-1, -1]
        // pipe2 needs _GNU_SOURCE, which Glibc's module map does not expose: pipe, then fcntl.
        guard pipe(&pipeFDs) == 0 else {
            if inotifyFD >= 0 { close(inotifyFD) }
            throw CoreIOError(operation: "pipe", path: config.name, errno: errno)
        }
        (wakeRead, wakeWrite) = (pipeFDs[0], pipeFDs[1])
        for fd in pipeFDs {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkBytes, alignment: 16)
    }

    deinit {
        chunk.deallocate()
        close(wakeRead)
        close(wakeWrite)
    }

    /// Ends the current wait early; callable from any thread.
    func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// nil when there is no checkpoint (a source that never ran); an unreadable one is set aside and counts as an
    /// empty checkpoint, so files are read from their start (duplicates rather than loss).
    static func loadCheckpoint(_ path: String, journalHolds: UInt64?, logger: Logger) -> [FileTailState.Checkpoint]? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        do {
            let contents = try FileTailCheckpointFile.decodeContents(try readFileBytes(path))
            let resolved = contents.resolve(journalHolds: journalHolds)
            if resolved != contents.files {
                logger.info(
                    "resuming from offsets of batches the journal holds but whose checkpoint did not land",
                    metadata: ["journal_last_seq": "\(journalHolds ?? 0)"])
            }
            return resolved
        } catch {
            logger.error(
                "offsets checkpoint unreadable; moved aside, files are read from their start",
                metadata: ["path": "\(path)", "error": "\(error)"])
            rename(path, path + ".corrupt")
            return []
        }
    }

    func shutdown() {
        for fd in fds.values { close(fd) }
        fds = [:]
        if inotifyFD >= 0 { close(inotifyFD) }
        inotifyFD = -1
    }

    // MARK: - One pass

    func nextBatch() -> FileTailBatch {
        if !backlog { waitForChange() } else { drainInotify() }
        let now = Self.monotonicNow()
        let received = Timestamp.now()
        var messages: [RawMessage] = []
        // Every pass scans: the fstat before the reads is what keeps us from reading a file that was truncated
        // and rewritten past our offset as if it had grown. A glob and a stat per file per pass (a pass reads up
        // to `readBatchBytes`) is cheap next to the reads.
        scan(now: now, received: received, into: &messages)
        readPass(now: now, received: received, into: &messages)
        for key in assemblers.keys.sorted() where assemblers[key]!.hasPendingEvent {
            emit(assemblers[key]?.flushIdle(now: now) ?? [], key: key, received: received, into: &messages)
        }
        if messages.isEmpty {
            // Opened, closed or reset files: the loop records this once earlier batches are durable.
            guard checkpointDirty || checkpoints.dirty.exchange(false, ordering: .relaxed) else {
                return FileTailBatch(messages: [], checkpoint: nil)
            }
            checkpointDirty = false
            return FileTailBatch(messages: [], checkpoint: snapshot())
        }
        return FileTailBatch(messages: messages, checkpoint: snapshot())
    }

    func snapshot() -> [FileTailState.Checkpoint] {
        state.checkpoint(committed: assemblers.mapValues(\.committedOffset))
    }

    // MARK: - Scan

    private func scan(now: Int64, received: Timestamp, into messages: inout [RawMessage]) {
        addWatches()
        let tracked = Set(state.files.values.map(\.id))
        var candidates: [FileTailID: Int32] = [:]
        var paths: [FileTailState.PathObservation] = []
        let matched = matchedPaths()
        let extra = adopted.filter { !matched.contains($0) }
        adopted.removeAll()
        for path in matched + extra {
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            let id = FileTailID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            if tracked.contains(id) {
                paths.append(.init(path: path, id: id, size: Int64(st.st_size)))
                continue
            }
            if candidates[id] != nil { continue }
            // Open now and describe the opened file, so the identity we adopt is the descriptor's.
            // O_NONBLOCK: should the path have become a FIFO since the stat, open must not hang.
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { continue }
            var fst = stat()
            guard fstat(fd, &fst) == 0, (fst.st_mode & S_IFMT) == S_IFREG else {
                close(fd)
                continue
            }
            let fid = FileTailID(device: UInt64(fst.st_dev), inode: UInt64(fst.st_ino))
            if tracked.contains(fid) || candidates[fid] != nil {
                close(fd)
                continue
            }
            guard let head = readHead(fd) else {
                close(fd)
                continue
            }
            candidates[fid] = fd
            paths.append(.init(path: path, id: fid, size: Int64(fst.st_size), head: head))
        }
        var open: [FileTailState.OpenObservation] = []
        for (key, fd) in fds {
            var st = stat()
            guard fstat(fd, &st) == 0, let head = readHead(fd) else { continue }
            open.append(.init(key: key, size: Int64(st.st_size), linkCount: Int(st.st_nlink), head: head))
        }
        for action in state.scan(paths: paths, open: open, now: now) {
            apply(action, candidates: &candidates, received: received, into: &messages)
        }
        for fd in candidates.values { close(fd) }
    }

    private func apply(
        _ action: FileTailState.Action, candidates: inout [FileTailID: Int32], received: Timestamp,
        into messages: inout [RawMessage]
    ) {
        switch action {
        case .open(let key, let path, let id, let offset, let resumed):
            guard let fd = candidates.removeValue(forKey: id),
                let assembler = try? FileTailLineAssembler(
                    offset: offset, maxLineBytes: config.maxLineBytes, multiline: config.multiline)
            else {
                _ = state.close(key)
                return
            }
            fds[key] = fd
            assemblers[key] = assembler
            checkpointDirty = true
            counters.filesOpened.add(1, ordering: .relaxed)
            logger.info(
                "tailing file",
                metadata: [
                    "source": "\(config.name)", "path": "\(path)", "offset": "\(offset)", "resumed": "\(resumed)",
                ])
        case .truncated(let key, let path, let offset, let missing):
            if var a = assemblers[key] {
                emit(a.flush(), key: key, received: received, into: &messages)
                a.reset(to: 0)
                assemblers[key] = a
            }
            checkpointDirty = true
            counters.truncations.add(1, ordering: .relaxed)
            logger.warning(
                "file truncated; reading restarts at 0",
                metadata: [
                    "path": "\(path)", "offset": "\(offset)",
                    "missing_bytes": "\(missing.map(String.init) ?? "unknown")",
                ])
            messages.append(
                RawMessage(
                    bytes: Self.truncationEvent(path: path, offset: offset, missing: missing), receivedAt: received,
                    file: path))
        case .draining(_, let path, let deleted):
            counters.rotations.add(1, ordering: .relaxed)
            logger.info(
                deleted ? "file deleted; reading it to its end" : "file rotated; reading the old file to its end",
                metadata: ["path": "\(path)"])
        case .close(let key, let path):
            if var a = assemblers.removeValue(forKey: key) {
                emit(a.flush(), key: key, path: path, received: received, into: &messages)
            }
            if let fd = fds.removeValue(forKey: key) { close(fd) }
            checkpointDirty = true
            counters.filesClosed.add(1, ordering: .relaxed)
            logger.info("closed finished file", metadata: ["path": "\(path)"])
        }
    }

    /// An RFC 5424 message from program `logferry`, severity warning, MSGID `file-truncated`, so it parses with
    /// structured data (`file`, `offset`, `missing="unknown"`, `seen_unread`: a lower bound of the lost bytes) and reads sensibly as raw text too.
    static func truncationEvent(path: String, offset: Int64, missing: Int64?) -> [UInt8] {
        func sdEscape(_ s: String) -> String {
            var out = ""
            for c in s {
                if c == "\"" || c == "\\" || c == "]" { out.append("\\") }
                out.append(c)
            }
            return out
        }
        // While running we know the bytes we saw and had not read yet; what the writer added between our last look
        // and the truncation is unknowable, so `missing` is "unknown" and `seen_unread` is a lower bound.
        let seen = missing.map { " seen_unread=\"\($0)\"" } ?? ""
        let lost =
            missing.map {
                $0 > 0
                    ? "at least \($0) bytes were not read, plus whatever was written after our last look"
                    : "anything written after our last look and before the truncation is lost"
            } ?? "how much was unread is unknown (it happened while logferry was stopped)"
        let text =
            "<44>1 - - \(FileTailSource.internalProgram) - file-truncated "
            + "[truncated@32473 file=\"\(sdEscape(path))\" offset=\"\(offset)\" missing=\"unknown\"\(seen)] "
            + "file \(path) was truncated below offset \(offset) (copytruncate or truncate in place); reading restarts "
            + "at 0; \(lost)"
        return Array(text.utf8)
    }

    // MARK: - Read

    private func readPass(now: Int64, received: Timestamp, into messages: inout [RawMessage]) {
        var budget = max(1, config.readBatchBytes)
        var exhausted: Set<FileTailState.Key> = []
        while budget > 0 {
            var progressed = false
            for key in state.readOrder where !exhausted.contains(key) && state.canRead(key) {
                guard let fd = fds[key], let file = state.files[key] else { continue }
                let want = min(budget, chunk.count)
                let n = pread(fd, chunk.baseAddress, want, off_t(file.offset))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    if n < 0 {
                        counters.readErrors.add(1, ordering: .relaxed)
                        logger.error("read failed", metadata: ["path": "\(file.path)", "errno": "\(errno)"])
                    }
                    exhausted.insert(key)
                    state.reachedEOF(key)
                    if file.phase != .following {
                        // A rotated or deleted file read to its end: its partial tail is a line of its own.
                        emit(assemblers[key]?.flush() ?? [], key: key, received: received, into: &messages)
                    }
                    continue
                }
                progressed = true
                budget -= n
                state.didRead(key, count: n, now: now)
                counters.bytes.add(n, ordering: .relaxed)
                // In place: a copy of the assembler would copy its partial line on every chunk.
                let lines = assemblers[key]?.feed(UnsafeRawBufferPointer(rebasing: chunk[0..<n]), now: now) ?? []
                emit(lines, key: key, received: received, into: &messages)
                if budget <= 0 { break }
            }
            if !progressed { break }
        }
        backlog = budget <= 0
    }

    private func emit(
        _ lines: [FileTailLineAssembler.Line], key: FileTailState.Key, path: String? = nil, received: Timestamp,
        into messages: inout [RawMessage]
    ) {
        guard !lines.isEmpty else { return }
        let file = path ?? state.files[key]?.path
        for line in lines {
            messages.append(
                RawMessage(
                    bytes: line.bytes, receivedAt: received, file: file, offset: line.offset, truncated: line.truncated)
            )
            if line.truncated { counters.truncatedLines.add(1, ordering: .relaxed) }
        }
        counters.lines.add(lines.count, ordering: .relaxed)
    }

    private func readHead(_ fd: Int32) -> [UInt8]? {
        var head = [UInt8](repeating: 0, count: FileTailFingerprint.maxLength)
        while true {
            let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            head.removeLast(head.count - n)
            return head
        }
    }

    // MARK: - Globs and inotify

    /// Every path the include globs match, minus exclusions and our own checkpoint, sorted.
    func matchedPaths() -> [String] {
        var out = Set<String>()
        for pattern in config.include {
            var g = glob_t()
            defer { globfree(&g) }
            guard glob(pattern, 0, nil, &g) == 0 else { continue }
            for i in 0..<Int(g.gl_pathc) {
                if let p = g.gl_pathv[i] { out.insert(String(cString: p)) }
            }
        }
        return out.filter { path in
            if path == config.statePath || path == config.statePath + ".tmp" { return false }
            let base = path.split(separator: "/").last.map(String.init) ?? path
            return !config.exclude.contains { pattern in
                pattern.contains("/")
                    ? fnmatch(pattern, path, FNM_PATHNAME) == 0 : fnmatch(pattern, base, 0) == 0
            }
        }.sorted()
    }

    /// Watches the directory of every include pattern whose directory part has no wildcard; retried each scan
    /// (the directory may appear later).
    private func addWatches() {
        guard inotifyFD >= 0 else { return }
        for pattern in config.include {
            guard let slash = pattern.lastIndex(of: "/") else { continue }
            let dir = slash == pattern.startIndex ? "/" : String(pattern[..<slash])
            if watched.contains(dir) || dir.contains(where: { "*?[".contains($0) }) { continue }
            // IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
            // | IN_DELETE_SELF | IN_MOVE_SELF
            let wd = inotify_add_watch(
                inotifyFD, dir, 0x0000_0002 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800)
            if wd >= 0 {
                watched.insert(dir)
                watchDirs[wd] = dir
            }
        }
    }

    /// Sleeps until inotify reports a change in a watched directory or `pollInterval` passes.
    private func waitForChange() {
        let timeoutMs = Int32(clamping: pollNanos / 1_000_000)
        var pfds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        if inotifyFD >= 0 { pfds.append(pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0)) }
        guard poll(&pfds, nfds_t(pfds.count), timeoutMs) > 0 else { return }
        var buf = [UInt8](repeating: 0, count: 16 * 1024)
        if pfds[0].revents != 0 {
            while buf.withUnsafeMutableBytes({ read(wakeRead, $0.baseAddress, $0.count) }) > 0 {}
        }
        guard inotifyFD >= 0, pfds[1].revents != 0 else { return }
        drainInotify()
    }

    /// Reads every pending inotify event (the descriptor is non-blocking): notes lost watches and renames of
    /// included files to names outside the include set (see `adopted`). Also called while reading a backlog, so
    /// the queue does not overflow and renames are seen in order.
    private func drainInotify() {
        guard inotifyFD >= 0 else { return }
        // Kept between calls: this runs before every batch read from a backlog.
        var buf = inotifyBuffer
        defer { inotifyBuffer = buf }
        func u32(_ i: Int) -> UInt32 {
            UInt32(buf[i]) | UInt32(buf[i + 1]) << 8 | UInt32(buf[i + 2]) << 16 | UInt32(buf[i + 3]) << 24
        }
        while true {
            let n = buf.withUnsafeMutableBytes { read(inotifyFD, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            var at = 0
            while at + 16 <= n {
                let wd = Int32(bitPattern: u32(at))
                let mask = u32(at + 4)
                let cookie = u32(at + 8)
                let len = Int(u32(at + 12))
                // IN_IGNORED / IN_DELETE_SELF / IN_MOVE_SELF: the watch is gone; re-add on the next scan.
                if mask & (0x8000 | 0x400 | 0x800) != 0 {
                    watched.removeAll()
                    watchDirs.removeAll()
                }
                if mask & (0x40 | 0x80) != 0, len > 0, let dir = watchDirs[wd], at + 16 + len <= n {
                    let nameBytes = buf[(at + 16)..<(at + 16 + len)].prefix { $0 != 0 }
                    let path = (dir == "/" ? "" : dir) + "/" + String(decoding: nameBytes, as: UTF8.self)
                    if mask & 0x40 != 0 {  // IN_MOVED_FROM
                        if let i = adopted.firstIndex(of: path) {
                            adopted.remove(at: i)  // renamed again (x.log.1 -> x.log.2): follow it
                            movedFrom[cookie] = path
                        } else if isIncluded(path) {
                            movedFrom[cookie] = path
                        }
                    } else if movedFrom.removeValue(forKey: cookie) != nil, !isIncluded(path) {  // IN_MOVED_TO
                        adopted.append(path)
                    }
                }
                at += 16 + len
            }
        }
        if movedFrom.count > 1024 { movedFrom.removeAll() }  // moves out of watched directories never pair up
    }

    /// Whether `path` matches an include glob and no exclusion (without touching the filesystem).
    private func isIncluded(_ path: String) -> Bool {
        guard config.include.contains(where: { fnmatch($0, path, FNM_PATHNAME) == 0 }) else { return false }
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return !config.exclude.contains { pattern in
            pattern.contains("/") ? fnmatch(pattern, path, FNM_PATHNAME) == 0 : fnmatch(pattern, base, 0) == 0
        }
    }

    static func monotonicNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
