import LogferryCore
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `Recovery.run` hands to the journal.
struct RecoveredJournal: Sendable {
    var segments: SegmentIndex
    var nextSeq: UInt64
    var cursors: [String: SpoolCursor]
    /// Holds the journal's `lock` file.
    var lockFD: Int32
    var report: RecoveryReport
}

/// Brings a journal directory into a state the journal can append to, whatever a crash or a disk left
/// behind. Throws only for I/O it cannot work around (the directory cannot be created or read, the lock is
/// held, the newest segment cannot be opened or truncated); damage is repaired and reported.
///
/// Steps: create the directories; take the lock; read `meta` (the lowest next sequence); read every cursor
/// file (a corrupt one is moved to `damaged/`); list the segments; verify the newest one record by record —
/// interior damage is skipped (and copied aside), a damaged tail is copied aside and cut off, an empty
/// newest segment is removed; fsync it, so what readers see from now on is durable; derive the next sequence
/// number as one above the highest of: records found, the newest segment's name minus one, `meta` minus one,
/// and every cursor; write `meta`.
enum Recovery {
    static func run(_ configuration: JournalConfiguration, logger: Logger) throws -> RecoveredJournal {
        let layout = JournalLayout(directory: configuration.directory)
        try POSIX.makeDirectories(layout.directory)
        try POSIX.makeDirectories(layout.cursorsDirectory)
        let lockFD = try POSIX.lockFile(layout.lockPath)
        do {
            return try recover(layout, lockFD: lockFD, logger: logger)
        } catch {
            POSIX.close(lockFD)
            throw error
        }
    }

    private static func recover(_ layout: JournalLayout, lockFD: Int32, logger: Logger) throws -> RecoveredJournal {
        var report = RecoveryReport()

        try POSIX.unlink(layout.metaPath + ".tmp")
        var metaNext: UInt64 = 1
        if let bytes = try POSIX.readFile(layout.metaPath) {
            if let next = CursorStore.decodeMeta(bytes) {
                metaNext = next
            } else {
                report.metaDamaged = true
                logger.warning(
                    "journal meta file is damaged; it will be rewritten", metadata: ["path": "\(layout.metaPath)"])
            }
        }

        let cursors = try loadCursors(layout, report: &report, logger: logger)

        let segmentNames = try POSIX.listDirectory(layout.directory)
            .compactMap { name in SegmentFile.firstSeq(fromFileName: name).map { ($0, name) } }
            .sorted { $0.0 < $1.0 }
        report.segments = segmentNames.count

        var entries: [SegmentEntry] = []
        for (firstSeq, _) in segmentNames.dropLast() {
            let file = SegmentFile(firstSeq: firstSeq, directory: layout.directory)
            entries.append(SegmentEntry(file: file, size: try POSIX.fileSize(path: file.path)))
        }

        var highestSeq: UInt64 = 0
        var hasActive = false
        if let (firstSeq, name) = segmentNames.last {
            report.scannedSegment = name
            let path = layout.directory + "/" + name
            let fd = try POSIX.open(path, O_RDWR)
            let file = SegmentFile(firstSeq: firstSeq, directory: layout.directory, fd: fd)
            let tail = try scanNewest(file, fd: fd, layout: layout, report: &report, logger: logger)
            highestSeq = max(highestSeq, firstSeq - 1)
            if let last = tail.lastSeq {
                highestSeq = max(highestSeq, last)
                try POSIX.dataSync(fd, path: path)
                entries.append(SegmentEntry(file: file, size: tail.size, lastSeq: last, records: tail.records))
                hasActive = true
            } else {
                // Nothing intact in it: remove it; the next append starts a fresh segment.
                try POSIX.unlink(path)
                try POSIX.syncDirectory(layout.directory)
                if !entries.isEmpty { entries[entries.count - 1].lastSeq = firstSeq - 1 }
            }
        }

        let cursorMax = cursors.values.map(\.seq).max() ?? 0
        let nextSeq = max(highestSeq, metaNext - 1, cursorMax) + 1
        report.nextSequence = nextSeq
        try layout.writeMeta(nextSeq: nextSeq)

        let summary: Logger.Metadata = [
            "segments": "\(report.segments)", "records_in_newest": "\(report.recordsFound)",
            "bytes_cut": "\(report.bytesCut)", "damaged_regions": "\(report.damagedRegions.count)",
            "next_seq": "\(nextSeq)",
        ]
        if report.isClean {
            logger.info("journal opened", metadata: summary)
        } else {
            logger.warning("journal opened after repairs", metadata: summary)
        }
        return RecoveredJournal(
            segments: SegmentIndex(entries: entries, hasActive: hasActive), nextSeq: nextSeq, cursors: cursors,
            lockFD: lockFD, report: report)
    }

    private static func loadCursors(_ layout: JournalLayout, report: inout RecoveryReport, logger: Logger) throws
        -> [String: SpoolCursor]
    {
        var cursors: [String: SpoolCursor] = [:]
        for name in try POSIX.listDirectory(layout.cursorsDirectory) {
            let path = layout.cursorsDirectory + "/" + name
            if name.hasSuffix(".tmp") {
                // An atomic write that did not reach its rename: the previous file is still in place.
                try POSIX.unlink(path)
                continue
            }
            guard name.hasSuffix(CursorStore.suffix), let bytes = try POSIX.readFile(path) else { continue }
            if let cursor = CursorStore.decodeCursor(bytes) {
                cursors[cursor.name] = cursor
                continue
            }
            report.corruptCursorFiles.append(name)
            logger.error(
                "journal cursor file is damaged; that destination starts again at the oldest record",
                metadata: ["path": "\(path)"])
            try POSIX.makeDirectories(layout.damagedDirectory)
            try POSIX.rename(path, layout.damagedDirectory + "/cursor-" + name)
        }
        return cursors
    }

    private struct Tail {
        var size: Int
        var records: Int
        var lastSeq: UInt64?
    }

    /// Verifies every record of the newest segment, saves damage aside and cuts a damaged tail off.
    private static func scanNewest(
        _ file: SegmentFile, fd: Int32, layout: JournalLayout, report: inout RecoveryReport, logger: Logger
    ) throws -> Tail {
        let size = try POSIX.fileSize(fd, path: file.path)
        var scanner = RecordScanner(fd: fd, path: file.path, from: 0, to: size)
        var tail = Tail(size: size, records: 0, lastSeq: nil)
        scan: while true {
            switch try scanner.next() {
            case .end:
                break scan
            case .record(let header, _):
                tail.records += 1
                tail.lastSeq = max(tail.lastSeq ?? 0, header.seq)
            case .damaged(let offset, let length):
                let toEnd = offset + length == size
                let saved = saveAside(file, fd: fd, offset: offset, length: length, layout: layout, logger: logger)
                report.damagedRegions.append(
                    DamagedRegion(segment: file.name, offset: offset, length: length, truncated: toEnd, savedAs: saved))
                logger.warning(
                    toEnd
                        ? "journal segment has a torn tail; cutting it off"
                        : "journal segment has a damaged region; skipping it",
                    metadata: [
                        "segment": "\(file.name)", "offset": "\(offset)", "bytes": "\(length)",
                        "saved_as": "\(saved ?? "-")",
                    ])
                if toEnd {
                    try POSIX.truncate(fd, to: offset, path: file.path)
                    try POSIX.dataSync(fd, path: file.path)
                    report.bytesCut += length
                    tail.size = offset
                }
            }
        }
        report.recordsFound = tail.records
        return tail
    }

    /// Copies damaged bytes to `damaged/<segment>-<offset>.bin` for inspection. Best effort: a failure is
    /// logged and recovery goes on. A copy made by an earlier open is kept as it is.
    private static func saveAside(
        _ file: SegmentFile, fd: Int32, offset: Int, length: Int, layout: JournalLayout, logger: Logger
    ) -> String? {
        let path = layout.damagedPath(segment: file, offset: offset)
        do {
            try POSIX.makeDirectories(layout.damagedDirectory)
            if let existing = try POSIX.openIfExists(path, O_RDONLY) {
                POSIX.close(existing)
                return path
            }
            let out = try POSIX.open(path, O_WRONLY | O_CREAT | O_EXCL)
            defer { POSIX.close(out) }
            var chunk = [UInt8](repeating: 0, count: min(length, 1 << 20))
            var done = 0
            while done < length {
                let want = min(chunk.count, length - done)
                let got = try chunk.withUnsafeMutableBytes {
                    try POSIX.preadFully(
                        fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), at: offset + done,
                        path: file.path)
                }
                if got == 0 { break }
                try chunk.withUnsafeBytes {
                    try POSIX.pwriteAll(out, UnsafeRawBufferPointer(rebasing: $0[0..<got]), at: done, path: path)
                }
                done += got
            }
            try POSIX.dataSync(out, path: path)
            try POSIX.syncDirectory(layout.damagedDirectory)
            return path
        } catch {
            logger.error("could not save damaged journal bytes", metadata: ["path": "\(path)", "error": "\(error)"])
            return nil
        }
    }
}
