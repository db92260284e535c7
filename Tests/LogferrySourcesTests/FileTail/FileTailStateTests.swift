import Testing

@testable import LogferrySources

/// The rotation state machine, fed with made-up filesystem observations: no files, no clock.
struct FileTailStateTests {
    typealias S = FileTailState
    static let second: Int64 = 1_000_000_000

    func id(_ inode: UInt64) -> FileTailID { FileTailID(device: 1, inode: inode) }
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    func path(_ p: String, _ inode: UInt64, _ content: String) -> S.PathObservation {
        S.PathObservation(
            path: p, id: id(inode), size: Int64(content.utf8.count), head: Array(bytes(content).prefix(256)))
    }
    func open(_ key: S.Key, _ content: String, links: Int = 1) -> S.OpenObservation {
        S.OpenObservation(
            key: key, size: Int64(content.utf8.count), linkCount: links, head: Array(bytes(content).prefix(256)))
    }
    func state(_ startAt: FileTailConfiguration.StartAt = .beginning, checkpoint: [S.Checkpoint]? = nil) -> S {
        S(startAt: startAt, checkpoint: checkpoint, rotatedLinger: .seconds(5))
    }
    /// Reads a file to `size` the way the source does: didRead, then a read finding nothing.
    func readAll(_ s: inout S, _ key: S.Key, to size: Int, now: Int64 = 0) {
        let have = Int(s.files[key]!.offset)
        if size > have { s.didRead(key, count: size - have, now: now) }
        s.reachedEOF(key)
    }

    @Test func newFileOpensAtBeginningOrEnd() {
        var s = state()
        #expect(
            s.scan(paths: [path("/l/a.log", 10, "one\ntwo\n")], open: [], now: 0) == [
                .open(key: 1, path: "/l/a.log", id: id(10), offset: 0, resumed: false)
            ])
        var e = state(.end)
        #expect(
            e.scan(paths: [path("/l/a.log", 10, "one\ntwo\n")], open: [], now: 0) == [
                .open(key: 1, path: "/l/a.log", id: id(10), offset: 8, resumed: false)
            ])
        // A file appearing after the first scan is read from its start even with start_at end.
        #expect(
            e.scan(
                paths: [path("/l/a.log", 10, "one\ntwo\n"), path("/l/b.log", 11, "x\n")], open: [open(1, "one\ntwo\n")],
                now: 1) == [
                    .open(key: 2, path: "/l/b.log", id: id(11), offset: 0, resumed: false)
                ])
    }

    @Test func startAtEndDoesNotApplyOnceACheckpointExists() {
        // A checkpoint (even empty) means we ran before: an unknown file was created while we were stopped.
        var s = state(.end, checkpoint: [])
        #expect(
            s.scan(paths: [path("/l/a.log", 10, "one\n")], open: [], now: 0) == [
                .open(key: 1, path: "/l/a.log", id: id(10), offset: 0, resumed: false)
            ])
    }

    @Test func resumesFromCheckpointWhenIdentityMatches() {
        let content = "first line\nsecond line\nthird\n"
        let cp = S.Checkpoint(
            path: "/l/a.log", id: id(10), fingerprint: FileTailFingerprint(head: bytes("first line\n")), offset: 11)
        var s = state(.end, checkpoint: [cp])
        // The file grew past the fingerprinted 11 bytes; its head still starts with them, so it is the same file.
        #expect(
            s.scan(paths: [path("/l/a.log", 10, content)], open: [], now: 0) == [
                .open(key: 1, path: "/l/a.log", id: id(10), offset: 11, resumed: true)
            ])
        #expect(s.files[1]!.fingerprint == FileTailFingerprint(head: bytes(content)))
    }

    @Test func resumesARotatedFileUnderItsNewName() {
        let cp = S.Checkpoint(
            path: "/l/a.log", id: id(10), fingerprint: FileTailFingerprint(head: bytes("abc\n")), offset: 4)
        var s = state(checkpoint: [cp])
        let actions = s.scan(
            paths: [path("/l/a.log", 11, "new\n"), path("/l/a.log.1", 10, "abc\ndef\n")], open: [], now: 0)
        #expect(
            actions == [
                .open(key: 1, path: "/l/a.log", id: id(11), offset: 0, resumed: false),
                .open(key: 2, path: "/l/a.log.1", id: id(10), offset: 4, resumed: true),
            ])
    }

    @Test func reusedInodeWithAnotherFingerprintStartsAtZero() {
        let cp = S.Checkpoint(
            path: "/l/a.log", id: id(10), fingerprint: FileTailFingerprint(head: bytes("old file content\n")),
            offset: 17)
        var s = state(.end, checkpoint: [cp])
        // Same device and inode, other content: the old file was deleted and its inode reused.
        #expect(
            s.scan(paths: [path("/l/a.log", 10, "brand new file, longer than 17\n")], open: [], now: 0) == [
                .open(key: 1, path: "/l/a.log", id: id(10), offset: 0, resumed: false)
            ])
    }

    @Test func fileTruncatedWhileStoppedRestartsAtZeroAndSaysSo() {
        let cp = S.Checkpoint(
            path: "/l/a.log", id: id(10), fingerprint: FileTailFingerprint(head: bytes("ab")), offset: 100)
        var s = state(checkpoint: [cp])
        #expect(
            s.scan(paths: [path("/l/a.log", 10, "ab\n")], open: [], now: 0) == [
                .open(key: 1, path: "/l/a.log", id: id(10), offset: 0, resumed: false),
                .truncated(key: 1, path: "/l/a.log", offset: 100, missingBytes: nil),
            ])
    }

    @Test func shortFileFingerprintGrowsWithTheFile() {
        var s = state()
        _ = s.scan(paths: [path("/l/a.log", 10, "")], open: [], now: 0)
        #expect(s.files[1]!.fingerprint == .empty)
        _ = s.scan(paths: [path("/l/a.log", 10, "hi")], open: [open(1, "hi")], now: 1)
        #expect(s.files[1]!.fingerprint == FileTailFingerprint(head: bytes("hi")))
        let long = String(repeating: "x", count: 300)
        _ = s.scan(paths: [path("/l/a.log", 10, "hi" + long)], open: [open(1, "hi" + long)], now: 2)
        #expect(s.files[1]!.fingerprint.length == 256)
        #expect(s.files[1]!.fingerprint.isComplete)
        #expect(s.files[1]!.fingerprint.matches(head: bytes("hi" + long + "more")))
        #expect(!s.files[1]!.fingerprint.matches(head: bytes("hi")))
    }

    @Test func renameRotationDrainsOldFileBeforeTheNewOne() {
        var s = state()
        _ = s.scan(paths: [path("/l/a.log", 10, "1\n2\n")], open: [], now: 0)
        readAll(&s, 1, to: 2)  // read "1\n" only so far
        // logrotate: a.log -> a.log.1 (not matched), new a.log created.
        let actions = s.scan(paths: [path("/l/a.log", 11, "3\n")], open: [open(1, "1\n2\n")], now: 1)
        #expect(
            actions == [
                .draining(key: 1, path: "/l/a.log", deleted: false),
                .open(key: 2, path: "/l/a.log", id: id(11), offset: 0, resumed: false),
            ])
        #expect(s.files[1]!.phase == .renamed)
        #expect(s.files[1]!.atEOF == false)
        #expect(s.files[2]!.predecessor == 1)
        // The successor waits until the old file was read to its end.
        #expect(!s.canRead(2))
        readAll(&s, 1, to: 4)
        #expect(s.canRead(2))
        // The old file may still grow (the writer has not reopened yet): it is read again, the successor waits.
        _ = s.scan(paths: [path("/l/a.log", 11, "3\n")], open: [open(1, "1\n2\nlate\n"), open(2, "3\n")], now: 2)
        #expect(!s.canRead(2))
        readAll(&s, 1, to: 9, now: 2 * Self.second)
        // Not closed before it was idle for the linger time...
        #expect(
            s.scan(
                paths: [path("/l/a.log", 11, "3\n")], open: [open(1, "1\n2\nlate\n"), open(2, "3\n")],
                now: 3 * Self.second) == [])
        // ...then closed, and the successor is free.
        #expect(
            s.scan(
                paths: [path("/l/a.log", 11, "3\n")], open: [open(1, "1\n2\nlate\n"), open(2, "3\n")],
                now: 8 * Self.second) == [
                    .close(key: 1, path: "/l/a.log")
                ])
        #expect(s.files[1] == nil)
        #expect(s.files[2]!.predecessor == nil)
        #expect(s.canRead(2))
    }

    @Test func renamedFileStaysOpenHoweverLongItHasUnreadBytes() {
        var s = state()
        _ = s.scan(paths: [path("/l/a.log", 10, "1\n")], open: [], now: 0)
        _ = s.scan(paths: [], open: [open(1, "1\n")], now: 1)
        // Never read, long after the linger time: still open, since it has bytes we did not read.
        #expect(s.scan(paths: [], open: [open(1, "1\n")], now: 3600 * Self.second) == [])
        readAll(&s, 1, to: 2, now: 3600 * Self.second)
        #expect(
            s.scan(paths: [], open: [open(1, "1\n")], now: 3606 * Self.second) == [.close(key: 1, path: "/l/a.log")])
    }

    @Test func renameWithinTheIncludeSetKeepsTheFileAndItsOffset() {
        var s = state()
        _ = s.scan(paths: [path("/l/a.log", 10, "1\n")], open: [], now: 0)
        readAll(&s, 1, to: 2)
        let actions = s.scan(
            paths: [path("/l/a.log", 11, ""), path("/l/a.log.1", 10, "1\n")], open: [open(1, "1\n")], now: 1)
        #expect(actions == [.open(key: 2, path: "/l/a.log", id: id(11), offset: 0, resumed: false)])
        #expect(s.files[1]!.path == "/l/a.log.1")
        #expect(s.files[1]!.phase == .following)
        #expect(s.files[1]!.offset == 2)
        #expect(s.files[2]!.predecessor == 1)
    }

    @Test func deletedFileIsReadToItsEndThenClosed() {
        var s = state()
        _ = s.scan(paths: [path("/l/a.log", 10, "1\n2\n")], open: [], now: 0)
        readAll(&s, 1, to: 2)
        #expect(
            s.scan(paths: [], open: [open(1, "1\n2\n", links: 0)], now: 1) == [
                .draining(key: 1, path: "/l/a.log", deleted: true)
            ])
        #expect(s.files[1]!.phase == .deleted)
        // Unread bytes: stays open.
        #expect(s.scan(paths: [], open: [open(1, "1\n2\n", links: 0)], now: 2) == [])
        readAll(&s, 1, to: 4)
        // At its end: closed at once (no linger for deleted files).
        #expect(s.scan(paths: [], open: [open(1, "1\n2\n", links: 0)], now: 3) == [.close(key: 1, path: "/l/a.log")])
        #expect(s.files.isEmpty)
    }

    @Test func copytruncateRestartsAtZeroAndReportsUnreadBytes() {
        var s = state()
        _ = s.scan(paths: [path("/l/a.log", 10, "line 1\nline 2\n")], open: [], now: 0)
        readAll(&s, 1, to: 7)
        // Seen at 14 bytes, read to 7; then truncated to 0 and a short line written.
        _ = s.scan(paths: [path("/l/a.log", 10, "line 1\nline 2\n")], open: [open(1, "line 1\nline 2\n")], now: 1)
        let actions = s.scan(paths: [path("/l/a.log", 10, "x\n")], open: [open(1, "x\n")], now: 2)
        #expect(actions == [.truncated(key: 1, path: "/l/a.log", offset: 7, missingBytes: 7)])
        #expect(s.files[1]!.offset == 0)
        #expect(s.files[1]!.fingerprint == FileTailFingerprint(head: bytes("x\n")))
        #expect(s.files[1]!.phase == .following)
    }

    @Test func truncatedAndRewrittenPastOffsetIsCaughtByTheFingerprint() {
        var s = state()
        _ = s.scan(paths: [path("/l/a.log", 10, "aaaa\n")], open: [], now: 0)
        readAll(&s, 1, to: 5)
        // Truncated and rewritten with more bytes than we had read: the size alone would look like growth.
        let actions = s.scan(paths: [path("/l/a.log", 10, "bbbbbbbbbb\n")], open: [open(1, "bbbbbbbbbb\n")], now: 1)
        #expect(actions == [.truncated(key: 1, path: "/l/a.log", offset: 5, missingBytes: 0)])
        #expect(s.files[1]!.offset == 0)
    }

    @Test func hardLinkedPathsAreOneFile() {
        var s = state()
        let actions = s.scan(paths: [path("/l/a.log", 10, "1\n"), path("/l/b.log", 10, "1\n")], open: [], now: 0)
        #expect(actions == [.open(key: 1, path: "/l/a.log", id: id(10), offset: 0, resumed: false)])
    }

    @Test func checkpointCarriesCommittedOffsets() {
        var s = state()
        _ = s.scan(paths: [path("/l/a.log", 10, "1\n2\n")], open: [], now: 0)
        readAll(&s, 1, to: 4)
        #expect(
            s.checkpoint(committed: [1: 2]) == [
                S.Checkpoint(
                    path: "/l/a.log", id: id(10), fingerprint: FileTailFingerprint(head: bytes("1\n2\n")), offset: 2)
            ])
        // Unmatched checkpoint entries are forgotten after the first scan.
        var r = state(checkpoint: [S.Checkpoint(path: "/gone", id: id(99), fingerprint: .empty, offset: 5)])
        _ = r.scan(paths: [], open: [], now: 0)
        #expect(r.known.isEmpty)
        #expect(r.checkpoint(committed: [:]).isEmpty)
    }
}
