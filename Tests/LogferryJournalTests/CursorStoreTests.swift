import LogferryCore
import Testing

@testable import LogferryJournal

struct CursorStoreTests {
    @Test(arguments: ["central", "archive.v2", "../etc/passwd", "ünïcode name", ""])
    func cursorRoundTrips(name: String) throws {
        let cursor = SpoolCursor(name: name, seq: 123_456_789_012, state: [1, 2, 3, 0, 255])
        #expect(CursorStore.decodeCursor(CursorStore.encode(cursor)) == cursor)
        let file = CursorStore.fileName(for: name)
        #expect(!file.contains("/"))
        #expect(!file.hasPrefix("."))
        #expect(file.hasSuffix(".cursor"))
    }

    @Test func distinctNamesGetDistinctFiles() {
        #expect(CursorStore.fileName(for: "a.b") != CursorStore.fileName(for: "a_b"))
        #expect(CursorStore.fileName(for: "a%2Eb") != CursorStore.fileName(for: "a.b"))
        #expect(CursorStore.fileName(for: "central") == "central.cursor")
    }

    @Test func anyDamageIsDetected() {
        let bytes = CursorStore.encode(SpoolCursor(name: "x", seq: 9, state: [7, 7]))
        for i in bytes.indices {
            var bad = bytes
            bad[i] ^= 0x10
            #expect(CursorStore.decodeCursor(bad) == nil, "flipped byte \(i)")
        }
        #expect(CursorStore.decodeCursor(Array(bytes.dropLast())) == nil)
        #expect(CursorStore.decodeCursor(bytes + [0]) == nil)
    }

    @Test func metaRoundTrips() {
        let bytes = CursorStore.encodeMeta(nextSeq: 77)
        #expect(CursorStore.decodeMeta(bytes) == 77)
        var bad = bytes
        bad[9] ^= 1
        #expect(CursorStore.decodeMeta(bad) == nil)
    }
}
