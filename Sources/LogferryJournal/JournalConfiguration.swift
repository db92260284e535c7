/// When `append` may return.
public enum FsyncPolicy: String, Sendable, CaseIterable {
    /// After an fsync that covers the records. Concurrent appenders share one fsync (group commit).
    case always
    /// After the periodic group fsync that covers the records; at most one fsync per `fsyncInterval`.
    case interval
    /// After `write()`: a process crash loses nothing, a power cut may lose the newest records.
    case never
}

/// What `append` does when the retained segments plus the new records would exceed `maxBytes`.
public enum FullPolicy: String, Sendable, CaseIterable {
    /// Wait until destinations commit and segments are deleted (backpressure to the sources).
    case block
    /// Delete the oldest segment even if some destination has not delivered it; count the records lost.
    case dropOldest = "drop-oldest"
    /// Refuse the new records: `append` throws `SpoolError.full`; count them.
    case dropNewest = "drop-newest"
}

/// Settings of the on-disk journal (the `journal:` block of the config, plus the directory the node derives
/// from `data_dir`).
public struct JournalConfiguration: Sendable, Equatable {
    /// Directory holding segments, cursors and recovery leftovers (normally `<data_dir>/journal`). Created with
    /// its parents when missing.
    public var directory: String
    /// A new segment file starts when the current one would grow past this. Smaller segments free disk
    /// sooner after delivery; larger ones mean fewer files. Default 64 MiB.
    public var segmentBytes: Int
    /// Upper bound for the bytes of all retained segments (`journal.max_bytes`). Default 2 GiB.
    public var maxBytes: Int
    /// `journal.fsync`: when an append counts as durable. Default `interval`.
    public var fsync: FsyncPolicy
    /// `journal.fsync_interval`: the period of the group fsync under `fsync: interval`. Default 100 ms.
    public var fsyncInterval: Duration
    /// `journal.when_full`: what happens at `maxBytes`. Default `block`.
    public var whenFull: FullPolicy
    /// Largest payload one record may carry; `append` throws `SpoolError.recordTooLarge` above it.
    /// Default 16 MiB.
    public var maxRecordBytes: Int

    public init(
        directory: String,
        segmentBytes: Int = 64 << 20,
        maxBytes: Int = 2 << 30,
        fsync: FsyncPolicy = .interval,
        fsyncInterval: Duration = .milliseconds(10),
        whenFull: FullPolicy = .block,
        maxRecordBytes: Int = 16 << 20
    ) {
        self.directory = directory
        self.segmentBytes = segmentBytes
        self.maxBytes = maxBytes
        self.fsync = fsync
        self.fsyncInterval = fsyncInterval
        self.whenFull = whenFull
        self.maxRecordBytes = maxRecordBytes
    }

    /// What is wrong with these settings, one message per problem, each saying how to fix it; empty when
    /// they are usable. Pure, so the config checker can attach `file:line` to each message.
    public func problems() -> [String] {
        var out: [String] = []
        if directory.isEmpty { out.append("journal directory is empty: set node.data_dir") }
        if segmentBytes < 4096 { out.append("journal segment size \(segmentBytes) is too small: use at least 4KiB") }
        if maxBytes < 2 * 4096 { out.append("journal.max_bytes \(maxBytes) is too small: use at least 8KiB") }
        if fsyncInterval <= .zero { out.append("journal.fsync_interval must be positive, e.g. 100ms") }
        if maxRecordBytes < 1 { out.append("journal max record size must be at least 1 byte") }
        if maxRecordBytes > RecordHeader.lengthLimit {
            out.append("journal max record size \(maxRecordBytes) is above the format's limit of 1GiB")
        }
        if maxRecordBytes + RecordHeader.size > maxBytes {
            out.append(
                "journal.max_bytes \(maxBytes) cannot hold one record of the largest size (\(maxRecordBytes)): "
                    + "raise max_bytes or lower the record size")
        }
        return out
    }
}

/// Errors the journal raises besides `SpoolError`.
public enum JournalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `open` was given settings `problems()` rejects.
    case invalidConfiguration([String])

    public var description: String {
        switch self {
        case .invalidConfiguration(let problems):
            return "invalid journal configuration: "
                + problems.joined(separator: "; ")
        }
    }
}
