/// The opaque state a file destination commits with its journal cursor: the length of every file it may
/// write before its next commit (see the design notes in FileStoreDestination.swift).
///
/// Layout, version 1, integers little-endian:
///
///     "LFS" 0x01 | count u32 | count × ( path length u32 | path UTF-8 | file length u64 )
///
/// Entries are sorted by path so equal states encode to equal bytes. Empty bytes (a new cursor) decode to
/// an empty state. Public so `logferry journal stat` can show what a file destination will cut on start.
public struct FileStoreCursorState: Sendable, Equatable, CustomStringConvertible {
    /// Path → length in bytes at the commit.
    public var lengths: [String: UInt64]

    public init(lengths: [String: UInt64] = [:]) {
        self.lengths = lengths
    }

    private static let magic: [UInt8] = [UInt8(ascii: "L"), UInt8(ascii: "F"), UInt8(ascii: "S"), 1]

    public func encoded() -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(8 + lengths.reduce(0) { $0 + $1.key.utf8.count + 12 })
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        u32(UInt32(lengths.count))
        for (path, length) in lengths.sorted(by: { $0.key < $1.key }) {
            u32(UInt32(path.utf8.count))
            out.append(contentsOf: path.utf8)
            u64(length)
        }
        return out
    }

    public init(decoding bytes: [UInt8]) throws(FileStoreError) {
        guard !bytes.isEmpty else {
            self.init()
            return
        }
        func bad(_ why: String) -> FileStoreError {
            FileStoreError(.cursorState, "file destination cursor state (\(bytes.count) bytes) is unreadable: \(why)")
        }
        guard bytes.count >= 8, Array(bytes[0..<4]) == Self.magic else { throw bad("unknown header") }
        var pos = 4
        func int(_ width: Int) -> UInt64? {
            guard pos + width <= bytes.count else { return nil }
            var v: UInt64 = 0
            for i in 0..<width { v |= UInt64(bytes[pos + i]) << (8 * UInt64(i)) }
            pos += width
            return v
        }
        guard let count = int(4) else { throw bad("truncated") }
        var lengths: [String: UInt64] = [:]
        for _ in 0..<count {
            guard let n = int(4), pos + Int(n) <= bytes.count else { throw bad("truncated path") }
            let path = String(decoding: bytes[pos..<(pos + Int(n))], as: UTF8.self)
            pos += Int(n)
            guard let length = int(8) else { throw bad("truncated length") }
            lengths[path] = length
        }
        guard pos == bytes.count else { throw bad("\(bytes.count - pos) bytes after the last entry") }
        self.init(lengths: lengths)
    }

    public var description: String {
        lengths.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "\n")
    }
}
