/// The protocol rules of one receiver connection, without I/O: `hello` first and once, batch numbers and
/// stream sequences increasing. The connection feeds it every decoded message and acts on what it returns.
struct ReceiverSession: Sendable {
    enum Action: Sendable, Equatable {
        /// Reply with a `welcome` for this stream.
        case welcome(stream: String)
        /// Store this batch and acknowledge it.
        case ingest(Batch)
    }

    private(set) var stream: String?
    private(set) var node: String?
    private var lastBatch: UInt64 = 0
    private var lastSeq: UInt64 = 0

    mutating func receive(_ message: WireMessage) throws(WireError) -> Action {
        switch message {
        case .hello(let h):
            guard stream == nil else { throw WireError(.unexpected, "a second hello on one connection") }
            guard h.version == ProtocolV1.version else {
                throw WireError(
                    .unsupportedVersion, "protocol version \(h.version) is not supported; this receiver speaks 1")
            }
            try Self.checkName(h.stream, field: "stream", allowEmpty: false)
            try Self.checkName(h.node, field: "node", allowEmpty: true)
            stream = h.stream
            node = h.node
            return .welcome(stream: h.stream)
        case .batch(let b):
            guard stream != nil else { throw WireError(.unexpected, "a batch before hello") }
            guard b.batch > lastBatch else {
                throw WireError(.unexpected, "batch \(b.batch) after batch \(lastBatch): batch numbers must increase")
            }
            var prev = lastSeq
            for e in b.events {
                guard e.seq > prev else {
                    throw WireError(.unexpected, "seq \(e.seq) after \(prev): stream sequences must increase")
                }
                prev = e.seq
            }
            lastBatch = b.batch
            lastSeq = prev
            return .ingest(b)
        case .welcome, .ack, .error:
            throw WireError(.unknownType, "a receiver does not accept \"\(message.type)\" messages")
        }
    }

    private static func checkName(_ s: String, field: String, allowEmpty: Bool) throws(WireError) {
        let n = s.utf8.count
        guard allowEmpty || n > 0 else { throw WireError(.malformed, "hello: \"\(field)\" must not be empty") }
        guard n <= ProtocolV1.maxNameBytes else {
            throw WireError(.malformed, "hello: \"\(field)\" is longer than \(ProtocolV1.maxNameBytes) bytes")
        }
        guard !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw WireError(.malformed, "hello: \"\(field)\" holds control characters")
        }
    }
}
