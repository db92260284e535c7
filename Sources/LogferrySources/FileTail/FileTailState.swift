/// A hash of a file's first bytes (up to `maxLength`), which tells two files on the same device and inode apart:
/// after a file is deleted the kernel reuses its inode number, and resuming the new file at the old file's
/// offset would skip its first lines.
///
/// A file shorter than `maxLength` gets a fingerprint of what it has (`length` says how much); it grows with the
/// file: when a longer head still starts with the fingerprinted bytes, the fingerprint is re-taken over the longer
/// head. An empty file has the empty fingerprint, which matches every file (there is nothing to compare yet, and
/// its offset is 0, so nothing can be skipped). Two files whose first `length` bytes are equal are taken for the
/// same file; the longer the fingerprint, the less likely that is.
public struct FileTailFingerprint: Sendable, Hashable, CustomStringConvertible {
    public static let maxLength = 256
    /// How many leading bytes were hashed.
    public var length: Int
    /// FNV-1a 64 of those bytes.
    public var hash: UInt64

    public init(length: Int, hash: UInt64) {
        self.length = length
        self.hash = hash
    }

    /// The fingerprint of a file whose first bytes are `head` (only the first `maxLength` are used).
    public init(head: some Collection<UInt8>) {
        let used = head.prefix(Self.maxLength)
        self.length = used.count
        self.hash = Self.fnv1a(used)
    }

    public static let empty = FileTailFingerprint(length: 0, hash: fnv1a([UInt8]()))

    public var isComplete: Bool { length >= Self.maxLength }

    /// Whether a file whose first bytes are now `head` starts with the bytes this fingerprint was taken from.
    public func matches(head: some Collection<UInt8>) -> Bool {
        head.count >= length && Self.fnv1a(head.prefix(length)) == hash
    }

    static func fnv1a(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    public var description: String { "\(length):\(String(hash, radix: 16))" }
}

/// Which file this is: device and inode, as `stat` reports them. While the source holds a file open the inode
/// cannot be reused, so an open file needs nothing more; across a restart the fingerprint is compared too.
public struct FileTailID: Sendable, Hashable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
    public var description: String { "\(device):\(inode)" }
}

/// The rotation logic of the file source: which files to open and where, which were rotated or truncated, when an
/// old file is finished. A value type fed with what the filesystem looked like; it returns actions and does no
/// I/O, so every case is tested without files or clocks (time comes in as `now`, monotonic nanoseconds).
///
/// A pass of the source is: `scan` (the glob matches and `fstat` of every open file) -> actions; then reads, each
/// reported with `didRead` / `reachedEOF`, in the order `canRead` allows.
///
/// Rules:
/// - A file is tracked by device + inode while it is open; its path is only a label and follows renames inside
///   the include set (`app.log` -> `app.log.1` when both match keeps the same file, same offset).
/// - Rename rotation: when no matched path names an open file any more, it is `draining`: read to its end, then
///   closed once it has not grown for `rotatedLinger` (a writer may still append to it until it reopens). The
///   file that now has its path is its successor and is not read while the predecessor has unread bytes, so the
///   old file's lines come first.
/// - Deleted (link count 0): read to its end, then closed.
/// - Truncation (copytruncate, `> file`): the size fell below our offset, or the first bytes no longer match the
///   fingerprint (truncated and rewritten past our offset between two scans): report it and restart at 0.
/// - New file: resume at the checkpointed offset when device, inode and fingerprint match; otherwise start at 0,
///   or at the end when `startAt == .end` and this is the first scan of a source without a checkpoint.
public struct FileTailState: Sendable {
    public typealias Key = Int

    /// One file as the checkpoint records it: where delivery got to.
    public struct Checkpoint: Sendable, Equatable {
        public var path: String
        public var id: FileTailID
        public var fingerprint: FileTailFingerprint
        public var offset: Int64
        public init(path: String, id: FileTailID, fingerprint: FileTailFingerprint, offset: Int64) {
            self.path = path
            self.id = id
            self.fingerprint = fingerprint
            self.offset = offset
        }
    }

    /// A path the include globs matched (exclusions already removed), as `stat` saw it.
    public struct PathObservation: Sendable, Equatable {
        public var path: String
        public var id: FileTailID
        public var size: Int64
        /// The file's first min(size, 256) bytes. Needed only for files not open yet.
        public var head: [UInt8]
        public init(path: String, id: FileTailID, size: Int64, head: [UInt8] = []) {
            self.path = path
            self.id = id
            self.size = size
            self.head = head
        }
    }

    /// An open file as `fstat` on its descriptor saw it.
    public struct OpenObservation: Sendable, Equatable {
        public var key: Key
        public var size: Int64
        public var linkCount: Int
        /// The file's first min(size, 256) bytes.
        public var head: [UInt8]
        public init(key: Key, size: Int64, linkCount: Int, head: [UInt8]) {
            self.key = key
            self.size = size
            self.linkCount = linkCount
            self.head = head
        }
    }

    public enum Phase: Sendable, Equatable {
        /// A matched path names it.
        case following
        /// No matched path names it any more, but it still exists (rotated away).
        case renamed
        /// Unlinked.
        case deleted
    }

    public struct File: Sendable, Equatable {
        public var key: Key
        public var path: String
        public var id: FileTailID
        public var fingerprint: FileTailFingerprint
        /// Bytes consumed from the file (the next read starts here).
        public var offset: Int64
        /// Size at the last scan.
        public var size: Int64
        public var linkCount: Int
        public var phase: Phase
        /// The last read found no more bytes, and no scan since showed the file grown.
        public var atEOF: Bool
        /// The file that had this file's path before it (rotated away), while it is still open.
        public var predecessor: Key?
        /// Last time the file grew or was read, or was found rotated; a renamed file lingers from here.
        public var lastActivity: Int64
    }

    public enum Action: Sendable, Equatable {
        /// Start reading a file: the source opened `path` to look at it, keeps that descriptor under `key` and
        /// reads from `offset`. `resumed` when the offset came from the checkpoint.
        case open(key: Key, path: String, id: FileTailID, offset: Int64, resumed: Bool)
        /// The file shrank below what was read (or was rewritten from the start): flush the partial line,
        /// report that up to `missingBytes` bytes (nil: unknown) after `offset` may be lost, restart at 0.
        case truncated(key: Key, path: String, offset: Int64, missingBytes: Int64?)
        /// The file's path no longer names it (rotated or deleted): it is read to its end and then closed.
        case draining(key: Key, path: String, deleted: Bool)
        /// Done with the file: flush what is pending and close the descriptor.
        case close(key: Key, path: String)
    }

    public private(set) var files: [Key: File] = [:]
    /// Checkpoint entries not matched to a file yet; forgotten after the first scan (the file is gone, or was
    /// rotated to a name outside the include set while we were stopped).
    public private(set) var known: [Checkpoint]
    private var startAtEnd: Bool
    private var firstScan = true
    private var nextKey: Key = 1
    private let lingerNanos: Int64

    /// - Parameters:
    ///   - checkpoint: the entries of the checkpoint file, or nil when there is none (a source that never ran).
    public init(startAt: FileTailConfiguration.StartAt, checkpoint: [Checkpoint]?, rotatedLinger: Duration) {
        self.known = checkpoint ?? []
        self.startAtEnd = startAt == .end && checkpoint == nil
        let (s, atto) = rotatedLinger.components
        self.lingerNanos = s * 1_000_000_000 + atto / 1_000_000_000
    }

    /// Compares what the filesystem looks like now with what is tracked.
    /// - Parameters:
    ///   - paths: every matched path, sorted (the first path of a hard-linked file wins).
    ///   - open: `fstat` of every tracked file's descriptor (a file missing here keeps its last values).
    public mutating func scan(paths: [PathObservation], open: [OpenObservation], now: Int64) -> [Action] {
        var actions: [Action] = []

        // 1. Open files: growth, truncation, fingerprint growth.
        for o in open.sorted(by: { $0.key < $1.key }) {
            guard var f = files[o.key] else { continue }
            if o.size < f.offset || !f.fingerprint.matches(head: o.head) {
                let missing = f.size > f.offset ? f.size - f.offset : 0
                actions.append(.truncated(key: f.key, path: f.path, offset: f.offset, missingBytes: missing))
                f.offset = 0
                f.fingerprint = FileTailFingerprint(head: o.head)
                f.lastActivity = now
            } else if !f.fingerprint.isComplete && o.head.count > f.fingerprint.length {
                f.fingerprint = FileTailFingerprint(head: o.head)
            }
            if o.size > f.size { f.lastActivity = now }
            f.size = o.size
            f.linkCount = o.linkCount
            if f.size > f.offset { f.atEOF = false }
            files[o.key] = f
        }

        // 2. Which tracked file each matched path names now.
        var byID: [FileTailID: PathObservation] = [:]
        for p in paths where byID[p.id] == nil { byID[p.id] = p }
        var previousOwner: [String: Key] = [:]
        for f in files.values where f.phase == .following { previousOwner[f.path] = f.key }
        var trackedIDs: Set<FileTailID> = []
        for key in files.keys.sorted() {
            guard var f = files[key] else { continue }
            trackedIDs.insert(f.id)
            if let p = byID[f.id] {
                // Still matched, perhaps under a new name (rotated to a name the globs also match).
                f.path = p.path
                f.phase = .following
            } else if f.phase == .following {
                f.phase = f.linkCount == 0 ? .deleted : .renamed
                f.lastActivity = now
                actions.append(.draining(key: f.key, path: f.path, deleted: f.phase == .deleted))
            } else if f.phase == .renamed && f.linkCount == 0 {
                f.phase = .deleted
            }
            files[key] = f
        }

        // 3. New files.
        for p in paths where byID[p.id] == p && !trackedIDs.contains(p.id) {
            trackedIDs.insert(p.id)
            let key = nextKey
            nextKey += 1
            var offset: Int64 = 0
            var resumed = false
            var truncatedWhileStopped: Int64?
            if let i = known.firstIndex(where: { $0.id == p.id }) {
                let entry = known.remove(at: i)
                if entry.fingerprint.matches(head: p.head) {
                    if p.size >= entry.offset {
                        offset = entry.offset
                        resumed = true
                    } else {
                        truncatedWhileStopped = entry.offset
                    }
                }
                // A different fingerprint: the inode was reused by a new file, which is read from its start.
            } else if firstScan && startAtEnd {
                offset = p.size
            }
            var predecessor: Key?
            // The file that had this path before (rotated away, or renamed to another matched name) is read to
            // its end before this one.
            if let prev = previousOwner[p.path], let old = files[prev], old.phase != .following || old.path != p.path {
                predecessor = prev
            }
            files[key] = File(
                key: key, path: p.path, id: p.id, fingerprint: FileTailFingerprint(head: p.head), offset: offset,
                size: p.size, linkCount: 1, phase: .following, atEOF: false, predecessor: predecessor,
                lastActivity: now)
            actions.append(.open(key: key, path: p.path, id: p.id, offset: offset, resumed: resumed))
            if let lost = truncatedWhileStopped {
                actions.append(.truncated(key: key, path: p.path, offset: lost, missingBytes: nil))
            }
        }
        firstScan = false
        known = []

        // 4. Finished drained files.
        for key in files.keys.sorted() {
            guard let f = files[key], f.phase != .following, f.atEOF, f.offset >= f.size else { continue }
            if f.phase == .deleted || now - f.lastActivity >= lingerNanos {
                actions.append(close(key))
            }
        }
        return actions
    }

    /// Forgets a file (closed by the state machine, or its descriptor failed).
    public mutating func close(_ key: Key) -> Action {
        let path = files[key]?.path ?? ""
        files[key] = nil
        for (k, f) in files where f.predecessor == key { files[k]?.predecessor = nil }
        return .close(key: key, path: path)
    }

    /// A read returned `count` bytes.
    public mutating func didRead(_ key: Key, count: Int, now: Int64) {
        guard var f = files[key] else { return }
        f.offset += Int64(count)
        if f.offset > f.size { f.size = f.offset }
        f.atEOF = false
        f.lastActivity = now
        files[key] = f
    }

    /// A read found no more bytes.
    public mutating func reachedEOF(_ key: Key) {
        files[key]?.atEOF = true
    }

    /// Whether the file may be read now: a successor waits until its rotated predecessor was read to its end.
    public func canRead(_ key: Key) -> Bool {
        guard let f = files[key] else { return false }
        guard let p = f.predecessor, let pred = files[p] else { return true }
        return pred.atEOF
    }

    /// Tracked files in reading order: older files (lower keys) first.
    public var readOrder: [Key] { files.keys.sorted() }

    /// The checkpoint entries for the tracked files, with the delivered offset of each (`committed[key]`,
    /// defaulting to the read offset).
    public func checkpoint(committed: [Key: Int64]) -> [Checkpoint] {
        files.keys.sorted().compactMap { key in
            guard let f = files[key] else { return nil }
            return Checkpoint(path: f.path, id: f.id, fingerprint: f.fingerprint, offset: committed[key] ?? f.offset)
        }
    }
}
