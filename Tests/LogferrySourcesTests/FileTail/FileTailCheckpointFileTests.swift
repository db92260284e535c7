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

    @Test(arguments: ["", "{}", "{\"version\":2,\"files\":[]}", "{\"version\":1,\"files\":[{\"path\":\"/a\"}]}"])
    func rejectsDamage(text: String) {
        #expect(throws: FileTailCheckpointFile.DecodeError.self) { try FileTailCheckpointFile.decode(Array(text.utf8)) }
    }
}
