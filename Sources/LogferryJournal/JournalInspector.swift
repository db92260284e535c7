// A read-only view of a journal directory, for `logferry journal stat|verify|dump` — usable while a running
// node holds the journal.
//
// What it never does: take the `lock`, write, truncate, rename or delete anything, or create a directory.
// Every file is opened O_RDONLY. Recovery (`Journal.open`) is the only code that repairs a journal.
//
// What it tolerates, because the node keeps working while it looks:
// - A segment deleted between listing and opening: it is skipped (`segmentsGone`); a segment already open
//   is read to the end through its descriptor.
// - A segment growing while it is read: it is read up to the size `fstat` gave when it was opened. Bytes at
//   the end that do not (yet) form a whole record are read again while the file keeps growing (a write in
//   progress); only bytes that stay unreadable after a few short pauses are reported, as a torn tail.
// - Records written but not yet fsynced are seen (the inspector cannot know the fsync policy's frontier).
// - Cursor files replaced atomically while read: the old or the new one is read, never a mix.
//
// Blocking: it does plain blocking I/O on the calling thread. It is meant for the command-line tools; inside
// a node use `Journal.stat()`/`verify()`.

import LogferryCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a journal directory without opening it as a `Journal`: no lock, no writes. See the file header.
public struct JournalInspector: Sendable {
    public enum Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        /// The directory does not exist or is not a directory.
        case noJournal(path: String)

        public var description: String {
            switch self {
            case .noJournal(let path):
                return "no journal at \(path): expected the directory a node creates under its data_dir"
            }
        }
    }

    /// The journal directory (normally `<data_dir>/journal`).
    public let directory: String
    /// How long to wait for a growing segment's tail to become a whole record before calling it torn.
    public var tailSettleAttempts: Int
    public var tailSettlePause: Duration

    private var layout: JournalLayout { JournalLayout(directory: directory) }

    public init(directory: String, tailSettleAttempts: Int = 5, tailSettlePause: Duration = .milliseconds(20)) {
        self.directory = directory
        self.tailSettleAttempts = tailSettleAttempts
        self.tailSettlePause = tailSettlePause
    }

    // MARK: stat

    /// Sizes, sequence range, cursors with their lag, damage kept aside. Reads the newest segment (to find the
    /// last record) and, per cursor, the one segment where its lag starts; not the whole journal.
    public func inspect() throws -> JournalInspection {
        try checkDirectory()
        let segments = try listSegments()
        var result = JournalInspection(directory: directory)
        result.segments = segments.map {
            JournalInspection.Segment(name: $0.name, firstSequence: $0.firstSeq, bytes: $0.size)
        }
        result.bytes = segments.reduce(0) { $0 + $1.size }
        result.firstSequence = segments.first?.firstSeq

        if let bytes = try POSIX.readFile(layout.metaPath) {
            if let next = CursorStore.decodeMeta(bytes) {
                result.metaNextSequence = next
            } else {
                result.metaDamaged = true
            }
        }
        let (cursors, corrupt) = try readCursors()
        result.corruptCursorFiles = corrupt

        // The last record: the newest segment that still holds one (the newest may be empty or all torn).
        var last: UInt64?
        for segment in segments.reversed() {
            var highest: UInt64?
            _ = try walk(segment, isNewest: segment.firstSeq == segments.last?.firstSeq) { event in
                if case .record(let header, _, _) = event { highest = max(highest ?? 0, header.seq) }
                return true
            }
            if let highest {
                last = highest
                break
            }
        }
        result.lastSequence = last
        let cursorMax = cursors.map(\.seq).max() ?? 0
        result.nextSequence =
            max(last ?? 0, (segments.last?.firstSeq ?? 1) - 1, (result.metaNextSequence ?? 1) - 1, cursorMax) + 1

        for cursor in cursors {
            var entry = JournalInspection.Cursor(name: cursor.name, seq: cursor.seq, lagRecords: 0, lagBytes: 0)
            if let last, last > cursor.seq {
                entry.lagRecords = last - cursor.seq
                entry.lagBytes = try bytesAfter(cursor.seq, in: segments)
            }
            result.cursors.append(entry)
        }
        result.damagedFilesKept = try keptFiles()
        result.lockedByPID = lockHolder()
        return result
    }

    // MARK: verify

    /// Reads every record of every segment: checks each CRC and that sequence numbers grow by one. Damage
    /// inside a segment is reported with `truncated: false`; unreadable bytes at the end of a segment that
    /// stopped growing are reported with `truncated: true` (recovery cuts them at the next open).
    public func verify() throws -> VerifyReport {
        try checkDirectory()
        let segments = try listSegments()
        var report = VerifyReport(
            segments: segments.count, records: 0, bytes: 0, firstSequence: nil, lastSequence: nil, damagedRegions: [],
            gaps: [], outOfOrder: 0)
        var previous: UInt64?
        for segment in segments {
            let outcome = try walk(segment, isNewest: segment.firstSeq == segments.last?.firstSeq) { event in
                switch event {
                case .damaged(let region):
                    report.damagedRegions.append(region)
                case .record(let header, _, _):
                    report.records += 1
                    if report.firstSequence == nil { report.firstSequence = header.seq }
                    if let p = previous, header.seq <= p {
                        report.outOfOrder += 1
                        return true
                    }
                    if let p = previous, header.seq != p + 1 { report.gaps.append(.init(after: p, next: header.seq)) }
                    previous = header.seq
                    report.lastSequence = header.seq
                }
                return true
            }
            switch outcome {
            case .gone:
                // Deleted by the node since the listing (it deletes oldest first): what was read before it was
                // deleted too, so a jump to the next segment is not a gap in the journal.
                report.segmentsGone += 1
                previous = nil
            case .read(let bytes):
                report.bytes += bytes
            }
        }
        return report
    }

    // MARK: dump

    /// Calls `body` with every intact record whose sequence is >= `from`, in order, until it returns false.
    /// `onDamage` hears about damaged regions passed on the way. Segments deleted meanwhile are skipped.
    public func forEachRecord(
        from: UInt64 = 0, onDamage: (DamagedRegion) -> Void = { _ in },
        _ body: (SpoolRecord) throws -> Bool
    ) throws {
        try checkDirectory()
        let segments = try listSegments()
        // The last segment whose first sequence is <= from; the ones before it hold only lower numbers.
        let start = segments.lastIndex { $0.firstSeq <= from } ?? 0
        for (i, segment) in segments.enumerated() where i >= start {
            var stop = false
            _ = try walk(segment, isNewest: i == segments.count - 1) { event in
                switch event {
                case .damaged(let region):
                    onDamage(region)
                    return true
                case .record(let header, _, let payload):
                    guard header.seq >= from else { return true }
                    let go = try body(SpoolRecord(seq: header.seq, timeNanos: header.timeNanos, payload: payload()))
                    stop = !go
                    return go
                }
            }
            if stop { return }
        }
    }

    // MARK: Walking segments

    struct ListedSegment {
        var firstSeq: UInt64
        var name: String
        var path: String
        var size: Int
    }

    enum WalkEvent {
        /// A verified record at `offset`; `payload()` copies its bytes (valid during the callback only).
        case record(RecordHeader, offset: Int, payload: () -> [UInt8])
        case damaged(DamagedRegion)
    }

    enum WalkOutcome {
        /// The segment no longer existed when it was to be opened.
        case gone
        /// Read; the bytes it held when finished.
        case read(bytes: Int)
    }

    /// Walks one segment from `offset` with the tail rules of the file header. `visit` returns false to stop.
    func walk(
        _ segment: ListedSegment, from offset: Int = 0, isNewest: Bool, _ visit: (WalkEvent) throws -> Bool
    ) throws -> WalkOutcome {
        guard let fd = try POSIX.openIfExists(segment.path, O_RDONLY) else { return .gone }
        defer { POSIX.close(fd) }
        var end = try POSIX.fileSize(fd, path: segment.path)
        var scanner = RecordScanner(fd: fd, path: segment.path, from: offset, to: end)
        while true {
            switch try scanner.next() {
            case .end:
                return .read(bytes: end)
            case .record(let header, let at):
                let s = scanner
                if try !visit(.record(header, offset: at, payload: { s.payload() })) { return .read(bytes: end) }
            case .damaged(let at, let length):
                if at + length < end {
                    let region = DamagedRegion(segment: segment.name, offset: at, length: length, truncated: false)
                    if try !visit(.damaged(region)) { return .read(bytes: end) }
                    continue
                }
                // Unreadable to the end of what we looked at: a write may be in progress. Look again while the
                // file grows; report only a tail that stays unreadable.
                var attempts = isNewest ? tailSettleAttempts : 0
                var grown = false
                while true {
                    let size = try POSIX.fileSize(fd, path: segment.path)
                    if size > end {
                        end = size
                        grown = true
                        break
                    }
                    if attempts == 0 { break }
                    attempts -= 1
                    nap(tailSettlePause)
                }
                if grown {
                    scanner = RecordScanner(fd: fd, path: segment.path, from: at, to: end)
                    continue
                }
                // `truncated`: recovery cuts a torn tail off the newest segment only.
                let region = DamagedRegion(segment: segment.name, offset: at, length: length, truncated: isNewest)
                _ = try visit(.damaged(region))
                return .read(bytes: end)
            }
        }
    }

    func listSegments() throws -> [ListedSegment] {
        var out: [ListedSegment] = []
        for name in try POSIX.listDirectory(directory) {
            guard let firstSeq = SegmentFile.firstSeq(fromFileName: name) else { continue }
            let path = directory + "/" + name
            var st = stat()
            // Gone between readdir and stat: deleted by the node; leave it out.
            guard stat(path, &st) == 0 else { continue }
            out.append(ListedSegment(firstSeq: firstSeq, name: name, path: path, size: Int(st.st_size)))
        }
        return out.sorted { $0.firstSeq < $1.firstSeq }
    }

    /// Bytes of records with sequence > `seq` in the listed segments (their sizes as listed).
    private func bytesAfter(_ seq: UInt64, in segments: [ListedSegment]) throws -> Int {
        var total = 0
        for (i, segment) in segments.enumerated() {
            let next = i + 1 < segments.count ? segments[i + 1].firstSeq : UInt64.max
            if segment.firstSeq > seq {
                total += segment.size
            } else if next > seq + 1 {
                // The lag starts inside this segment: find the first record above `seq`.
                var startOffset: Int?
                _ = try walk(segment, isNewest: false) { event in
                    if case .record(let header, let at, _) = event, header.seq > seq {
                        startOffset = at
                        return false
                    }
                    return true
                }
                if let startOffset { total += max(0, segment.size - startOffset) }
            }
        }
        return total
    }

    private func readCursors() throws -> (cursors: [SpoolCursor], corrupt: [String]) {
        guard isDirectory(layout.cursorsDirectory) else { return ([], []) }
        var cursors: [SpoolCursor] = []
        var corrupt: [String] = []
        for name in try POSIX.listDirectory(layout.cursorsDirectory).sorted() where name.hasSuffix(CursorStore.suffix) {
            // Removed since the listing (a destination left the configuration): nothing to report.
            guard let bytes = try POSIX.readFile(layout.cursorsDirectory + "/" + name) else { continue }
            if let cursor = CursorStore.decodeCursor(bytes) {
                cursors.append(cursor)
            } else {
                corrupt.append(name)
            }
        }
        return (cursors.sorted { $0.name < $1.name }, corrupt)
    }

    private func keptFiles() throws -> [JournalInspection.KeptFile] {
        guard isDirectory(layout.damagedDirectory) else { return [] }
        var out: [JournalInspection.KeptFile] = []
        for name in try POSIX.listDirectory(layout.damagedDirectory).sorted() {
            var st = stat()
            guard stat(layout.damagedDirectory + "/" + name, &st) == 0 else { continue }
            out.append(.init(name: name, bytes: Int(st.st_size)))
        }
        return out
    }

    /// The pid holding the journal's `lock` according to `/proc/locks` (Linux), or nil. Read-only: testing the
    /// lock with flock would take it for a moment, and a node starting in that moment would refuse to run.
    private func lockHolder() -> Int32? {
        var st = stat()
        guard stat(layout.lockPath, &st) == 0, let text = readProcFile("/proc/locks") else { return nil }
        let inode = String(st.st_ino)
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
            // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters carry "->" and are not holders.
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK",
                fields[5].split(separator: ":").last.map(String.init) == inode
            else { continue }
            return Int32(fields[4])
        }
        return nil
    }

    /// Reads a /proc file to its end (they report size 0, so `POSIX.readFile` would read nothing).
    private func readProcFile(_ path: String) -> [UInt8]? {
        guard let fd = try? POSIX.openIfExists(path, O_RDONLY) else { return nil }
        defer { POSIX.close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    private func checkDirectory() throws {
        guard isDirectory(directory) else { throw Error.noJournal(path: directory) }
    }

    private func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    private func nap(_ d: Duration) {
        let (seconds, attoseconds) = d.components
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&ts, &remaining) != 0 && errno == EINTR { ts = remaining }
    }
}

/// What `JournalInspector.inspect()` found: the data of `logferry journal stat`.
public struct JournalInspection: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        public var name: String
        public var firstSequence: UInt64
        public var bytes: Int
    }

    public struct Cursor: Sendable, Equatable {
        public var name: String
        /// Every record through this sequence number is delivered.
        public var seq: UInt64
        /// Records after the cursor up to the last record.
        public var lagRecords: UInt64
        /// Segment bytes (headers included) of those records.
        public var lagBytes: Int
    }

    /// A file in `damaged/`: bytes recovery set aside, or a cursor file that failed its CRC.
    public struct KeptFile: Sendable, Equatable {
        public var name: String
        public var bytes: Int
    }

    public var directory: String
    public var bytes = 0
    public var segments: [Segment] = []
    /// The first sequence number of the oldest segment (nil when none is retained).
    public var firstSequence: UInt64?
    /// The highest intact record (nil when none is retained).
    public var lastSequence: UInt64?
    /// The number the next appended record would get, as recovery would compute it.
    public var nextSequence: UInt64 = 1
    /// The `meta` file's lowest next sequence number, when it is readable.
    public var metaNextSequence: UInt64?
    public var metaDamaged = false
    public var cursors: [Cursor] = []
    /// Cursor files that fail their CRC (the next open moves them to `damaged/`).
    public var corruptCursorFiles: [String] = []
    public var damagedFilesKept: [KeptFile] = []
    /// The process holding the journal's lock (a running node), when one does.
    public var lockedByPID: Int32?

    public init(directory: String) {
        self.directory = directory
    }
}
