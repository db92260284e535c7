import NIOCore
import WSCore

/// Joins websocket frames into protocol messages and enforces the size limit on the whole message (the frame
/// decoder only limits single frames). Text only: a binary frame is a protocol error.
struct MessageAssembler {
    let maxBytes: Int
    private var partial: ByteBuffer?

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    /// The complete message this frame ends, or nil when more frames must follow.
    mutating func feed(_ frame: WebSocketDataFrame) throws(WireError) -> ByteBuffer? {
        var message: ByteBuffer
        switch frame.opcode {
        case .binary:
            throw WireError(.binary, "binary frames are not part of the protocol; send JSON text frames")
        case .text:
            guard partial == nil else {
                throw WireError(.malformed, "a new message started before the previous one ended")
            }
            message = frame.data
        case .continuation:
            guard var p = partial else { throw WireError(.malformed, "a continuation frame with no message") }
            partial = nil
            var data = frame.data
            p.writeBuffer(&data)
            message = p
        }
        guard message.readableBytes <= maxBytes else {
            throw WireError(.tooBig, "message larger than \(maxBytes) bytes (max_message_bytes)")
        }
        guard frame.fin else {
            partial = message
            return nil
        }
        return message
    }
}

extension WireCodec {
    /// Decodes a message straight from a frame's buffer.
    static func decode(_ buffer: ByteBuffer, limits: WireLimits) throws(WireError) -> WireMessage {
        let result = buffer.withUnsafeReadableBytes { raw -> Result<WireMessage, WireError> in
            do throws(WireError) {
                return .success(try decode(raw.assumingMemoryBound(to: UInt8.self), limits: limits))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

extension WebSocketOutboundWriter {
    /// Sends one protocol message as one text frame.
    func send(_ message: WireMessage) async throws {
        try await sendJSON(WireCodec.encode(message))
    }

    /// One text frame from bytes that hold one JSON message, without a round trip through `String`.
    func sendJSON(_ bytes: [UInt8]) async throws {
        let buffer = ByteBuffer(bytes: bytes)
        try await withTextMessageWriter { write in try await write(buffer) }
    }
}
