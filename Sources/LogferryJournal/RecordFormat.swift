import LogferryCore

/// The fixed part in front of every payload in a segment file. All integers little endian:
///
/// ```
/// offset size field
///      0    2 magic      0x4C46 ("FL" on disk)
///      2    1 version    1
///      3    1 flags      0 (reserved; a reader ignores bits it does not know)
///      4    4 length     payload bytes
///      8    8 seq        sequence number
///     16    8 timeNanos  append time, ns since the Unix epoch
///     24    4 crc32c     CRC-32C of bytes 0..<24 followed by the payload
///     28    …  payload
/// ```
struct RecordHeader: Equatable, Sendable {
    static let magic: UInt16 = 0x4C46
    static let version: UInt8 = 1
    static let size = 28
    /// Header bytes the CRC covers (everything in front of the CRC field).
    static let checkedSize = 24
    /// Upper bound for `length` that a scanner believes; larger values are damage. (The configured
    /// `maxRecordBytes` is lower; it is not used here so that lowering it never turns old records into damage.)
    static let lengthLimit = 1 << 30

    var flags: UInt8 = 0
    var length: UInt32
    var seq: UInt64
    var timeNanos: Int64
    var crc: UInt32 = 0

    /// Encoded size of a record with a payload of `payloadBytes` bytes.
    static func recordSize(payloadBytes: Int) -> Int { size + payloadBytes }

    /// Encoded size of a batch.
    static func batchSize(_ payloads: [[UInt8]]) -> Int {
        payloads.reduce(0) { $0 + recordSize(payloadBytes: $1.count) }
    }

    /// Appends complete records (header, CRC, payload) for `payloads`, numbered from `firstSeq`.
    static func encode(_ payloads: [[UInt8]], firstSeq: UInt64, timeNanos: Int64, into out: inout [UInt8]) {
        var seq = firstSeq
        for payload in payloads {
            let start = out.count
            append(magic, to: &out)
            out.append(version)
            out.append(0)
            append(UInt32(payload.count), to: &out)
            append(seq, to: &out)
            append(UInt64(bitPattern: timeNanos), to: &out)
            let headerCRC = out.withUnsafeBytes {
                CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[start..<(start + checkedSize)]))
            }
            append(CRC32C.update(headerCRC, payload), to: &out)
            out.append(contentsOf: payload)
            seq += 1
        }
    }

    /// Parses the header fields at the start of `bytes` (at least `size` bytes) without checking the CRC.
    /// Returns nil when the magic or version is wrong or the length is implausible.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> RecordHeader? {
        precondition(bytes.count >= size, "parse needs a whole header")
        guard UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt16.self)) == magic,
            bytes[2] == version
        else { return nil }
        let length = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        guard Int(length) <= lengthLimit else { return nil }
        return RecordHeader(
            flags: bytes[3],
            length: length,
            seq: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            timeNanos: Int64(
                bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))),
            crc: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
    }

    /// Whether a whole record (`size + length` bytes at the start of `bytes`) carries a matching CRC.
    static func verify(_ header: RecordHeader, record bytes: UnsafeRawBufferPointer) -> Bool {
        let crc = CRC32C.update(
            CRC32C.update(0, UnsafeRawBufferPointer(rebasing: bytes[0..<checkedSize])),
            UnsafeRawBufferPointer(rebasing: bytes[size..<(size + Int(header.length))]))
        return crc == header.crc
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }
}

/// Walks the records of one segment file between two offsets, verifying every CRC.
///
/// After damage (bad magic, implausible length, CRC mismatch, a record running past the end) it searches
/// forward byte by byte for the next offset where a whole record with a matching CRC starts, and reports the
/// bytes in between as one damaged region. Reads go through a buffer of about `chunkSize` bytes, so a
/// sequential walk costs one `pread` per chunk.
struct RecordScanner {
    enum Step {
        /// A verified record at `offset`; its payload is available from `payload()` until the next step.
        case record(RecordHeader, offset: Int)
        /// Bytes that hold no verifiable record; the walk continues after them.
        case damaged(offset: Int, length: Int)
        case end
    }

    let fd: Int32
    let path: String
    /// The walk stops here (the file may be longer; bytes past it are not looked at).
    let end: Int
    private(set) var offset: Int
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var payloadOffset = 0
    private var payloadLength = 0
    private let chunkSize: Int

    init(fd: Int32, path: String, from offset: Int, to end: Int, chunkSize: Int = 256 << 10) {
        self.fd = fd
        self.path = path
        self.offset = offset
        self.end = end
        self.chunkSize = chunkSize
    }

    mutating func next() throws -> Step {
        guard offset < end else { return .end }
        if let header = try record(at: offset) {
            let at = offset
            payloadOffset = at + RecordHeader.size
            payloadLength = Int(header.length)
            offset = at + RecordHeader.size + Int(header.length)
            return .record(header, offset: at)
        }
        let damagedAt = offset
        var candidate = offset + 1
        while let magicAt = try findMagic(from: candidate) {
            if try record(at: magicAt) != nil {
                offset = magicAt
                return .damaged(offset: damagedAt, length: magicAt - damagedAt)
            }
            candidate = magicAt + 1
        }
        offset = end
        return .damaged(offset: damagedAt, length: end - damagedAt)
    }

    /// The payload of the record the last `next()` returned.
    func payload() -> [UInt8] {
        let start = payloadOffset - bufferStart
        return Array(buffer[start..<(start + payloadLength)])
    }

    /// The verified header of a whole record at `at`, or nil.
    private mutating func record(at: Int) throws -> RecordHeader? {
        guard try load(at, count: RecordHeader.size) else { return nil }
        let start = at - bufferStart
        guard
            let header = buffer.withUnsafeBytes({
                RecordHeader.parse(UnsafeRawBufferPointer(rebasing: $0[start..<(start + RecordHeader.size)]))
            })
        else { return nil }
        let total = RecordHeader.size + Int(header.length)
        guard try load(at, count: total) else { return nil }
        let s = at - bufferStart
        let ok = buffer.withUnsafeBytes {
            RecordHeader.verify(header, record: UnsafeRawBufferPointer(rebasing: $0[s..<(s + total)]))
        }
        return ok ? header : nil
    }

    /// The next offset >= `from` where the two magic bytes start, or nil.
    private mutating func findMagic(from: Int) throws -> Int? {
        let lo = UInt8(truncatingIfNeeded: RecordHeader.magic)
        let hi = UInt8(truncatingIfNeeded: RecordHeader.magic >> 8)
        var position = from
        while position + 1 < end {
            guard try load(position, count: min(chunkSize, end - position)) else { return nil }
            let bufferEnd = bufferStart + buffer.count
            let found: Int? = buffer.withUnsafeBytes { raw in
                var i = position - bufferStart
                let last = raw.count - 1
                while i < last {
                    if raw[i] == lo && raw[i + 1] == hi { return bufferStart + i }
                    i += 1
                }
                return nil
            }
            if let found { return found }
            // The pair may straddle the buffer's end: look again from its last byte.
            position = max(position + 1, bufferEnd - 1)
        }
        return nil
    }

    /// Makes `count` bytes at `at` available in the buffer. False when they lie (partly) past `end` or the
    /// file is shorter than expected.
    private mutating func load(_ at: Int, count: Int) throws -> Bool {
        guard at + count <= end else { return false }
        if at >= bufferStart && at + count <= bufferStart + buffer.count { return true }
        let want = min(max(count, chunkSize), end - at)
        // pread straight into fresh storage: no zero-filling, and payloads already handed out are copies.
        buffer = try [UInt8](unsafeUninitializedCapacity: want) { storage, initialized in
            initialized = try POSIX.preadFully(fd, into: UnsafeMutableRawBufferPointer(storage), at: at, path: path)
        }
        bufferStart = at
        let got = buffer.count
        return got >= count
    }
}
