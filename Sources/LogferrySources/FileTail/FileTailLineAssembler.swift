#if canImport(Glibc)
    import Glibc
#endif

/// Splits the bytes of one file into lines (and, with a multiline rule, lines into events), tracking the offset up
/// to which everything has been handed out: the position the checkpoint may record.
///
/// - A partial last line waits for its newline; it holds at most `maxLineBytes` bytes (the rest of a longer line
///   is counted, skipped, and the line flagged `truncated`).
/// - `flush()` hands out the partial line and any pending event as they are: at a truncation, or when a rotated
///   file was read to its end.
/// - With a multiline rule the last event stays pending until a line that starts a new event arrives, or
///   `flushIdle` finds it older than the rule's timeout.
/// - `committedOffset` is the end of the last line inside an emitted line or event, so a restart from it re-reads
///   exactly the pending data.
public struct FileTailLineAssembler: Sendable {
    public struct Line: Sendable, Equatable {
        public var bytes: [UInt8]
        /// Byte offset of the line's (event's) first byte in the file.
        public var offset: Int64
        /// The line (event) was longer than `maxLineBytes` and was cut.
        public var truncated: Bool
        public init(bytes: [UInt8], offset: Int64, truncated: Bool = false) {
            self.bytes = bytes
            self.offset = offset
            self.truncated = truncated
        }
    }

    /// Decides whether a line continues the pending event. Sendable because `Regex` is only used on the reading
    /// thread; see `FileTailMultilineMatcher`.
    public let continues: (@Sendable ([UInt8]) -> Bool)?
    public let maxLineBytes: Int
    private let timeoutNanos: Int64

    /// Where everything before has been emitted in lines or events.
    public private(set) var committedOffset: Int64
    /// Where the next fed byte sits in the file.
    public private(set) var readOffset: Int64

    private var partial: [UInt8] = []
    private var partialStart: Int64
    private var partialLength: Int64 = 0

    private var event: [UInt8]?
    private var eventStart: Int64 = 0
    private var eventEnd: Int64 = 0
    private var eventTruncated = false
    private var eventUpdated: Int64 = 0

    public init(offset: Int64, maxLineBytes: Int, multiline: FileTailConfiguration.Multiline? = nil) throws {
        self.committedOffset = offset
        self.readOffset = offset
        self.partialStart = offset
        self.maxLineBytes = max(1, maxLineBytes)
        if let multiline {
            let (s, atto) = multiline.timeout.components
            self.timeoutNanos = s * 1_000_000_000 + atto / 1_000_000_000
            switch multiline.rule {
            case .indentedContinuation:
                self.continues = { line in line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") }
            case .startPattern(let pattern):
                let matcher = try FileTailMultilineMatcher(pattern)
                self.continues = { line in !matcher.matches(line) }
            }
        } else {
            self.timeoutNanos = 0
            self.continues = nil
        }
    }

    /// Bytes held that are not in any emitted line yet.
    public var pendingBytes: Int64 { readOffset - committedOffset }

    /// Whether a multi-line event is waiting for more lines.
    public var hasPendingEvent: Bool { event != nil }

    /// Feeds the next bytes of the file; returns the lines (events) they completed.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, now: Int64) -> [Line] {
        var out: [Line] = []
        var start = 0
        let count = bytes.count
        guard let base = bytes.baseAddress else { return out }
        while start < count {
            let found = memchr(base + start, 0x0A, count - start)
            let nl = found.map { base.distance(to: UnsafeRawPointer($0)) } ?? count
            appendPartial(UnsafeRawBufferPointer(rebasing: bytes[start..<nl]))
            if nl == count {
                readOffset += Int64(count - start)
                break
            }
            readOffset += Int64(nl - start + 1)
            completeLine(into: &out, now: now)
            start = nl + 1
        }
        return out
    }

    public mutating func feed(_ bytes: [UInt8], now: Int64) -> [Line] {
        bytes.withUnsafeBytes { feed($0, now: now) }
    }

    private mutating func appendPartial(_ bytes: UnsafeRawBufferPointer) {
        partialLength += Int64(bytes.count)
        let room = maxLineBytes - partial.count
        if room > 0 { partial.append(contentsOf: bytes.prefix(room)) }
    }

    /// The partial line ended (newline seen, or flushed at `readOffset`).
    private mutating func completeLine(into out: inout [Line], now: Int64) {
        let line = partial
        let start = partialStart
        let cut = partialLength > Int64(maxLineBytes)
        partial = []
        partial.reserveCapacity(128)
        partialLength = 0
        partialStart = readOffset
        guard let continues else {
            out.append(Line(bytes: line, offset: start, truncated: cut))
            committedOffset = readOffset
            return
        }
        if event != nil && continues(line) {
            let room = maxLineBytes - event!.count
            if room > line.count {
                event!.append(UInt8(ascii: "\n"))
                event!.append(contentsOf: line)
            } else {
                if room > 1 {
                    event!.append(UInt8(ascii: "\n"))
                    event!.append(contentsOf: line.prefix(room - 1))
                }
                eventTruncated = true
            }
            eventTruncated = eventTruncated || cut
            eventEnd = readOffset
            eventUpdated = now
            return
        }
        emitEvent(into: &out)
        event = line
        eventStart = start
        eventEnd = readOffset
        eventTruncated = cut
        eventUpdated = now
    }

    private mutating func emitEvent(into out: inout [Line]) {
        guard let e = event else { return }
        out.append(Line(bytes: e, offset: eventStart, truncated: eventTruncated))
        committedOffset = eventEnd
        event = nil
    }

    /// Emits a pending multi-line event when no line joined it for the rule's timeout and no partial line (which
    /// might continue it) is waiting.
    public mutating func flushIdle(now: Int64) -> [Line] {
        guard event != nil, partialLength == 0, now - eventUpdated >= timeoutNanos else { return [] }
        var out: [Line] = []
        emitEvent(into: &out)
        committedOffset = readOffset
        return out
    }

    /// Emits everything held: the pending event and the partial last line, without waiting for its newline.
    public mutating func flush() -> [Line] {
        var out: [Line] = []
        if partialLength > 0 {
            if continues == nil {
                completeLine(into: &out, now: 0)
            } else {
                // The partial line ends the file's content: it joins or follows the pending event, then both go.
                completeLine(into: &out, now: 0)
                emitEvent(into: &out)
            }
        } else {
            emitEvent(into: &out)
        }
        committedOffset = readOffset
        return out
    }

    /// Drops everything held and continues at `offset` (after a truncation, once `flush` handed out the rest).
    public mutating func reset(to offset: Int64) {
        partial = []
        partialLength = 0
        partialStart = offset
        event = nil
        readOffset = offset
        committedOffset = offset
    }
}

/// A start-of-event regular expression, applied to a line decoded as UTF-8 (invalid bytes become U+FFFD).
public struct FileTailMultilineMatcher: @unchecked Sendable {
    // @unchecked: `Regex` is immutable once compiled; the source uses it from its one reading queue.
    let regex: Regex<AnyRegexOutput>

    public init(_ pattern: String) throws {
        self.regex = try Regex(pattern)
    }

    public func matches(_ line: [UInt8]) -> Bool {
        String(decoding: line, as: UTF8.self).firstMatch(of: regex) != nil
    }
}
