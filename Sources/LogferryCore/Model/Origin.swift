#if canImport(Glibc)
    import Glibc
#endif

/// A node's persistent identity: 16 random bytes created once in the data directory (`node-id`) and kept
/// for the life of the data directory. It is what makes document IDs unique across a fleet, so it is never
/// derived from the hostname (clones and renames would collide).
public struct NodeIdentity: Sendable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses the 32-hex-digit form.
    public init?(hex: String) {
        let u = Array(hex.utf8)
        guard u.count == 32 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for i in stride(from: 0, to: 32, by: 2) {
            guard let h = Self.nibble(u[i]), let l = Self.nibble(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
        }
        self.bytes = out
    }

    public static func random() -> NodeIdentity {
        var g = SystemRandomNumberGenerator()
        return NodeIdentity(bytes: (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) })!
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }

    public var hex: String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in writeHex(into: out, at: 0) }
    }

    /// Writes the 2 × `bytes.count` lowercase hex digits at `at`; returns the offset past them.
    @inline(__always)
    func writeHex(into out: UnsafeMutableBufferPointer<UInt8>, at: Int) -> Int {
        var i = at
        for b in bytes {
            out[i] = Self.digit(b >> 4)
            out[i + 1] = Self.digit(b & 0xF)
            i += 2
        }
        return i
    }

    @inline(__always)
    private static func digit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }

    public var description: String { hex }

    /// Loads `DIR/node-id`, creating it (atomically, fsynced) on first use.
    public static func loadOrCreate(dataDirectory: String) throws -> NodeIdentity {
        let path = dataDirectory + "/node-id"
        if let text = try? readSmallFile(path) {
            let trimmed = text.trimmingCharacters(in: " \n\r\t")
            guard let id = NodeIdentity(hex: trimmed) else {
                throw CoreIOError(
                    operation: "read node identity", path: path,
                    message: "not 32 hex digits; restore it from backup, or delete it to make a new identity "
                        + "(a new identity restarts document IDs and deduplication for this node)")
            }
            return id
        }
        let id = NodeIdentity.random()
        try writeFileAtomically(path, Array((id.hex + "\n").utf8))
        return id
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// Where an event entered the system: the node that first journaled it and its sequence number there.
/// Every tier carries the origin unchanged, so every tier derives the same document ID.
public struct EventOrigin: Sendable, Hashable {
    public var node: NodeIdentity
    public var seq: UInt64

    public init(node: NodeIdentity, seq: UInt64) {
        self.node = node
        self.seq = seq
    }

    /// The document ID: a pure function of the origin, `<node hex>-<seq>`.
    /// Built in one buffer (it is made for every event a destination writes or a receiver acknowledges).
    public var documentID: String {
        String(unsafeUninitializedCapacity: node.bytes.count * 2 + 21) { out in
            var i = node.writeHex(into: out, at: 0)
            out[i] = UInt8(ascii: "-")
            i += 1
            var digits: (UInt64, Int) = (seq, 0)
            repeat {
                digits.1 += 1
                digits.0 /= 10
            } while digits.0 > 0
            var v = seq
            var j = i + digits.1 - 1
            repeat {
                out[j] = UInt8(truncatingIfNeeded: v % 10) + 0x30
                v /= 10
                j -= 1
            } while v > 0
            return i + digits.1
        }
    }
}

/// The journal payload of a node: an event document plus its origin.
///
/// Layout (version 1): `0x01 | flags u8 | [node 16 bytes | origin seq u64 LE] if flags&1 | document JSON`.
/// An event that entered at this node has no explicit origin: its origin is (this node, its own journal
/// sequence), known only once the journal assigned the sequence, so it is resolved on read.
public struct SpooledEvent: Sendable, Equatable {
    public var origin: EventOrigin?
    /// The event's JSON document (an object), UTF-8, without `_id`.
    public var document: [UInt8]

    public init(origin: EventOrigin?, document: [UInt8]) {
        self.origin = origin
        self.document = document
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(document.count + 26)
        if let o = origin {
            out.append(1)  // version
            out.append(1)  // flags: explicit origin
            out.append(contentsOf: o.node.bytes)
            withUnsafeBytes(of: o.seq.littleEndian) { out.append(contentsOf: $0) }
        } else {
            Self.appendLocalHeader(to: &out)
        }
        out.append(contentsOf: document)
        return out
    }

    /// Appends the envelope header of an event that entered at this node (no explicit origin); the document
    /// follows it directly. Lets a renderer write header and document into one buffer, without the copy that
    /// `encoded()` makes.
    public static func appendLocalHeader(to out: inout [UInt8]) {
        out.append(1)
        out.append(0)
    }

    public static func decode(_ payload: [UInt8]) throws(SpooledEventError) -> SpooledEvent {
        guard payload.count >= 2, payload[0] == 1 else { throw SpooledEventError() }
        if payload[1] & 1 == 0 { return SpooledEvent(origin: nil, document: Array(payload[2...])) }
        guard payload.count >= 26 else { throw SpooledEventError() }
        let node = NodeIdentity(bytes: Array(payload[2..<18]))!
        var seq: UInt64 = 0
        for i in 0..<8 { seq |= UInt64(payload[18 + i]) << (8 * UInt64(i)) }
        return SpooledEvent(origin: EventOrigin(node: node, seq: seq), document: Array(payload[26...]))
    }

    /// The origin of a record read from `localNode`'s journal at `seq`.
    public func resolvedOrigin(localNode: NodeIdentity, seq: UInt64) -> EventOrigin {
        origin ?? EventOrigin(node: localNode, seq: seq)
    }
}

public struct SpooledEventError: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "journal record is not a logferry event (unknown envelope)" }
}

/// Splices `"_id":"…"` in as the first key of a JSON object document, without re-parsing it.
public func documentWithID(_ document: [UInt8], id: String) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(document.count + id.utf8.count + 10)
    out.append(contentsOf: "{\"_id\":\"".utf8)
    out.append(contentsOf: id.utf8)  // IDs are hex, '-' and digits: nothing to escape
    out.append(UInt8(ascii: "\""))
    // Skip the opening brace; add a comma unless the object is empty.
    var i = 0
    while i < document.count, document[i] != UInt8(ascii: "{") { i += 1 }
    i += 1
    var j = i
    while j < document.count, document[j] == 0x20 || document[j] == 0x0A || document[j] == 0x09 || document[j] == 0x0D {
        j += 1
    }
    if j < document.count, document[j] != UInt8(ascii: "}") { out.append(UInt8(ascii: ",")) }
    if i <= document.count { out.append(contentsOf: document[min(i, document.count)...]) }
    return out
}
