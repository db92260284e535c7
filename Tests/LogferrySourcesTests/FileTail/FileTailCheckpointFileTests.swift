import Testing

@testable import LogferrySources

struct FileTailCheckpointFileTests {
    @Test func roundTrips() throws {
        let entries = [
            FileTailState.Checkpoint(
                path: "/var/log/a \"quoted\".log", id: FileTailID(device: UInt64.max, inode: 131),
                fingerprint: FileTailFingerprint(head: Array("hello".utf8)), offset: 52311),
            FileTailState.Checkpoint(path: "/b", id: FileTailID(device: 1, inode: 2), fingerprint: .empty, offset: 0),
        ]
        #expect(try FileTailCheckpointFile.decode(FileTailCheckpointFile.encode(entries)) == entries)
        #expect(try FileTailCheckpointFile.decode(FileTailCheckpointFile.encode([])) == [])
    }

    @Test(arguments: [
        "", "{}", "{\"version\":3,\"files\":[]}", "{\"version\":1,\"files\":[{\"path\":\"/a\"}]}",
        "{\"version\":2,\"files\":[],\"pending\":[{\"files\":[]}]}",
    ])
    func rejectsDamage(text: String) {
        #expect(throws: FileTailCheckpointFile.DecodeError.self) { try FileTailCheckpointFile.decode(Array(text.utf8)) }
    }

    /// Pending entries: the newest one whose sequence the journal holds wins; one the journal lost is ignored.
    @Test func pendingEntriesResolveAgainstWhatTheJournalHolds() throws {
        func at(_ offset: Int64) -> [FileTailState.Checkpoint] {
            [
                FileTailState.Checkpoint(
                    path: "/a", id: FileTailID(device: 1, inode: 2), fingerprint: .empty, offset: offset)
            ]
        }
        let contents = FileTailCheckpointFile.Contents(
            files: at(100), pending: [.init(seq: 10, files: at(200)), .init(seq: 20, files: at(300))])
        let decoded = try FileTailCheckpointFile.decodeContents(FileTailCheckpointFile.encode(contents))
        #expect(decoded == contents)
        #expect(decoded.resolve(journalHolds: nil) == at(100))
        #expect(decoded.resolve(journalHolds: 9) == at(100))
        #expect(decoded.resolve(journalHolds: 10) == at(200))
        #expect(decoded.resolve(journalHolds: 19) == at(200))
        #expect(decoded.resolve(journalHolds: 25) == at(300))
        // A version 1 file (no pending) still reads.
        let v1 =
            #"{"version":1,"files":[{"path":"/a","device":"1","inode":"2","fingerprint_length":0,"fingerprint":"0","offset":7}]}"#
        #expect(try FileTailCheckpointFile.decodeContents(Array(v1.utf8)).files.first?.offset == 7)
    }
}
