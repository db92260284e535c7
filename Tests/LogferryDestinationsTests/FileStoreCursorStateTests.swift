import Testing

@testable import LogferryDestinations

@Suite struct FileStoreCursorStateTests {
    @Test(
        "round-trips",
        arguments: [
            [:], ["/a": 0], ["/var/log/central/web-01/nginx.log": 123_456_789_012, "/é/ü": UInt64.max, "": 7],
        ] as [[String: UInt64]])
    func roundTrips(lengths: [String: UInt64]) throws {
        let state = FileStoreCursorState(lengths: lengths)
        #expect(try FileStoreCursorState(decoding: state.encoded()) == state)
    }

    @Test("encodes equal states to equal bytes")
    func deterministic() {
        var a: [String: UInt64] = [:]
        var b: [String: UInt64] = [:]
        for i in 0..<50 { a["/f\(i)"] = UInt64(i) }
        for i in (0..<50).reversed() { b["/f\(i)"] = UInt64(i) }
        #expect(FileStoreCursorState(lengths: a).encoded() == FileStoreCursorState(lengths: b).encoded())
    }

    @Test("a new cursor's empty state is an empty map")
    func empty() throws {
        #expect(try FileStoreCursorState(decoding: []).lengths.isEmpty)
    }

    @Test("refuses damaged state")
    func damaged() {
        let good = FileStoreCursorState(lengths: ["/a/b.log": 42, "/c.log": 1]).encoded()
        #expect(throws: FileStoreError.self) { try FileStoreCursorState(decoding: Array("{}".utf8)) }
        #expect(throws: FileStoreError.self) { try FileStoreCursorState(decoding: good + [0]) }
        for n in 1..<good.count {
            #expect(throws: FileStoreError.self) { try FileStoreCursorState(decoding: Array(good.prefix(n))) }
        }
    }
}
