import LogferryCore

/// A message that breaks the protocol: what the peer is told (`error` message) and how the connection closes.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: WireErrorCode
    public var message: String

    public init(_ code: WireErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var closeCode: CloseCode { code.closeCode }
    public var description: String { "\(code.rawValue): \(message)" }
}

/// Limits a decoder enforces beyond the message size (which is checked before decoding).
public struct WireLimits: Sendable, Equatable {
    /// Most events accepted in one batch.
    public var maxBatchEvents: Int

    public init(maxBatchEvents: Int = 10_000) {
        self.maxBatchEvents = maxBatchEvents
    }
}

/// JSON <-> `WireMessage`. Decoding never traps on hostile input: every failure is a `WireError`.
///
/// Integers on the wire are JSON integers in 0...2^63-1 (no fraction, no exponent); the fields named "u64" in
/// docs/PROTOCOL.md are read into `UInt64`. Unknown fields are ignored, so later minor revisions can add some.
public enum WireCodec {
    // MARK: Decoding

    public static func decode(_ bytes: [UInt8], limits: WireLimits = WireLimits()) throws(WireError) -> WireMessage {
        try bytes.withUnsafeBufferPointer { (buf) throws(WireError) -> WireMessage in try decode(buf, limits: limits) }
    }

    public static func decode(_ string: String, limits: WireLimits = WireLimits()) throws(WireError) -> WireMessage {
        try decode(Array(string.utf8), limits: limits)
    }

    public static func decode(_ buf: UnsafeBufferPointer<UInt8>, limits: WireLimits = WireLimits()) throws(WireError)
        -> WireMessage
    {
        // One pass with a pull reader: the members of the message are built, except each event's `doc`, which is
        // validated and kept as bytes (a receiver stores documents, it does not need their values).
        var obj = JSONObject()
        var events: [WireEvent]?
        do {
            var r = JSONReader(buf)
            guard r.peek == UInt8(ascii: "{") else {
                _ = try JSONParser.validate(buf)
                throw WireError(.malformed, "a message must be a JSON object")
            }
            if try r.beginObject() {
                repeat {
                    let key = try r.key()
                    if key == "events", r.peek == UInt8(ascii: "[") {
                        events = try readEvents(&r, buf, limits: limits)
                    } else {
                        obj[key] = try r.value()
                    }
                } while try r.nextMember()
            }
            try r.end()
        } catch let e as WireError {
            throw e
        } catch {
            throw WireError(.malformed, "not JSON: \(error)")
        }
        guard let typeValue = obj["type"] else { throw WireError(.malformed, "missing \"type\"") }
        guard case .string(let type) = typeValue else { throw WireError(.malformed, "\"type\" must be a string") }
        switch type {
        case "hello":
            let version = try int(obj, "version")
            let stream = try string(obj, "stream")
            let node = try optionalString(obj, "node") ?? ""
            return .hello(Hello(version: version, stream: stream, node: node))
        case "welcome":
            return .welcome(
                Welcome(
                    version: try int(obj, "version"),
                    committed: try u64(obj, "committed"),
                    maxMessageBytes: try optionalInt(obj, "max_message_bytes"),
                    maxBatchEvents: try optionalInt(obj, "max_batch_events")))
        case "batch":
            let number = try u64(obj, "batch")
            guard let events else {
                if obj["events"] == nil { throw WireError(.malformed, "batch: missing \"events\"") }
                throw WireError(.malformed, "batch: \"events\" must be an array")
            }
            guard !events.isEmpty else { throw WireError(.malformed, "batch: \"events\" must not be empty") }
            return .batch(Batch(batch: number, events: events))
        case "ack":
            let number = try u64(obj, "batch")
            let through = try u64(obj, "through")
            guard let idsValue = obj["ids"], case .array(let items) = idsValue else {
                throw WireError(.malformed, "ack: \"ids\" must be an array of strings")
            }
            var ids: [String] = []
            ids.reserveCapacity(items.count)
            for item in items {
                guard case .string(let id) = item else { throw WireError(.malformed, "ack: \"ids\" must hold strings") }
                ids.append(id)
            }
            return .ack(Ack(batch: number, through: through, ids: ids))
        case "error":
            return .error(
                ErrorMessage(code: try string(obj, "code"), message: try optionalString(obj, "message") ?? ""))
        default:
            throw WireError(.unknownType, "unknown message type \"\(type.prefix(40))\"")
        }
    }

    /// A batch's `events` array. Each `doc` is validated and kept as the sender's bytes; only a document with an
    /// `_id` member, an escaped key (which might spell `_id`) or bytes that are not UTF-8 is parsed and rendered
    /// again (without `_id`, repaired), the rare path.
    private static func readEvents(_ r: inout JSONReader, _ buf: UnsafeBufferPointer<UInt8>, limits: WireLimits) throws
        -> [WireEvent]
    {
        var events: [WireEvent] = []
        guard try r.beginArray() else { return events }
        var total = 0
        repeat {
            defer { total += 1 }
            if total >= limits.maxBatchEvents {
                _ = try r.skip()  // counted for the error, not decoded
                continue
            }
            let i = total
            guard r.peek == UInt8(ascii: "{") else { throw WireError(.malformed, "batch: event \(i) is not an object") }
            var e = JSONObject()
            var document: [UInt8]?
            if try r.beginObject() {
                repeat {
                    let key = try r.key()
                    if key == "doc" {
                        guard r.peek == UInt8(ascii: "{") else {
                            throw WireError(.malformed, "event \(i): \"doc\" must be a JSON object")
                        }
                        r.sawInvalidUTF8 = false
                        let range = try r.skip()
                        document = storedDocument(UnsafeBufferPointer(rebasing: buf[range]), repair: r.sawInvalidUTF8)
                    } else {
                        e[key] = try r.value()
                    }
                } while try r.nextMember()
            }
            let seq = try u64(e, "seq", context: "event \(i)")
            let originHex = try string(e, "origin", context: "event \(i)")
            guard let node = NodeIdentity(hex: originHex) else {
                throw WireError(.malformed, "event \(i): \"origin\" must be 32 hex digits")
            }
            let oseq = try u64(e, "oseq", context: "event \(i)")
            guard seq >= 1, oseq >= 1 else { throw WireError(.malformed, "event \(i): sequences start at 1") }
            guard let document else { throw WireError(.malformed, "event \(i): missing \"doc\"") }
            events.append(WireEvent(seq: seq, origin: EventOrigin(node: node, seq: oseq), document: document))
        } while try r.nextElement()
        if total > limits.maxBatchEvents {
            throw WireError(
                .tooManyEvents, "batch of \(total) events; this receiver takes at most \(limits.maxBatchEvents)")
        }
        return events
    }

    /// The bytes to store for a validated document object: as they are, unless it may hold `_id` (the ID comes
    /// from the origin; a peer's `_id` would clash with it) or needs UTF-8 repair.
    static func storedDocument(_ doc: UnsafeBufferPointer<UInt8>, repair: Bool) -> [UInt8] {
        if !repair && !mayHoldIDOrEscapedKey(doc) { return Array(doc) }
        guard case .object(var object)? = try? JSONParser.parse(doc) else { return Array(doc) }
        object["_id"] = nil
        return JSONWriter.render(.object(object))
    }

    /// Whether `"_id"` or a `\u` escape occurs anywhere in the bytes (a cheap over-approximation of "a member is
    /// named _id").
    private static func mayHoldIDOrEscapedKey(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = b.count
        while i + 1 < n {
            if b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") { return true }
            if b[i] == UInt8(ascii: "_"), i > 0, i + 3 < n, b[i - 1] == UInt8(ascii: "\""),
                b[i + 1] == UInt8(ascii: "i"),
                b[i + 2] == UInt8(ascii: "d"), b[i + 3] == UInt8(ascii: "\"")
            {
                return true
            }
            i += 1
        }
        return false
    }

    private static func field(_ obj: JSONObject, _ key: String, _ context: String?) -> String {
        context.map { "\($0): \"\(key)\"" } ?? "\"\(key)\""
    }

    private static func u64(_ obj: JSONObject, _ key: String, context: String? = nil) throws(WireError) -> UInt64 {
        guard let v = obj[key] else { throw WireError(.malformed, "missing \(field(obj, key, context))") }
        guard case .int(let i) = v, i >= 0 else {
            throw WireError(.malformed, "\(field(obj, key, context)) must be a non-negative integer")
        }
        return UInt64(i)
    }

    private static func int(_ obj: JSONObject, _ key: String) throws(WireError) -> Int {
        guard let v = obj[key] else { throw WireError(.malformed, "missing \"\(key)\"") }
        guard case .int(let i) = v, i >= 0, i <= Int64(Int32.max) else {
            throw WireError(.malformed, "\"\(key)\" must be a small non-negative integer")
        }
        return Int(i)
    }

    private static func optionalInt(_ obj: JSONObject, _ key: String) throws(WireError) -> Int? {
        guard let v = obj[key], v != .null else { return nil }
        guard case .int(let i) = v, i >= 0 else {
            throw WireError(.malformed, "\"\(key)\" must be a non-negative integer")
        }
        return Int(i)
    }

    private static func string(_ obj: JSONObject, _ key: String, context: String? = nil) throws(WireError) -> String {
        guard let v = obj[key] else { throw WireError(.malformed, "missing \(field(obj, key, context))") }
        guard case .string(let s) = v else {
            throw WireError(.malformed, "\(field(obj, key, context)) must be a string")
        }
        return s
    }

    private static func optionalString(_ obj: JSONObject, _ key: String) throws(WireError) -> String? {
        guard let v = obj[key], v != .null else { return nil }
        guard case .string(let s) = v else { throw WireError(.malformed, "\"\(key)\" must be a string") }
        return s
    }

    // MARK: Encoding

    /// Renders a message as compact JSON (fields in the order docs/PROTOCOL.md lists them).
    public static func encode(_ message: WireMessage) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        switch message {
        case .hello(let h):
            w.bytes.append(contentsOf: #"{"type":"hello","version":"#.utf8)
            w.writeInt(h.version)
            w.bytes.append(contentsOf: #","stream":"#.utf8)
            w.writeString(h.stream)
            w.bytes.append(contentsOf: #","node":"#.utf8)
            w.writeString(h.node)
            w.bytes.append(UInt8(ascii: "}"))
        case .welcome(let m):
            w.bytes.append(contentsOf: #"{"type":"welcome","version":"#.utf8)
            w.writeInt(m.version)
            w.bytes.append(contentsOf: #","committed":"#.utf8)
            w.writeInt(m.committed)
            if let n = m.maxMessageBytes {
                w.bytes.append(contentsOf: #","max_message_bytes":"#.utf8)
                w.writeInt(n)
            }
            if let n = m.maxBatchEvents {
                w.bytes.append(contentsOf: #","max_batch_events":"#.utf8)
                w.writeInt(n)
            }
            w.bytes.append(UInt8(ascii: "}"))
        case .batch(let b):
            var e = BatchEncoder(batch: b.batch)
            for ev in b.events {
                e.append(seq: ev.seq, origin: ev.origin, document: ev.document)
            }
            return e.finish()
        case .ack(let a):
            return encodeAck(batch: a.batch, through: a.through, ids: a.ids)
        case .error(let m):
            w.bytes.append(contentsOf: #"{"type":"error","code":"#.utf8)
            w.writeString(m.code)
            w.bytes.append(contentsOf: #","message":"#.utf8)
            w.writeString(m.message)
            w.bytes.append(UInt8(ascii: "}"))
        }
        return w.bytes
    }

    /// An `ack` without building an `Ack` first (the receiver's hot path).
    public static func encodeAck(batch: UInt64, through: UInt64, ids: some Sequence<String>) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + 52 * ids.underestimatedCount)
        w.bytes.append(contentsOf: #"{"type":"ack","batch":"#.utf8)
        w.writeInt(batch)
        w.bytes.append(contentsOf: #","through":"#.utf8)
        w.writeInt(through)
        w.bytes.append(contentsOf: #","ids":["#.utf8)
        var first = true
        for id in ids {
            if !first { w.bytes.append(UInt8(ascii: ",")) }
            first = false
            w.writeString(id)
        }
        w.bytes.append(contentsOf: "]}".utf8)
        return w.bytes
    }
}

/// Builds a `batch` message from journal documents without re-parsing them: each document's bytes are spliced
/// in as they are, so the caller must know they are one JSON object (the sender checks each before appending).
public struct BatchEncoder: Sendable {
    private var bytes: [UInt8]
    /// Events appended so far.
    public private(set) var count = 0
    /// `seq` of the last event appended (0 when empty).
    public private(set) var lastSeq: UInt64 = 0

    /// Bytes one event adds on top of its document, at most (separator, keys, two 20-digit numbers, the origin).
    public static let eventOverhead = 112
    /// Bytes of the envelope around the events, at most.
    public static let envelopeOverhead = 64

    public init(batch: UInt64, capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(contentsOf: #"{"type":"batch","batch":"#.utf8)
        var w = JSONWriter(capacity: 20)
        w.writeInt(batch)
        bytes.append(contentsOf: w.bytes)
        bytes.append(contentsOf: #","events":["#.utf8)
    }

    /// Size of the message if it were finished now.
    public var byteCount: Int { bytes.count + 2 }

    public mutating func append(seq: UInt64, origin: EventOrigin, document: [UInt8]) {
        if count > 0 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: #"{"seq":"#.utf8)
        appendInt(seq)
        bytes.append(contentsOf: #","origin":""#.utf8)
        appendHex(origin.node.bytes)
        bytes.append(contentsOf: #"","oseq":"#.utf8)
        appendInt(origin.seq)
        bytes.append(contentsOf: #","doc":"#.utf8)
        bytes.append(contentsOf: document)
        bytes.append(UInt8(ascii: "}"))
        count += 1
        lastSeq = seq
    }

    public consuming func finish() -> [UInt8] {
        bytes.append(contentsOf: "]}".utf8)
        return bytes
    }

    private mutating func appendInt(_ v: UInt64) {
        if v == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        let start = bytes.count
        var m = v
        while m > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(m % 10))
            m /= 10
        }
        bytes[start...].reverse()
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func appendHex(_ b: [UInt8]) {
        for x in b {
            bytes.append(Self.digits[Int(x >> 4)])
            bytes.append(Self.digits[Int(x & 0xF)])
        }
    }
}
