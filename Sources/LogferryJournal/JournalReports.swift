/// A stretch of a segment file that held no verifiable record.
public struct DamagedRegion: Sendable, Equatable, CustomStringConvertible {
    /// Segment file name, e.g. `seg-00000000000000000001.log`.
    public var segment: String
    /// Byte offset of the damage in the segment file.
    public var offset: Int
    /// Length of the damaged bytes.
    public var length: Int
    /// True when the bytes ran to the end of the file and were cut off (a torn tail); false when records
    /// follow and the region is only skipped.
    public var truncated: Bool
    /// Where a copy of the bytes was saved (`damaged/<segment>-<offset>.bin`), when it was.
    public var savedAs: String?

    public init(segment: String, offset: Int, length: Int, truncated: Bool, savedAs: String? = nil) {
        self.segment = segment
        self.offset = offset
        self.length = length
        self.truncated = truncated
        self.savedAs = savedAs
    }

    public var description: String {
        "\(segment) @\(offset): \(length) bytes \(truncated ? "cut off" : "skipped")"
            + (savedAs.map { ", saved as \($0)" } ?? "")
    }
}

/// What `Journal.open` found and repaired. The daemon logs it; a damaged journal still opens.
public struct RecoveryReport: Sendable, Equatable {
    /// Segment files found.
    public var segments: Int
    /// The segment whose records were verified one by one (the newest, the only one a crash can tear;
    /// older segments were fsynced when they were finished and are verified as they are read).
    public var scannedSegment: String?
    /// Intact records in `scannedSegment`.
    public var recordsFound: Int
    /// Bytes cut off the end of segments (torn tails).
    public var bytesCut: Int
    /// Damage found, in file order.
    public var damagedRegions: [DamagedRegion]
    /// Cursor files that failed their CRC and were moved to `damaged/`; those cursors start over at the oldest
    /// retained record.
    public var corruptCursorFiles: [String]
    /// Whether the `meta` file was unreadable (it is rewritten).
    public var metaDamaged: Bool
    /// The sequence number the next appended record gets.
    public var nextSequence: UInt64

    public init(
        segments: Int = 0, scannedSegment: String? = nil, recordsFound: Int = 0, bytesCut: Int = 0,
        damagedRegions: [DamagedRegion] = [], corruptCursorFiles: [String] = [], metaDamaged: Bool = false,
        nextSequence: UInt64 = 1
    ) {
        self.segments = segments
        self.scannedSegment = scannedSegment
        self.recordsFound = recordsFound
        self.bytesCut = bytesCut
        self.damagedRegions = damagedRegions
        self.corruptCursorFiles = corruptCursorFiles
        self.metaDamaged = metaDamaged
        self.nextSequence = nextSequence
    }

    /// True when nothing had to be repaired.
    public var isClean: Bool { damagedRegions.isEmpty && corruptCursorFiles.isEmpty && !metaDamaged }
}

/// A snapshot of the journal for `logferry journal stat` and metrics.
public struct JournalStat: Sendable, Equatable {
    public struct Cursor: Sendable, Equatable {
        public var name: String
        /// Every record through this sequence number is delivered.
        public var seq: UInt64
        /// Records between the cursor and the last visible record.
        public var lag: UInt64
    }

    public var directory: String
    /// Bytes in retained segments.
    public var bytes: Int
    public var maxBytes: Int
    public var segments: Int
    /// Lowest sequence number a retained segment may hold (nil when no segment is retained).
    public var firstSequence: UInt64?
    /// Highest sequence number readers can see (durable under the fsync policy).
    public var lastSequence: UInt64
    /// Highest sequence number written (may be ahead of `lastSequence` while its fsync is pending).
    public var lastWrittenSequence: UInt64
    public var cursors: [Cursor]
    /// Records appended since open.
    public var appendedRecords: UInt64
    /// Records deleted unread by `when_full: drop-oldest` since open.
    public var droppedOldestRecords: UInt64
    /// Records refused by `when_full: drop-newest` since open.
    public var rejectedNewestRecords: UInt64
    /// Appends waiting for space (`when_full: block`) right now.
    public var blockedAppends: Int
    /// Damaged regions readers skipped since open (each counted once).
    public var damagedRegionsSkipped: Int
    /// fsyncs of segment data since open.
    public var fsyncs: UInt64
}

/// Result of `Journal.verify()`: every retained record checked.
public struct VerifyReport: Sendable, Equatable {
    /// Where the sequence jumps: `after` is followed by `next` (damage, drop-oldest, or records lost in a crash
    /// under `fsync: never`).
    public struct Gap: Sendable, Equatable {
        public var after: UInt64
        public var next: UInt64
    }

    public var segments: Int
    public var records: Int
    public var bytes: Int
    public var firstSequence: UInt64?
    public var lastSequence: UInt64?
    public var damagedRegions: [DamagedRegion]
    public var gaps: [Gap]
    /// Records whose sequence number is not above the one before them (should never happen).
    public var outOfOrder: Int
    /// Segments deleted by a running node between listing and reading (`JournalInspector` only).
    public var segmentsGone: Int = 0

    /// True when every byte belongs to a verified record and sequence numbers only grow.
    public var isIntact: Bool { damagedRegions.isEmpty && outOfOrder == 0 }
}
