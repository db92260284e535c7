import LogferryCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One segment file: `seg-<first seq, 20 digits>.log`.
///
/// The descriptor is opened on first use (read-only) unless the segment was created or recovered for appends,
/// and closed when the last reference goes away — so a reader that still holds a segment keeps reading it
/// after the writer unlinked it.
final class SegmentFile: Sendable {
    let firstSeq: UInt64
    let path: String
    let name: String
    private let descriptor: Mutex<Int32>

    init(firstSeq: UInt64, directory: String, fd: Int32? = nil) {
        self.firstSeq = firstSeq
        self.name = Self.fileName(firstSeq: firstSeq)
        self.path = directory + "/" + name
        self.descriptor = Mutex(fd ?? -1)
    }

    /// Creates an empty segment file open for appends, and makes its directory entry durable.
    static func create(firstSeq: UInt64, directory: String) throws -> SegmentFile {
        let path = directory + "/" + fileName(firstSeq: firstSeq)
        let fd = try POSIX.open(path, O_RDWR | O_CREAT | O_TRUNC)
        let file = SegmentFile(firstSeq: firstSeq, directory: directory, fd: fd)
        try POSIX.syncDirectory(directory)
        return file
    }

    deinit {
        let fd = descriptor.withLock { $0 }
        if fd >= 0 { POSIX.close(fd) }
    }

    /// The open descriptor, or nil when the file no longer exists.
    func fd() throws -> Int32? {
        try descriptor.withLock { fd in
            if fd >= 0 { return fd }
            guard let opened = try POSIX.openIfExists(path, O_RDONLY) else { return nil }
            fd = opened
            return opened
        }
    }

    static func fileName(firstSeq: UInt64) -> String {
        let digits = String(firstSeq)
        return "seg-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// The first sequence number a segment file name carries, or nil for other names.
    static func firstSeq(fromFileName name: String) -> UInt64? {
        guard name.hasPrefix("seg-"), name.hasSuffix(".log") else { return nil }
        let digits = name.dropFirst(4).dropLast(4)
        guard digits.count == 20, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
        // Sequence numbers start at 1; a "seg-0…0.log" is not ours.
        guard let seq = UInt64(digits), seq > 0 else { return nil }
        return seq
    }
}

/// What the journal knows about one retained segment.
struct SegmentEntry: Sendable {
    var file: SegmentFile
    /// Bytes written (and, for the segment being appended to, the end of the last complete write).
    var size: Int
    /// Highest sequence number in the segment, when known (segments written or scanned in this run).
    var lastSeq: UInt64?
    /// Number of records, when known.
    var records: Int?

    var firstSeq: UInt64 { file.firstSeq }
}

/// The ordered list of retained segments: lookup by sequence number, size accounting, and which prefix may
/// be deleted. A value type with no I/O, so its rules are tested on their own.
///
/// Invariant: every record in `entries[i]` has `entries[i].firstSeq <= seq < entries[i + 1].firstSeq`.
struct SegmentIndex: Sendable {
    private(set) var entries: [SegmentEntry] = []
    /// Whether the last entry is open for appends.
    private(set) var hasActive = false
    private(set) var totalBytes = 0

    init(entries: [SegmentEntry] = [], hasActive: Bool = false) {
        self.entries = entries
        self.hasActive = hasActive && !entries.isEmpty
        self.totalBytes = entries.reduce(0) { $0 + $1.size }
    }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var active: SegmentEntry? { hasActive ? entries.last : nil }

    /// Index of the segment where a scan for records with sequence >= `seq` starts (binary search), or nil
    /// when there are no segments.
    func index(forSeq seq: UInt64) -> Int? { Self.index(in: entries, forSeq: seq) }

    /// `index(forSeq:)` over a snapshot of `entries`.
    static func index(in entries: [SegmentEntry], forSeq seq: UInt64) -> Int? {
        guard !entries.isEmpty else { return nil }
        var lo = 0
        var hi = entries.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if entries[mid].firstSeq <= seq { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Index of the segment named by `firstSeq` in a snapshot of `entries`, or nil when it is gone.
    static func index(in entries: [SegmentEntry], ofFirstSeq firstSeq: UInt64) -> Int? {
        guard let i = index(in: entries, forSeq: firstSeq), entries[i].firstSeq == firstSeq else { return nil }
        return i
    }

    /// Highest sequence number segment `i` can hold, or nil when it holds none (an empty active segment).
    func lastSeq(at i: Int) -> UInt64? {
        if let last = entries[i].lastSeq { return last }
        if i + 1 < entries.count { return entries[i + 1].firstSeq - 1 }
        return nil
    }

    /// Approximate record count of segment `i` (exact when known).
    func recordCount(at i: Int) -> Int {
        if let n = entries[i].records { return n }
        guard let last = lastSeq(at: i), last >= entries[i].firstSeq else { return 0 }
        return Int(last - entries[i].firstSeq + 1)
    }

    /// How many leading segments hold only records with sequence <= `seq`. The active segment counts only
    /// when `includeActive` (deleting it means the next append starts a new file).
    func deletablePrefix(through seq: UInt64, includeActive: Bool) -> Int {
        var n = 0
        while n < entries.count {
            if hasActive && n == entries.count - 1 && !includeActive { break }
            guard let last = lastSeq(at: n), last <= seq else { break }
            n += 1
        }
        return n
    }

    mutating func removeFirst(_ n: Int) {
        guard n > 0 else { return }
        for e in entries[0..<n] { totalBytes -= e.size }
        entries.removeFirst(n)
        if entries.isEmpty { hasActive = false }
    }

    /// Adds a new, empty segment and makes it the active one (the previous active one is finished).
    mutating func startSegment(_ file: SegmentFile) {
        precondition(entries.last.map { $0.firstSeq < file.firstSeq } ?? true, "segments must be created in order")
        entries.append(SegmentEntry(file: file, size: 0, lastSeq: nil, records: 0))
        hasActive = true
    }

    /// Records a write of `bytes` bytes holding `records` records through `lastSeq` to the active segment.
    mutating func appended(bytes: Int, records: Int, lastSeq: UInt64) {
        precondition(hasActive, "append without an active segment")
        entries[entries.count - 1].size += bytes
        entries[entries.count - 1].lastSeq = lastSeq
        entries[entries.count - 1].records = (entries[entries.count - 1].records ?? 0) + records
        totalBytes += bytes
    }
}
