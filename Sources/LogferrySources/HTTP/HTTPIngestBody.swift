import LogferryCore

/// Cuts the body of one `POST /events` request into events: one JSON object, a JSON array of objects, or NDJSON
/// (one object per line). Pure: no I/O, no state; the source turns its answer into a response.
///
/// Each event is the byte range of its object in the body, exactly as the client sent it (nothing re-rendered),
/// so the node's `format: json` parser sees the client's own text. The whole request is accepted or rejected:
/// one malformed line or one element that is not an object rejects every event of the request, so a client that
/// retries after a 400 never duplicates the events that came before the bad one.
///
/// Validation uses the repo's `JSONParser` (bounded depth, never traps); its byte offsets are reported relative
/// to the body (and, for NDJSON, also as a line number).
public enum HTTPIngestBody {
    /// How the body is framed.
    public enum Framing: Sendable, Equatable {
        /// Decide from the body: one JSON value (object or array of objects) if it is one, else NDJSON.
        case auto
        /// One JSON object per line (`Content-Type: application/x-ndjson`); blank lines are skipped.
        case ndjson
    }

    /// Why a body was rejected; `description` is what the client gets in `{"error": ...}`.
    public enum Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not JSON (or not NDJSON): where and why.
        case malformed(offset: Int, line: Int?, reason: String)
        /// A JSON value that is not an object, where an event must be one (`index` counts events from 0).
        case notAnObject(index: Int, line: Int?, kind: String)
        /// One event's JSON text is longer than `max_message_bytes`.
        case eventTooLarge(index: Int, bytes: Int, limit: Int)

        public var description: String {
            switch self {
            case .malformed(let offset, let line?, let reason):
                return "invalid JSON on line \(line) (byte \(offset) of the body): \(reason)"
            case .malformed(let offset, nil, let reason):
                return "invalid JSON at byte \(offset) of the body: \(reason)"
            case .notAnObject(let index, let line?, let kind):
                return "line \(line) (event \(index)) is \(kind), not a JSON object"
            case .notAnObject(let index, nil, let kind):
                return "element \(index) is \(kind), not a JSON object"
            case .eventTooLarge(let index, let bytes, let limit):
                return "event \(index) is \(bytes) bytes, more than max_message_bytes (\(limit))"
            }
        }

        /// The event index the rejection names, if it names one.
        public var index: Int? {
            switch self {
            case .malformed: return nil
            case .notAnObject(let index, _, _), .eventTooLarge(let index, _, _): return index
            }
        }
    }

    /// The byte ranges of the events in `body`, in order; an empty body or `[]` gives none.
    public static func split(
        _ body: [UInt8], framing: Framing, maxEventBytes: Int, options: JSONParser.Options = .init()
    ) -> Result<[Range<Int>], Rejection> {
        body.withUnsafeBufferPointer { buf -> Result<[Range<Int>], Rejection> in
            let ranges: [Range<Int>]
            do throws(Rejection) {
                switch framing {
                case .ndjson: ranges = try lines(buf, options: options)
                case .auto:
                    if let one = try single(buf, options: options) {
                        ranges = one
                    } else {
                        ranges = try lines(buf, options: options)
                    }
                }
            } catch {
                return .failure(error)
            }
            for (i, r) in ranges.enumerated() where r.count > maxEventBytes {
                return .failure(.eventTooLarge(index: i, bytes: r.count, limit: maxEventBytes))
            }
            return .success(ranges)
        }
    }

    /// The body as one JSON value: an object is one event, an array of objects one per element. Nil when the body
    /// holds more than one value (NDJSON sent without its content type); a syntax error in the first value is
    /// thrown, since NDJSON would fail on that same first line.
    static func single(_ buf: UnsafeBufferPointer<UInt8>, options: JSONParser.Options) throws(Rejection)
        -> [Range<Int>]?
    {
        var pos = skipWhitespace(buf, from: 0)
        if pos == buf.count { return [] }
        var out: [Range<Int>] = []
        if buf[pos] == UInt8(ascii: "[") {
            // Element by element, so each event keeps its own byte range.
            pos = skipWhitespace(buf, from: pos + 1)
            if pos < buf.count, buf[pos] == UInt8(ascii: "]") {
                pos += 1
            } else {
                while true {
                    let (value, end) = try value(buf, at: pos, options: options, line: nil)
                    guard case .object = value else {
                        throw .notAnObject(index: out.count, line: nil, kind: kind(value))
                    }
                    out.append(pos..<end)
                    pos = skipWhitespace(buf, from: end)
                    guard pos < buf.count else {
                        throw .malformed(offset: pos, line: nil, reason: "unterminated array")
                    }
                    if buf[pos] == UInt8(ascii: ",") {
                        pos = skipWhitespace(buf, from: pos + 1)
                        continue
                    }
                    guard buf[pos] == UInt8(ascii: "]") else {
                        throw .malformed(offset: pos, line: nil, reason: "expected ',' or ']' in array")
                    }
                    pos += 1
                    break
                }
            }
        } else {
            let (value, end) = try value(buf, at: pos, options: options, line: nil)
            guard case .object = value else {
                // A scalar followed by more lines is not NDJSON either: name the first problem.
                throw .notAnObject(index: 0, line: nil, kind: kind(value))
            }
            out.append(pos..<end)
            pos = end
        }
        return skipWhitespace(buf, from: pos) == buf.count ? out : nil
    }

    /// One object per line; `\r\n` line ends and blank lines are accepted.
    static func lines(_ buf: UnsafeBufferPointer<UInt8>, options: JSONParser.Options) throws(Rejection)
        -> [Range<Int>]
    {
        var out: [Range<Int>] = []
        var start = 0
        var line = 1
        while start < buf.count {
            var end = start
            while end < buf.count, buf[end] != 0x0A { end += 1 }
            let first = skipWhitespace(buf, from: start, upTo: end)
            if first < end {
                let (value, valueEnd) = try value(buf, at: first, options: options, line: line, upTo: end)
                guard case .object = value else {
                    throw .notAnObject(index: out.count, line: line, kind: kind(value))
                }
                guard skipWhitespace(buf, from: valueEnd, upTo: end) == end else {
                    throw .malformed(
                        offset: valueEnd, line: line, reason: "unexpected data after the JSON object on this line")
                }
                out.append(first..<valueEnd)
            }
            start = end + 1
            line += 1
        }
        return out
    }

    /// Parses one value starting at `pos` (no leading whitespace), within `buf[..<limit]`.
    private static func value(
        _ buf: UnsafeBufferPointer<UInt8>, at pos: Int, options: JSONParser.Options, line: Int?, upTo limit: Int? = nil
    ) throws(Rejection) -> (JSONValue, Int) {
        let slice = UnsafeBufferPointer(rebasing: buf[pos..<(limit ?? buf.count)])
        do {
            let (v, length) = try JSONParser.parsePrefix(slice, options: options)
            return (v, pos + length)
        } catch {
            throw .malformed(offset: pos + error.offset, line: line, reason: error.reason)
        }
    }

    private static func skipWhitespace(_ buf: UnsafeBufferPointer<UInt8>, from: Int, upTo limit: Int? = nil) -> Int {
        var i = from
        let end = limit ?? buf.count
        while i < end {
            switch buf[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return i
            }
        }
        return i
    }

    private static func kind(_ value: JSONValue) -> String {
        switch value {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .bool: return "a boolean"
        case .null: return "null"
        default: return "a number"
        }
    }
}
