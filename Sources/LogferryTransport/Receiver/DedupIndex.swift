import LogferryCore

/// What the receiver knows has been stored: per origin node the highest origin sequence, per stream the highest
/// stream sequence. A pure value; `IngestLedger` wraps it for concurrent connections.
///
/// Why a high-water mark per origin is enough: the events of one origin reach a receiver in origin order through
/// one path (an edge reads its journal in order; a relay forwards its journal in order and keeps the origins), so
/// "seen" is "at or below the mark". An event at or below the mark is a duplicate: acknowledged with its ID, not
/// stored again.
///
/// Serialized layout (the `receiver-index` cursor's state, little-endian):
/// `"LFDX" | version u8 = 1 | origins u32 | (node 16 bytes, seq u64)* | streams u32 | (len u16, utf8, seq u64)*`.
public struct DedupIndex: Sendable, Equatable {
    public enum Admission: Sendable, Equatable {
        /// Not seen: store it.
        case new
        /// At or below the origin's mark: already stored.
        case duplicate
    }

    public private(set) var origins: [NodeIdentity: UInt64] = [:]
    public private(set) var streams: [String: UInt64] = [:]

    public init() {}

    /// The highest origin sequence stored for `node` (0 when none).
    public func highwater(_ node: NodeIdentity) -> UInt64 { origins[node] ?? 0 }

    /// The highest stream sequence committed for `stream` (0 when unknown).
    public func committed(stream: String) -> UInt64 { streams[stream] ?? 0 }

    /// Whether an event with this origin would be new, without recording it.
    public func classify(_ origin: EventOrigin) -> Admission {
        origin.seq > highwater(origin.node) ? .new : .duplicate
    }

    /// Classifies and, when new, records the origin as stored.
    @discardableResult
    public mutating func admit(origin: EventOrigin) -> Admission {
        let hw = origins[origin.node] ?? 0
        guard origin.seq > hw else { return .duplicate }
        origins[origin.node] = origin.seq
        return .new
    }

    /// Raises an origin's mark (never lowers it).
    public mutating func raise(_ node: NodeIdentity, to seq: UInt64) {
        if seq > origins[node] ?? 0 { origins[node] = seq }
    }

    /// Records that every record of `stream` through `seq` is stored (never lowers it).
    public mutating func record(stream: String, through seq: UInt64) {
        if seq > streams[stream] ?? 0 { streams[stream] = seq }
    }

    // MARK: Serialization

    private static let magic: [UInt8] = Array("LFDX".utf8)

    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(13 + origins.count * 24 + streams.reduce(0) { $0 + 10 + $1.key.utf8.count })
        out.append(contentsOf: Self.magic)
        out.append(1)
        Self.put(UInt32(origins.count), &out)
        // Sorted so equal indexes serialize to equal bytes.
        for (node, seq) in origins.sorted(by: { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }) {
            out.append(contentsOf: node.bytes)
            Self.put(seq, &out)
        }
        Self.put(UInt32(streams.count), &out)
        for (name, seq) in streams.sorted(by: { $0.key < $1.key }) {
            let u = Array(name.utf8.prefix(Int(UInt16.max)))
            Self.put(UInt16(u.count), &out)
            out.append(contentsOf: u)
            Self.put(seq, &out)
        }
        return out
    }

    /// Restores an index; empty bytes give an empty index (a cursor that never committed state).
    public init(serialized bytes: [UInt8]) throws(DedupIndexError) {
        if bytes.isEmpty { return }
        var r = Reader(bytes: bytes)
        guard try r.take(4) == Self.magic else { throw DedupIndexError("not a receiver index (bad magic)") }
        let version = try r.take(1)[0]
        guard version == 1 else { throw DedupIndexError("receiver index version \(version) is not supported") }
        let nOrigins = try r.u32()
        guard Int(nOrigins) <= bytes.count / 24 else { throw DedupIndexError("origin count \(nOrigins) is impossible") }
        for _ in 0..<nOrigins {
            let node = NodeIdentity(bytes: try r.take(16))!
            origins[node] = try r.u64()
        }
        let nStreams = try r.u32()
        guard Int(nStreams) <= bytes.count / 10 else { throw DedupIndexError("stream count \(nStreams) is impossible") }
        for _ in 0..<nStreams {
            let len = Int(try r.u16())
            let name = String(decoding: try r.take(len), as: UTF8.self)
            streams[name] = try r.u64()
        }
        guard r.pos == bytes.count else { throw DedupIndexError("trailing bytes after the receiver index") }
    }

    private static func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private struct Reader {
        let bytes: [UInt8]
        var pos = 0

        mutating func take(_ n: Int) throws(DedupIndexError) -> [UInt8] {
            guard n >= 0, bytes.count - pos >= n else { throw DedupIndexError("truncated receiver index") }
            defer { pos += n }
            return Array(bytes[pos..<pos + n])
        }

        mutating func int<T: FixedWidthInteger>(_: T.Type) throws(DedupIndexError) -> T {
            let b = try take(MemoryLayout<T>.size)
            var v: T = 0
            for (i, x) in b.enumerated() { v |= T(x) << (8 * i) }
            return v
        }

        mutating func u16() throws(DedupIndexError) -> UInt16 { try int(UInt16.self) }
        mutating func u32() throws(DedupIndexError) -> UInt32 { try int(UInt32.self) }
        mutating func u64() throws(DedupIndexError) -> UInt64 { try int(UInt64.self) }
    }
}

public struct DedupIndexError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
