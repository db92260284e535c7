import WSCore

/// The websocket close codes a logferry receiver uses, and what each tells the sender.
///
/// A sender treats every close the same way (reconnect with backoff, resend what was not acknowledged); the code
/// and the `error` message before it say why, for the logs and for whoever reads them.
public enum CloseCode: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// 1000: the peer is done: a sender that drained on shutdown, a receiver shutting down.
    case normal = 1000
    /// 1001: a sender gave up on the connection (no welcome or no ack in time).
    case goingAway = 1001
    /// 1002: malformed JSON, an unknown `type`, a batch before `hello`, a field of the wrong type, an ack that does
    /// not match (sender side).
    case protocolError = 1002
    /// 1003: a binary frame (the protocol is JSON text frames only).
    case unsupportedData = 1003
    /// 1008: policy: too many events in a batch, an unsupported protocol version, no `hello` in time.
    case policyViolation = 1008
    /// 1009: a message larger than the receiver's `max_message_bytes`.
    case messageTooBig = 1009
    /// 1011: the receiver could not store the batch (its journal failed); retry later.
    case internalError = 1011

    public var description: String { "\(rawValue) (\(name))" }

    var name: String {
        switch self {
        case .normal: "normal closure"
        case .goingAway: "going away"
        case .protocolError: "protocol error"
        case .unsupportedData: "unsupported data"
        case .policyViolation: "policy violation"
        case .messageTooBig: "message too big"
        case .internalError: "internal error"
        }
    }

    /// Sends a close frame with this code. The implicit members keep NIOWebSocket's type out of this module's imports.
    func send(on outbound: WebSocketOutboundWriter, reason: String) async throws {
        // A close frame's payload is at most 125 bytes; cutting may split a character, which decoding repairs.
        let reason = String(decoding: reason.utf8.prefix(120), as: UTF8.self)
        switch self {
        case .normal: try await outbound.close(.normalClosure, reason: reason)
        case .goingAway: try await outbound.close(.goingAway, reason: reason)
        case .protocolError: try await outbound.close(.protocolError, reason: reason)
        case .unsupportedData: try await outbound.close(.unacceptableData, reason: reason)
        case .policyViolation: try await outbound.close(.policyViolation, reason: reason)
        case .messageTooBig: try await outbound.close(.messageTooLarge, reason: reason)
        case .internalError: try await outbound.close(.unexpectedServerError, reason: reason)
        }
    }

    /// Maps a received close frame's code to a `CloseCode`, nil for codes logferry does not send.
    static func from(_ frame: WebSocketCloseFrame?) -> CloseCode? {
        guard let frame else { return nil }
        switch frame.closeCode {
        case .normalClosure: return .normal
        case .goingAway: return .goingAway
        case .protocolError: return .protocolError
        case .unacceptableData: return .unsupportedData
        case .policyViolation: return .policyViolation
        case .messageTooLarge: return .messageTooBig
        case .unexpectedServerError: return .internalError
        default: return nil
        }
    }
}

/// The `code` of an `error` message: a stable machine-readable name (docs/PROTOCOL.md lists them).
public enum WireErrorCode: String, Sendable, CaseIterable {
    /// The message is not valid JSON, not an object, or a field is missing or of the wrong type.
    case malformed
    /// The `type` is not one this side accepts.
    case unknownType = "unknown_type"
    /// A message out of order: no `hello` first, a second `hello`, a batch number or sequence that went backwards.
    case unexpected
    /// The `hello` asked for a protocol version this receiver does not speak.
    case unsupportedVersion = "unsupported_version"
    /// A batch with more events than `max_batch_events`.
    case tooManyEvents = "too_many_events"
    /// A message larger than `max_message_bytes`.
    case tooBig = "too_big"
    /// A binary frame.
    case binary
    /// No `hello` within the receiver's hello timeout.
    case helloTimeout = "hello_timeout"
    /// The receiver's journal refused the batch.
    case storage

    /// The close code that follows an `error` with this code.
    public var closeCode: CloseCode {
        switch self {
        case .malformed, .unknownType, .unexpected: .protocolError
        case .unsupportedVersion, .tooManyEvents, .helloTimeout: .policyViolation
        case .tooBig: .messageTooBig
        case .binary: .unsupportedData
        case .storage: .internalError
        }
    }
}
