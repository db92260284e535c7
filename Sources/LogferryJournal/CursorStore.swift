import LogferryCore

/// Cursor files (`cursors/<name>.cursor`) and the `meta` file: small records written atomically
/// (temporary file, fsync, rename, fsync directory), each ending in a CRC-32C of everything before it.
///
/// Cursor file, little endian:
/// ```
/// "LFJC" | version u8 (1) | 3 bytes 0 | nameLength u16 | 2 bytes 0 | seq u64 | stateLength u32
///        | name (UTF-8) | state | crc32c u32
/// ```
/// Meta file: `"LFJM" | version u8 (1) | 3 bytes 0 | nextSeq u64 | crc32c u32`.
///
/// Cursor names may hold any characters: the file name escapes every byte outside `[A-Za-z0-9_-]` as `%XX`,
/// and the name itself is stored inside the file.
enum CursorStore {
    static let cursorMagic: [UInt8] = Array("LFJC".utf8)
    static let metaMagic: [UInt8] = Array("LFJM".utf8)
    static let version: UInt8 = 1
    static let suffix = ".cursor"

    static func fileName(for name: String) -> String {
        // "%" alone never comes out of the escaping below, so the empty name cannot collide (or hide).
        if name.isEmpty { return "%" + suffix }
        var out = ""
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        return out + suffix
    }

    static func encode(_ cursor: SpoolCursor) -> [UInt8] {
        let name = Array(cursor.name.utf8)
        var out = cursorMagic
        out += [version, 0, 0, 0]
        append(UInt16(name.count), to: &out)
        out += [0, 0]
        append(cursor.seq, to: &out)
        append(UInt32(cursor.state.count), to: &out)
        out += name
        out += cursor.state
        append(CRC32C.checksum(out), to: &out)
        return out
    }

    /// The cursor in `bytes`, or nil when they are not a whole, intact cursor record.
    static func decodeCursor(_ bytes: [UInt8]) -> SpoolCursor? {
        let fixed = 4 + 4 + 2 + 2 + 8 + 4
        guard bytes.count >= fixed + 4, Array(bytes[0..<4]) == cursorMagic, bytes[4] == version else { return nil }
        let nameLength = Int(read(UInt16.self, bytes, at: 8))
        let seq = read(UInt64.self, bytes, at: 12)
        let stateLength = Int(read(UInt32.self, bytes, at: 20))
        guard bytes.count == fixed + nameLength + stateLength + 4 else { return nil }
        let body = bytes.count - 4
        guard CRC32C.checksum(Array(bytes[0..<body])) == read(UInt32.self, bytes, at: body) else { return nil }
        let name = String(decoding: bytes[fixed..<(fixed + nameLength)], as: UTF8.self)
        let state = Array(bytes[(fixed + nameLength)..<body])
        return SpoolCursor(name: name, seq: seq, state: state)
    }

    static func encodeMeta(nextSeq: UInt64) -> [UInt8] {
        var out = metaMagic
        out += [version, 0, 0, 0]
        append(nextSeq, to: &out)
        append(CRC32C.checksum(out), to: &out)
        return out
    }

    static func decodeMeta(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 20, Array(bytes[0..<4]) == metaMagic, bytes[4] == version,
            CRC32C.checksum(Array(bytes[0..<16])) == read(UInt32.self, bytes, at: 16)
        else { return nil }
        return read(UInt64.self, bytes, at: 8)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func read<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}

/// Where the journal's files live.
struct JournalLayout: Sendable {
    let directory: String

    var cursorsDirectory: String { directory + "/cursors" }
    var damagedDirectory: String { directory + "/damaged" }
    var metaPath: String { directory + "/meta" }
    var lockPath: String { directory + "/lock" }

    func cursorPath(_ name: String) -> String { cursorsDirectory + "/" + CursorStore.fileName(for: name) }

    func damagedPath(segment: SegmentFile, offset: Int) -> String {
        damagedDirectory + "/" + segment.name.dropLast(4) + "-" + String(offset) + ".bin"
    }

    func writeCursor(_ cursor: SpoolCursor) throws {
        try POSIX.writeAtomically(cursorPath(cursor.name), CursorStore.encode(cursor), directory: cursorsDirectory)
    }

    func writeMeta(nextSeq: UInt64) throws {
        try POSIX.writeAtomically(metaPath, CursorStore.encodeMeta(nextSeq: nextSeq), directory: directory)
    }
}
