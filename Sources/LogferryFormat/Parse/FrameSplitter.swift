import LogferryCore

/// How a byte stream is cut into messages (`--framing` of `logferry parse`, stream sources).
public enum Framing: String, Sendable, CaseIterable {
    /// The whole stream is one message.
    case none
    /// One message per line (`\n`; a `\r` before it is dropped). Empty lines are skipped.
    case lines
    /// RFC 6587: `LENGTH SP MESSAGE` frames. As RFC 6587 §3.4 suggests for receivers, a frame that starts with
    /// anything but a digit is read as a line instead (non-transparent framing), so mixed senders work.
    case octetCounted = "octet-counted"
}

/// One message cut from a stream. `error` is set when the framing itself was broken (a bad length, a stream
/// that ended inside a frame); `SyslogParser.parse(_:context:)` then records it as the event's `parseError`.
public struct Frame: Sendable, Equatable {
    public var bytes: [UInt8]
    public var error: String?

    public init(_ bytes: [UInt8], error: String? = nil) {
        self.bytes = bytes
        self.error = error
    }
}

/// Cuts a byte stream into frames incrementally: bytes arrive in any split (one at a time, several frames at
/// once), and `finish()` returns what is left at end of stream.
///
/// Memory is bounded by `maxFrameBytes`: a longer frame is truncated to it (the rest of that frame is read
/// and dropped, so the stream stays in sync) and counted in `truncatedFrames`, as rsyslog and syslog-ng do.
/// A bad octet count (not digits then a space, or more than 10 digits) cannot be resynchronised by length, so
/// the splitter reads up to the next newline and returns those bytes as one frame with an `error`.
public struct FrameSplitter: Sendable {
    public let framing: Framing
    public let maxFrameBytes: Int
    /// Frames cut to `maxFrameBytes` so far.
    public private(set) var truncatedFrames = 0

    private enum State: Sendable {
        /// Between frames (octet counting: deciding how the next frame is framed).
        case idle
        /// Reading a line.
        case line
        /// Reading the digits of an octet count (kept in `pending`).
        case count(Int)
        /// Reading a counted frame body: `remaining` bytes still belong to it.
        case body(remaining: Int)
        /// Reading the rest of a line after a bad octet count; it becomes an error frame.
        case badCount
    }

    private var state: State = .idle
    private var pending: [UInt8] = []
    /// Whether the frame being read was already cut (so it is counted once).
    private var currentTruncated = false
    /// For `body`: the declared length, for the error message of a frame cut short by end of stream.
    private var declaredLength = 0

    public init(framing: Framing, maxFrameBytes: Int = ParseContext.defaultMaxMessageBytes) {
        self.framing = framing
        self.maxFrameBytes = max(1, maxFrameBytes)
    }

    public mutating func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> [Frame] {
        if let frames = bytes.withContiguousStorageIfAvailable({ feed(buffer: $0) }) { return frames }
        return Array(bytes).withUnsafeBufferPointer { feed(buffer: $0) }
    }

    public mutating func feed(buffer b: UnsafeBufferPointer<UInt8>) -> [Frame] {
        var out: [Frame] = []
        var i = 0
        switch framing {
        case .none:
            appendPending(b, 0..<b.count)
        case .lines:
            while i < b.count { i = readLine(b, from: i, into: &out) }
        case .octetCounted:
            while i < b.count { i = readOctetCounted(b, from: i, into: &out) }
        }
        return out
    }

    /// End of stream: returns the partial last frame, if any, and resets the splitter.
    public mutating func finish() -> [Frame] {
        var out: [Frame] = []
        switch state {
        case .idle:
            if framing == .none, !pending.isEmpty { out.append(Frame(pending)) }
        case .line:
            emit(into: &out)
        case .count:
            clampPending()
            out.append(Frame(pending, error: "octet counting: stream ended inside a frame length"))
        case .body(let remaining):
            let got = declaredLength - remaining
            out.append(Frame(pending, error: "octet counting: stream ended after \(got) of \(declaredLength) bytes"))
        case .badCount:
            emit(into: &out, error: Self.badCountError)
        }
        state = .idle
        pending = []
        currentTruncated = false
        return out
    }

    private static let badCountError = "octet counting: invalid frame length (expected digits and a space)"

    /// Appends what fits under the limit and drops the rest, counting the frame as truncated once.
    private mutating func appendPending(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        let room = maxFrameBytes - pending.count
        if range.count <= room {
            pending.append(contentsOf: UnsafeBufferPointer(rebasing: b[range]))
            return
        }
        if room > 0 {
            pending.append(contentsOf: UnsafeBufferPointer(rebasing: b[range.lowerBound..<(range.lowerBound + room)]))
        }
        if !currentTruncated {
            currentTruncated = true
            truncatedFrames += 1
        }
    }

    /// The digits of an octet count are kept in `pending` unchecked; when they turn out not to be a count they are
    /// frame content, so a limit under 10 bytes must cut them too (found by fuzzing: a 3-byte frame at limit 1).
    private mutating func clampPending() {
        guard pending.count > maxFrameBytes else { return }
        pending.removeLast(pending.count - maxFrameBytes)
        if !currentTruncated {
            currentTruncated = true
            truncatedFrames += 1
        }
    }

    /// Ends the current frame: a line loses a trailing CR; empty lines are skipped unless they carry an error.
    private mutating func emit(into out: inout [Frame], error: String? = nil) {
        if case .body = state {
        } else if let last = pending.last, last == 0x0D {
            pending.removeLast()
        }
        if !pending.isEmpty || error != nil { out.append(Frame(pending, error: error)) }
        pending.removeAll(keepingCapacity: true)
        currentTruncated = false
        state = .idle
    }

    /// Reads up to and including the next newline (or all of `b`); returns the index after what was consumed.
    private mutating func readLine(_ b: UnsafeBufferPointer<UInt8>, from start: Int, into out: inout [Frame]) -> Int {
        if case .idle = state { state = .line }
        var end = start
        while end < b.count, b[end] != 0x0A { end += 1 }
        appendPending(b, start..<end)
        if end == b.count { return end }
        let isError: Bool
        if case .badCount = state { isError = true } else { isError = false }
        emit(into: &out, error: isError ? Self.badCountError : nil)
        return end + 1
    }

    private mutating func readOctetCounted(
        _ b: UnsafeBufferPointer<UInt8>, from start: Int, into out: inout [Frame]
    ) -> Int {
        var i = start
        switch state {
        case .idle:
            let c = b[i]
            if c == 0x0A || c == 0x0D || c == 0x00 || c == 0x20 { return i + 1 }  // stray separators between frames
            if c >= 0x31, c <= 0x39 {
                state = .count(0)
                return i
            }
            state = .line
            return readLine(b, from: i, into: &out)
        case .line, .badCount:
            return readLine(b, from: i, into: &out)
        case .count(var length):
            // MSG-LEN is NONZERO-DIGIT *DIGIT; nine digits are far beyond any limit, ten mean garbage.
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39, pending.count < 10 {
                length = length * 10 + Int(b[i] - 0x30)
                pending.append(b[i])
                i += 1
            }
            if i == b.count, pending.count < 10 {
                state = .count(length)
                return i
            }
            if i < b.count, b[i] == 0x20, pending.count < 10 {
                pending.removeAll(keepingCapacity: true)
                declaredLength = length
                state = .body(remaining: length)
                return i + 1
            }
            clampPending()
            state = .badCount
            return readLine(b, from: i, into: &out)
        case .body(let remaining):
            let take = min(remaining, b.count - i)
            appendPending(b, i..<(i + take))
            i += take
            if remaining - take > 0 {
                state = .body(remaining: remaining - take)
                return i
            }
            emit(into: &out)
            return i
        }
    }
}
