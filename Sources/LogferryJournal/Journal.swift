// The on-disk journal: every record a node accepts is durable here before any destination sees it, and
// stays until every destination's cursor has passed it. Full design: docs/JOURNAL.md.
//
// Layout of the journal directory:
//   seg-<first seq, 20 digits>.log  records, appended; a new segment when the current one would pass
//                                   `segmentBytes`. Record = 28-byte header (magic 0x4C46, version, flags,
//                                   length, seq, timeNanos, CRC-32C of header + payload) + payload.
//   cursors/<name>.cursor           a destination's seq + opaque state + CRC, replaced atomically.
//   meta                            the lowest next sequence number, so numbers never go backwards even
//                                   when every segment is gone.
//   damaged/<segment>-<offset>.bin  bytes recovery could not read, kept for inspection.
//   lock                            flock'ed while a Journal has the directory open.
//
// Invariants:
// - Sequence numbers grow by one per record, forever; recovery never hands out a number below one a record,
//   a cursor or `meta` already used.
// - Readers see a record only when it is durable as the fsync policy defines it (`always`, `interval`:
//   after the fsync covering it), so a reader never sees a record that a crash could take back. Under
//   `never` readers see records once written; a power cut can lose records a destination already sent.
// - `read` hands out only records whose CRC verified; damage is skipped, never delivered.
// - A segment is unlinked only after `meta` and every cursor past it are durable, and only once every
//   cursor has passed its last record (or `when_full: drop-oldest` sacrifices it). With no cursors, segments
//   stay until `maxBytes` forces a decision.
// - Only the newest segment can have a torn tail: a segment is fsynced before the next one is started.
// - Opening never fails because of damage: a torn tail is cut off (and saved aside), damage inside a
//   segment is skipped to the next intact record, a corrupt cursor restarts at the oldest record.
//
// Threads: no blocking call runs on the Swift cooperative pool. Writes, fsyncs, segment rotation and
// deletion, and cursor files run on one serial DispatchQueue (`ioQueue`); reads and `verify` run on a second
// serial queue (`readQueue`), so a reader never waits behind an fsync. Shared state lives in one `Mutex`
// that is never held across I/O. Async callers park in continuations that those queues resume.
// Group commit falls out of the serial queue: an fsync request queued behind several appends covers them all.

import Dispatch
import LogferryCore
import Logging
import Synchronization

/// The durable journal: segment files with CRC-checked records, per-destination cursors, crash recovery.
///
/// Open it with `Journal.open(_:logger:)`, close it with `close()`. See `Spool` for the contract and the
/// header of this file (or docs/JOURNAL.md) for the format.
public final class Journal: Spool {
    /// The settings the journal was opened with.
    public let configuration: JournalConfiguration
    /// What opening found and repaired; log it.
    public let recoveryReport: RecoveryReport

    private let logger: Logger
    private let layout: JournalLayout
    private let clock: @Sendable () -> Int64
    private let intervalNanos: UInt64
    private let ioQueue: DispatchQueue
    private let readQueue = DispatchQueue(label: "logferry.journal.read")
    private let state: Mutex<State>

    // MARK: Opening and closing

    /// Opens (creating if needed) and recovers the journal in `configuration.directory`.
    ///
    /// Throws `JournalError.invalidConfiguration` for unusable settings and `SpoolError.io` when the directory
    /// cannot be created or read, or another process holds it. Damage never makes it throw: see
    /// `recoveryReport`. Recovery runs on the journal's I/O thread, not on the caller's.
    ///
    /// - Parameter clock: wall-clock time in nanoseconds since the Unix epoch, stamped on every record.
    public static func open(
        _ configuration: JournalConfiguration,
        logger: Logger,
        clock: @escaping @Sendable () -> Int64 = { Timestamp.now().nanos }
    ) async throws -> Journal {
        let problems = configuration.problems()
        guard problems.isEmpty else { throw JournalError.invalidConfiguration(problems) }
        let ioQueue = DispatchQueue(label: "logferry.journal.io")
        let recovered = try await withCheckedThrowingContinuation {
            (c: CheckedContinuation<RecoveredJournal, any Error>) in
            ioQueue.async { c.resume(with: Result { try Recovery.run(configuration, logger: logger) }) }
        }
        return Journal(configuration, recovered: recovered, ioQueue: ioQueue, logger: logger, clock: clock)
    }

    private init(
        _ configuration: JournalConfiguration, recovered: RecoveredJournal, ioQueue: DispatchQueue, logger: Logger,
        clock: @escaping @Sendable () -> Int64
    ) {
        self.configuration = configuration
        self.recoveryReport = recovered.report
        self.logger = logger
        self.layout = JournalLayout(directory: configuration.directory)
        self.clock = clock
        self.ioQueue = ioQueue
        let (seconds, attoseconds) = configuration.fsyncInterval.components
        self.intervalNanos = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        self.state = Mutex(State(recovered))
    }

    /// Flushes what was written, fails waiting appends and waiters with `SpoolError.closed`, and releases the
    /// directory. Later calls throw `SpoolError.closed`. Safe to call twice.
    public func close() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            ioQueue.async {
                self.closeNow()
                c.resume()
            }
        }
    }

    deinit {
        let fd = state.withLock { s in s.closed ? -1 : s.lockFD }
        if fd >= 0 { POSIX.close(fd) }
    }

    // MARK: Spool

    /// Appends `payloads` as consecutive records and returns their sequence numbers once they are durable
    /// under the fsync policy. Concurrent appends are written in the order they reach the I/O thread, each
    /// batch with one `write`.
    ///
    /// Throws `SpoolError.recordTooLarge` for a payload above `maxRecordBytes` (or a batch above `maxBytes`),
    /// `SpoolError.full` under `drop-newest`, `SpoolError.closed`, `SpoolError.io`. Under `block` it waits
    /// for space; cancelling the task while it waits throws `CancellationError` and writes nothing. An empty
    /// batch writes nothing and returns `n...n` with `n` = `lastSequence()`.
    public func append(_ payloads: [[UInt8]]) async throws -> ClosedRange<UInt64> {
        try await enqueue(payloads, waitForDurability: true)
    }

    /// Like `append`, but returns as soon as the records are written (in call order), before the fsync that
    /// makes them durable; `waitDurable(through:)` waits for that. Lets a caller keep writing while earlier
    /// records wait for their group fsync (a receiver pipelining batches, a datagram source).
    public func write(_ payloads: [[UInt8]]) async throws -> ClosedRange<UInt64> {
        try await enqueue(payloads, waitForDurability: false)
    }

    /// `write`, calling `beforeWrite` on the writer thread with the batch's sequence numbers right before its bytes
    /// go to the segment (so nothing the hook records can be older than the records). If the write then fails the
    /// call throws, and those numbers may be given to a later batch.
    public func write(_ payloads: [[UInt8]], beforeWrite: (@Sendable (ClosedRange<UInt64>) -> Void)?) async throws
        -> ClosedRange<UInt64>
    {
        try await enqueue(payloads, waitForDurability: false, beforeWrite: beforeWrite)
    }

    /// Returns once every record through `seq` is durable under the fsync policy (at once under `never`).
    public func waitDurable(through seq: UInt64) async throws {
        let _: ClosedRange<UInt64> = try await withCheckedThrowingContinuation { c in
            let ready: Result<Bool, any Error> = state.withLock { s in
                if s.visibleSeq >= seq { return .success(true) }
                if s.closed { return .failure(SpoolError.closed) }
                // Keep syncWaiters ordered by sequence number: syncNow resumes a prefix.
                let i = s.syncWaiters.firstIndex { $0.range.upperBound > seq } ?? s.syncWaiters.endIndex
                s.syncWaiters.insert(SyncWaiter(range: seq...seq, continuation: c), at: i)
                return .success(false)
            }
            switch ready {
            case .success(true): c.resume(returning: seq...seq)
            case .success(false): ioQueue.async { self.scheduleSync() }
            case .failure(let e): c.resume(throwing: e)
            }
        }
    }

    private func enqueue(
        _ payloads: [[UInt8]], waitForDurability: Bool, beforeWrite: (@Sendable (ClosedRange<UInt64>) -> Void)? = nil
    ) async throws -> ClosedRange<UInt64> {
        if let big = payloads.first(where: { $0.count > configuration.maxRecordBytes }) {
            throw SpoolError.recordTooLarge(big.count)
        }
        let size = RecordHeader.batchSize(payloads)
        if size > configuration.maxBytes { throw SpoolError.recordTooLarge(size) }
        let id: UInt64 = try state.withLock { s in
            if s.closed { throw SpoolError.closed }
            s.nextID += 1
            s.appendCancelled[s.nextID] = false
            return s.nextID
        }
        if payloads.isEmpty {
            return state.withLock { s in
                s.appendCancelled[id] = nil
                return s.visibleSeq...s.visibleSeq
            }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<ClosedRange<UInt64>, any Error>) in
                ioQueue.async {
                    self.submit(
                        PendingAppend(
                            id: id, payloads: payloads, waitForDurability: waitForDurability, beforeWrite: beforeWrite,
                            continuation: c)
                    )
                }
            }
        } onCancel: {
            self.cancelAppend(id)
        }
    }

    /// Records with sequence > `after`, oldest first: at most `maxRecords`, and no more payload bytes than
    /// `maxBytes` unless the first record alone is larger. Only durable, CRC-verified records; damaged bytes
    /// are skipped (and counted in `stat().damagedRegionsSkipped`).
    ///
    /// Sequential readers are cheap: where each read ended is remembered (a small cache keyed by the last
    /// sequence returned), so the next `read(after:)` continues there instead of scanning the segment again.
    public func read(after: UInt64, maxRecords: Int, maxBytes: Int) async throws -> [SpoolRecord] {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<[SpoolRecord], any Error>) in
            readQueue.async {
                c.resume(with: Result { try self.readNow(after: after, maxRecords: maxRecords, maxBytes: maxBytes) })
            }
        }
    }

    /// Returns once a record with sequence > `after` is visible to `read`. Throws `CancellationError` when the
    /// task is cancelled while waiting, `SpoolError.closed` when the journal closes.
    public func waitForRecords(after: UInt64) async throws {
        let id: UInt64 = try state.withLock { s in
            if s.closed { throw SpoolError.closed }
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = state.withLock { s in
                    if s.closed { return .failure(SpoolError.closed) }
                    if s.visibleSeq > after { return .success(()) }
                    // Checked under the lock the cancel handler takes too: it either ran before (flag set) or
                    // runs after the waiter is registered and finds it.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.recordWaiters[id] = RecordWaiter(after: after, continuation: c)
                    return nil
                }
                if let immediate { c.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = self.state.withLock { s in s.recordWaiters.removeValue(forKey: id) }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// The cursor named `name`; a new one starts just before the oldest retained record (so the destination
    /// gets everything retained) and is made durable before this returns.
    public func openCursor(_ name: String) async throws -> SpoolCursor {
        try await onIOQueue {
            let (existing, start): (SpoolCursor?, UInt64) = try self.state.withLock { s in
                if s.closed { throw SpoolError.closed }
                return (s.cursors[name], (s.segments.entries.first?.firstSeq ?? s.nextSeq) - 1)
            }
            if let existing { return existing }
            let cursor = SpoolCursor(name: name, seq: start, state: [])
            try self.layout.writeCursor(cursor)
            self.state.withLock { s in s.cursors[name] = cursor }
            self.logger.info("journal cursor created", metadata: ["cursor": "\(name)", "seq": "\(start)"])
            return cursor
        }
    }

    /// Makes the cursor durable at `seq` with `state`, then deletes every segment all cursors have passed.
    /// A name not seen before is registered. `seq` above the last visible record is lowered to it (a
    /// destination cannot have delivered what it could not read).
    public func commit(cursor name: String, through seq: UInt64, state cursorState: [UInt8]) async throws {
        try await onIOQueue {
            let visible: UInt64 = try self.state.withLock { s in
                if s.closed { throw SpoolError.closed }
                return s.visibleSeq
            }
            if seq > visible {
                self.logger.warning(
                    "journal cursor committed past the last record; lowered",
                    metadata: ["cursor": "\(name)", "seq": "\(seq)", "last": "\(visible)"])
            }
            let cursor = SpoolCursor(name: name, seq: min(seq, visible), state: cursorState)
            try self.layout.writeCursor(cursor)
            self.state.withLock { s in s.cursors[name] = cursor }
            self.reclaimAndDrain()
        }
    }

    /// The highest sequence number readers can see (durable under the fsync policy); 0 when nothing was ever
    /// appended. Appends still waiting for their fsync are not counted (see `stat().lastWrittenSequence`).
    public func lastSequence() async -> UInt64 {
        state.withLock { $0.visibleSeq }
    }

    // MARK: Beyond Spool

    /// Unregisters a destination that left the configuration: deletes its cursor file, so it no longer holds
    /// segments back. Unknown names are ignored.
    public func removeCursor(_ name: String) async throws {
        try await onIOQueue {
            let known: Bool = try self.state.withLock { s in
                if s.closed { throw SpoolError.closed }
                return s.cursors[name] != nil
            }
            guard known else { return }
            try POSIX.unlink(self.layout.cursorPath(name))
            try POSIX.syncDirectory(self.layout.cursorsDirectory)
            self.state.withLock { s in _ = s.cursors.removeValue(forKey: name) }
            self.logger.info("journal cursor removed", metadata: ["cursor": "\(name)"])
            self.reclaimAndDrain()
        }
    }

    /// Sizes, sequence range, cursors and their lag, counters. In memory only: cheap, never blocks on I/O.
    /// How many `waitForRecords` calls are waiting now (tests wait for a waiter to be registered before they
    /// append, so they prove the append wakes it rather than that it returned at once).
    var recordWaiterCount: Int { state.withLock { $0.recordWaiters.count } }

    public func stat() -> JournalStat {
        state.withLock { s in
            JournalStat(
                directory: configuration.directory,
                bytes: s.segments.totalBytes,
                maxBytes: configuration.maxBytes,
                segments: s.segments.count,
                firstSequence: s.segments.entries.first?.firstSeq,
                lastSequence: s.visibleSeq,
                lastWrittenSequence: s.writtenSeq,
                cursors: s.cursors.values.sorted { $0.name < $1.name }.map {
                    JournalStat.Cursor(
                        name: $0.name, seq: $0.seq, lag: s.visibleSeq > $0.seq ? s.visibleSeq - $0.seq : 0)
                },
                appendedRecords: s.counters.appended,
                droppedOldestRecords: s.counters.droppedOldest,
                rejectedNewestRecords: s.counters.rejectedNewest,
                blockedAppends: s.blocked.count,
                damagedRegionsSkipped: s.damageSeen.count,
                fsyncs: s.counters.fsyncs)
        }
    }

    /// Reads every retained record and checks its CRC and that sequence numbers only grow; reports damage and
    /// gaps. Reads all segments (on the read thread): seconds for gigabytes.
    public func verify() async throws -> VerifyReport {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<VerifyReport, any Error>) in
            readQueue.async { c.resume(with: Result { try self.verifyNow() }) }
        }
    }

    // MARK: Appending (ioQueue)

    /// ioQueue. Runs a new append, or queues it behind appends already waiting for space, so appends keep
    /// their order.
    private func submit(_ request: PendingAppend) {
        enum Decision {
            case run, queued
            case fail(any Error)
        }
        let decision: Decision = state.withLock { s in
            if s.closed {
                s.appendCancelled[request.id] = nil
                return .fail(SpoolError.closed)
            }
            if s.blocked.isEmpty { return .run }
            if s.appendCancelled[request.id] == true {
                s.appendCancelled[request.id] = nil
                return .fail(CancellationError())
            }
            s.blocked.append(request)
            return .queued
        }
        switch decision {
        case .run: run(request)
        case .queued: break
        case .fail(let error): request.continuation.resume(throwing: error)
        }
    }

    /// ioQueue. Writes `request` if there is room; otherwise parks it at the head of the blocked queue.
    /// Returns false when it parked.
    @discardableResult
    private func run(_ request: PendingAppend) -> Bool {
        let range: ClosedRange<UInt64>
        do {
            guard let written = try writeIfRoom(request.payloads, beforeWrite: request.beforeWrite) else {
                let failure: (any Error)? = state.withLock { s in
                    if s.closed || s.appendCancelled[request.id] == true {
                        s.appendCancelled[request.id] = nil
                        return s.closed ? SpoolError.closed : CancellationError()
                    }
                    s.blocked.insert(request, at: 0)
                    return nil
                }
                if let failure {
                    request.continuation.resume(throwing: failure)
                    return true
                }
                return false
            }
            range = written
        } catch {
            state.withLock { s in s.appendCancelled[request.id] = nil }
            request.continuation.resume(throwing: error)
            return true
        }
        switch configuration.fsync {
        case .never:
            let wake = state.withLock { s in
                s.appendCancelled[request.id] = nil
                return s.publish(through: range.upperBound)
            }
            request.continuation.resume(returning: range)
            for w in wake { w.resume() }
        case .always, .interval:
            state.withLock { s in
                s.appendCancelled[request.id] = nil
                if request.waitForDurability {
                    let i =
                        s.syncWaiters.firstIndex { $0.range.upperBound > range.upperBound } ?? s.syncWaiters.endIndex
                    s.syncWaiters.insert(SyncWaiter(range: range, continuation: request.continuation), at: i)
                }
            }
            if !request.waitForDurability { request.continuation.resume(returning: range) }
            scheduleSync()
        }
        return true
    }

    /// ioQueue. Runs parked appends in order while there is room.
    private func drainBlocked() {
        while let next = state.withLock({ s in s.blocked.isEmpty ? nil : s.blocked.removeFirst() }) {
            if !run(next) { return }
        }
    }

    /// Any thread (the cancellation handler). A parked append is failed at once; one the I/O thread is
    /// working on is marked, so it fails if it has to park, and completes normally if it gets written.
    private func cancelAppend(_ id: UInt64) {
        let parked: PendingAppend? = state.withLock { s in
            if let i = s.blocked.firstIndex(where: { $0.id == id }) {
                s.appendCancelled[id] = nil
                return s.blocked.remove(at: i)
            }
            if s.appendCancelled[id] != nil { s.appendCancelled[id] = true }
            return nil
        }
        guard let parked else { return }
        parked.continuation.resume(throwing: CancellationError())
        // Appends parked behind it may fit now.
        ioQueue.async { self.drainBlocked() }
    }

    /// ioQueue. Makes room for the batch (per `whenFull`) and writes it; nil when it must wait for room.
    private func writeIfRoom(
        _ payloads: [[UInt8]], beforeWrite: (@Sendable (ClosedRange<UInt64>) -> Void)? = nil
    ) throws -> ClosedRange<UInt64>? {
        let size = RecordHeader.batchSize(payloads)
        guard try makeRoom(for: size, records: payloads.count) else { return nil }

        let (first, active) = state.withLock { s in (s.nextSeq, s.segments.active) }
        let target: SegmentEntry
        if let active, active.size == 0 || active.size + size <= configuration.segmentBytes {
            target = active
        } else {
            target = try startSegment(firstSeq: first, finishing: active)
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(size)
        RecordHeader.encode(payloads, firstSeq: first, timeNanos: clock(), into: &buffer)
        guard let fd = try target.file.fd() else {
            throw SpoolError.io(operation: "write", path: target.file.path, message: "segment file vanished")
        }
        beforeWrite?(first...(first + UInt64(payloads.count) - 1))
        do {
            try buffer.withUnsafeBytes { try POSIX.pwriteAll(fd, $0, at: target.size, path: target.file.path) }
        } catch {
            // Leave no partial records behind for readers (recovery would cut them anyway).
            try? POSIX.truncate(fd, to: target.size, path: target.file.path)
            throw error
        }
        let last = first + UInt64(payloads.count) - 1
        state.withLock { s in
            s.segments.appended(bytes: size, records: payloads.count, lastSeq: last)
            s.nextSeq = last + 1
            s.writtenSeq = last
            s.counters.appended += UInt64(payloads.count)
        }
        return first...last
    }

    /// ioQueue. fsyncs the finished segment (so only the newest segment can ever have a torn tail, whatever
    /// the fsync policy), then creates the next one.
    private func startSegment(firstSeq: UInt64, finishing previous: SegmentEntry?) throws -> SegmentEntry {
        if let previous, let fd = try previous.file.fd() {
            try POSIX.dataSync(fd, path: previous.file.path)
            state.withLock { s in s.counters.fsyncs += 1 }
        }
        let file = try SegmentFile.create(firstSeq: firstSeq, directory: layout.directory)
        state.withLock { s in s.segments.startSegment(file) }
        logger.debug("journal segment started", metadata: ["segment": "\(file.name)"])
        return SegmentEntry(file: file, size: 0, lastSeq: nil, records: 0)
    }

    /// ioQueue. True when `size` more bytes fit under `maxBytes`, after deleting what every cursor passed and,
    /// per `whenFull`, dropping the oldest segments. False: the caller must wait (`block`).
    private func makeRoom(for size: Int, records: Int) throws -> Bool {
        while true {
            if state.withLock({ $0.segments.totalBytes }) + size <= configuration.maxBytes { return true }
            if try reclaim(includeActive: true) { continue }
            switch configuration.whenFull {
            case .block:
                return false
            case .dropNewest:
                state.withLock { s in s.counters.rejectedNewest += UInt64(records) }
                throw SpoolError.full
            case .dropOldest:
                if try !dropOldestSegment() { return true }
            }
        }
    }

    /// ioQueue. Deletes the leading segments every cursor has passed; true when it deleted any. The active
    /// segment goes too only with `includeActive` (under space pressure): otherwise a destination that keeps
    /// up would make every batch create and delete a file.
    @discardableResult
    private func reclaim(includeActive: Bool) throws -> Bool {
        let victims: [SegmentEntry] = state.withLock { s in
            guard let minSeq = s.cursors.values.lazy.map(\.seq).min() else { return [] }
            return Array(
                s.segments.entries.prefix(s.segments.deletablePrefix(through: minSeq, includeActive: includeActive)))
        }
        guard !victims.isEmpty else { return false }
        try delete(victims)
        return true
    }

    /// ioQueue. `when_full: drop-oldest`: deletes the oldest segment whatever the cursors say, counts its
    /// records as dropped and moves cursors behind it forward. False when there is nothing to drop.
    private func dropOldestSegment() throws -> Bool {
        let oldest: (SegmentEntry, Int, UInt64?)? = state.withLock { s in
            guard let first = s.segments.entries.first else { return nil }
            return (first, s.segments.recordCount(at: 0), s.segments.lastSeq(at: 0))
        }
        guard let (victim, records, lastSeq) = oldest else { return false }
        try delete([victim])
        state.withLock { s in
            s.counters.droppedOldest += UInt64(records)
            if let lastSeq {
                for (name, cursor) in s.cursors where cursor.seq < lastSeq { s.cursors[name]?.seq = lastSeq }
            }
        }
        logger.warning(
            "journal full: dropped the oldest segment before every destination delivered it",
            metadata: ["segment": "\(victim.file.name)", "records": "\(records)"])
        return true
    }

    /// ioQueue. `meta` first (so sequence numbers survive the segments), then out of the index (new readers
    /// skip them; readers holding them finish through their descriptor), then unlink and fsync the directory.
    private func delete(_ victims: [SegmentEntry]) throws {
        let nextSeq = state.withLock { $0.nextSeq }
        try layout.writeMeta(nextSeq: nextSeq)
        state.withLock { s in
            for victim in victims {
                precondition(s.segments.entries.first?.firstSeq == victim.firstSeq, "segments are deleted oldest first")
                s.segments.removeFirst(1)
                s.positions.forget(segment: victim.firstSeq)
            }
        }
        for victim in victims { try POSIX.unlink(victim.file.path) }
        try POSIX.syncDirectory(layout.directory)
        logger.debug("journal segments deleted", metadata: ["segments": "\(victims.map(\.file.name))"])
    }

    /// ioQueue. After a cursor moved or went away: delete what is no longer needed, then let parked appends
    /// run. A failed deletion is logged, not thrown: the cursor change itself is durable.
    private func reclaimAndDrain() {
        do {
            try reclaim(includeActive: false)
        } catch {
            logger.error("journal could not delete delivered segments", metadata: ["error": "\(error)"])
        }
        drainBlocked()
    }

    // MARK: Durability (ioQueue)

    /// Schedules the group fsync: at once under `always`; under `interval` at once when the last one started
    /// at least `fsyncInterval` ago, else when that much time has passed (so at most one per interval).
    private func scheduleSync() {
        let delay: UInt64? = state.withLock { s in
            if s.syncScheduled { return nil }
            s.syncScheduled = true
            guard configuration.fsync == .interval else { return 0 }
            let now = DispatchTime.now().uptimeNanoseconds
            let due = s.lastSyncStart &+ intervalNanos
            return s.lastSyncStart == 0 || due <= now ? 0 : due - now
        }
        guard let delay else { return }
        if delay == 0 {
            ioQueue.async { self.syncNow() }
        } else {
            ioQueue.asyncAfter(deadline: .now() + .nanoseconds(Int(delay))) { self.syncNow() }
        }
    }

    /// ioQueue. One fsync for everything written so far; then those records become visible and their
    /// appenders return. Older segments were fsynced when they were finished, so only the active one needs it.
    private func syncNow() {
        let job: (UInt64, SegmentFile?)? = state.withLock { s in
            s.syncScheduled = false
            guard !s.closed, s.writtenSeq > s.visibleSeq else { return nil }
            s.lastSyncStart = DispatchTime.now().uptimeNanoseconds
            return (s.writtenSeq, s.segments.active?.file)
        }
        guard let (target, file) = job else { return }
        var failure: (any Error)?
        if let file {
            do {
                if let fd = try file.fd() { try POSIX.dataSync(fd, path: file.path) }
            } catch {
                failure = error
            }
        }
        let (done, wake) = state.withLock { s in
            if failure == nil { s.counters.fsyncs += 1 }
            let wake = failure == nil ? s.publish(through: target) : []
            let done = s.syncWaiters.prefix { $0.range.upperBound <= target }
            s.syncWaiters.removeFirst(done.count)
            return (Array(done), wake)
        }
        if let failure {
            // The records stay written but invisible; a later successful fsync publishes them (their appenders
            // got this error, so a source may send them again: duplicates, never loss).
            logger.error("journal fsync failed", metadata: ["error": "\(failure)"])
            for w in done { w.continuation.resume(throwing: failure) }
        } else {
            for w in done { w.continuation.resume(returning: w.range) }
        }
        for w in wake { w.resume() }
        // Records written after this fsync started wait for the next one.
        if state.withLock({ !$0.syncWaiters.isEmpty }) { scheduleSync() }
    }

    /// ioQueue.
    private func closeNow() {
        let job: (SegmentFile?, UInt64, UInt64)? = state.withLock { s in
            guard !s.closed else { return nil }
            return (s.segments.active?.file, s.writtenSeq, s.nextSeq)
        }
        guard let (file, written, nextSeq) = job else { return }
        var syncFailure: (any Error)?
        if let file {
            do {
                if let fd = try file.fd() { try POSIX.dataSync(fd, path: file.path) }
            } catch {
                syncFailure = error
                logger.error("journal fsync at close failed", metadata: ["error": "\(error)"])
            }
        }
        do {
            try layout.writeMeta(nextSeq: nextSeq)
        } catch {
            logger.error("journal could not write meta at close", metadata: ["error": "\(error)"])
        }
        let (syncWaiters, recordWaiters, blocked, lockFD) = state.withLock { s in
            s.closed = true
            if syncFailure == nil { _ = s.publish(through: written) }
            let taken = (s.syncWaiters, Array(s.recordWaiters.values), s.blocked, s.lockFD)
            s.syncWaiters = []
            s.recordWaiters = [:]
            s.blocked = []
            s.appendCancelled = [:]
            // Descriptors close as soon as no reader holds their segment any more.
            s.segments = SegmentIndex()
            s.positions = PositionCache()
            return taken
        }
        for w in syncWaiters {
            if let syncFailure {
                w.continuation.resume(throwing: syncFailure)
            } else {
                w.continuation.resume(returning: w.range)
            }
        }
        for w in recordWaiters { w.continuation.resume(throwing: SpoolError.closed) }
        for b in blocked { b.continuation.resume(throwing: SpoolError.closed) }
        POSIX.close(lockFD)
        logger.info("journal closed", metadata: ["next_seq": "\(nextSeq)"])
    }

    // MARK: Reading (readQueue)

    private func readNow(after: UInt64, maxRecords: Int, maxBytes: Int) throws -> [SpoolRecord] {
        let (entries, visible, cached) = try state.withLock { s in
            if s.closed { throw SpoolError.closed }
            return (s.segments.entries, s.visibleSeq, s.positions.lookup(after: after))
        }
        guard maxRecords > 0, visible > after, !entries.isEmpty else { return [] }

        var index: Int
        var offset = 0
        if let cached, let i = SegmentIndex.index(in: entries, ofFirstSeq: cached.segment) {
            index = i
            offset = cached.offset
        } else {
            index = SegmentIndex.index(in: entries, forSeq: after + 1) ?? 0
        }

        var out: [SpoolRecord] = []
        var bytes = 0
        var stop: PositionCache.Position?
        // Read ahead about what the caller asked for: a small read should not pull a large chunk.
        let chunkSize = max(16 << 10, min(256 << 10, maxBytes))
        segments: while index < entries.count {
            let entry = entries[index]
            // nil: unlinked since the snapshot, and no descriptor was open for it; its records are gone.
            if let fd = try entry.file.fd() {
                var scanner = RecordScanner(
                    fd: fd, path: entry.file.path, from: offset, to: entry.size, chunkSize: chunkSize)
                records: while true {
                    switch try scanner.next() {
                    case .end:
                        break records
                    case .damaged(let at, let length):
                        noteDamage(entry.file, offset: at, length: length)
                    case .record(let header, let at):
                        if header.seq <= after { continue }
                        if header.seq > visible || (!out.isEmpty && bytes + Int(header.length) > maxBytes) {
                            stop = .init(segment: entry.firstSeq, offset: at)
                            break segments
                        }
                        out.append(
                            SpoolRecord(seq: header.seq, timeNanos: header.timeNanos, payload: scanner.payload()))
                        bytes += Int(header.length)
                        if out.count >= maxRecords {
                            stop = .init(segment: entry.firstSeq, offset: scanner.offset)
                            break segments
                        }
                    }
                }
            }
            stop = .init(segment: entry.firstSeq, offset: entry.size)
            index += 1
            offset = 0
        }
        if let stop {
            let key = out.last?.seq ?? after
            state.withLock { s in s.positions.store(after: key, stop) }
        }
        return out
    }

    /// readQueue. Counts and logs each damaged region once per open.
    private func noteDamage(_ file: SegmentFile, offset: Int, length: Int) {
        let first = state.withLock { s in
            s.damageSeen.insert(DamageKey(segment: file.firstSeq, offset: offset)).inserted
        }
        if first {
            logger.error(
                "journal segment damaged; skipping to the next intact record",
                metadata: ["segment": "\(file.name)", "offset": "\(offset)", "bytes": "\(length)"])
        }
    }

    private func verifyNow() throws -> VerifyReport {
        let entries = try state.withLock { s in
            if s.closed { throw SpoolError.closed }
            return s.segments.entries
        }
        var report = VerifyReport(
            segments: entries.count, records: 0, bytes: 0, firstSequence: nil, lastSequence: nil, damagedRegions: [],
            gaps: [], outOfOrder: 0)
        var previous: UInt64?
        for entry in entries {
            guard let fd = try entry.file.fd() else { continue }
            report.bytes += entry.size
            var scanner = RecordScanner(fd: fd, path: entry.file.path, from: 0, to: entry.size)
            scan: while true {
                switch try scanner.next() {
                case .end:
                    break scan
                case .damaged(let offset, let length):
                    report.damagedRegions.append(
                        DamagedRegion(segment: entry.file.name, offset: offset, length: length, truncated: false))
                case .record(let header, _):
                    report.records += 1
                    if report.firstSequence == nil { report.firstSequence = header.seq }
                    if let previous, header.seq <= previous {
                        report.outOfOrder += 1
                        continue
                    }
                    if let previous, header.seq != previous + 1 {
                        report.gaps.append(.init(after: previous, next: header.seq))
                    }
                    previous = header.seq
                    report.lastSequence = header.seq
                }
            }
        }
        return report
    }

    // MARK: Helpers

    private func onIOQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            ioQueue.async { c.resume(with: Result { try body() }) }
        }
    }
}

// MARK: - State

/// An append on its way through the I/O thread.
private struct PendingAppend: Sendable {
    let id: UInt64
    let payloads: [[UInt8]]
    /// `append` waits for the fsync; `write` returns once written.
    let waitForDurability: Bool
    let beforeWrite: (@Sendable (ClosedRange<UInt64>) -> Void)?
    let continuation: CheckedContinuation<ClosedRange<UInt64>, any Error>
}

/// An append that is written and waits for the fsync that covers it.
private struct SyncWaiter: Sendable {
    let range: ClosedRange<UInt64>
    let continuation: CheckedContinuation<ClosedRange<UInt64>, any Error>
}

private struct RecordWaiter: Sendable {
    let after: UInt64
    let continuation: CheckedContinuation<Void, any Error>
}

private struct DamageKey: Hashable, Sendable {
    let segment: UInt64
    let offset: Int
}

private struct Counters: Sendable {
    var appended: UInt64 = 0
    var droppedOldest: UInt64 = 0
    var rejectedNewest: UInt64 = 0
    var fsyncs: UInt64 = 0
}

/// Everything the threads share, behind `Journal.state`.
private struct State: Sendable {
    var closed = false
    var segments: SegmentIndex
    var nextSeq: UInt64
    /// Highest sequence number written to a segment.
    var writtenSeq: UInt64
    /// Highest sequence number readers may see: durable under the fsync policy.
    var visibleSeq: UInt64
    var cursors: [String: SpoolCursor]
    /// Holds the `lock` file until close.
    let lockFD: Int32
    var syncScheduled = false
    /// `DispatchTime` uptime of the last fsync's start; 0 before the first.
    var lastSyncStart: UInt64 = 0
    /// Ordered by sequence number (appends are written in order).
    var syncWaiters: [SyncWaiter] = []
    var recordWaiters: [UInt64: RecordWaiter] = [:]
    /// Appends between `append()` and written: id -> cancelled.
    var appendCancelled: [UInt64: Bool] = [:]
    /// Appends waiting for space (`when_full: block`), in order.
    var blocked: [PendingAppend] = []
    var nextID: UInt64 = 0
    var positions = PositionCache()
    var counters = Counters()
    var damageSeen: Set<DamageKey> = []

    init(_ recovered: RecoveredJournal) {
        segments = recovered.segments
        nextSeq = recovered.nextSeq
        // Recovery fsynced what it kept: all of it is durable.
        writtenSeq = recovered.nextSeq - 1
        visibleSeq = recovered.nextSeq - 1
        cursors = recovered.cursors
        lockFD = recovered.lockFD
    }

    /// Makes records through `seq` visible; returns the waiters to resume (outside the lock).
    mutating func publish(through seq: UInt64) -> [CheckedContinuation<Void, any Error>] {
        guard seq > visibleSeq else { return [] }
        visibleSeq = seq
        var ready: [CheckedContinuation<Void, any Error>] = []
        for (id, waiter) in recordWaiters where waiter.after < seq {
            ready.append(waiter.continuation)
            recordWaiters[id] = nil
        }
        return ready
    }
}

/// Where sequential readers stopped: "the records after `after` start at this segment offset". Keyed by
/// sequence number rather than by reader, so any reader that continues where one stopped hits it. Bounded;
/// the oldest entry goes first.
struct PositionCache: Sendable {
    struct Position: Sendable, Equatable {
        var segment: UInt64
        var offset: Int
    }

    private var positions: [UInt64: Position] = [:]
    private var order: [UInt64] = []
    let capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
    }

    func lookup(after: UInt64) -> Position? { positions[after] }

    mutating func store(after: UInt64, _ position: Position) {
        if positions.updateValue(position, forKey: after) == nil {
            order.append(after)
            if order.count > capacity { positions[order.removeFirst()] = nil }
        }
    }

    mutating func forget(segment: UInt64) {
        for (key, position) in positions where position.segment == segment { positions[key] = nil }
        order.removeAll { positions[$0] == nil }
    }
}
