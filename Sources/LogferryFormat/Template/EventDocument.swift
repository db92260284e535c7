import LogferryCore

/// Writes an `Event` as the JSON document of SPEC.md §3, keys in this fixed order:
/// `@timestamp host program pid facility severity message source received_at`, then when known
/// `version msgid sd file offset parse_error raw`, then `fields` when not empty.
///
/// Unknown optional values are left out rather than written as null. `@timestamp` is the event's own time or,
/// when it has none, exactly `received_at`; `host` is the event's host or the node name. A numeric PID
/// (digits, no leading zero) is written as a number, any other as a string.
public enum EventDocument {
    /// The keys in document order, for consumers that lay out columns.
    public static let keyOrder = [
        "@timestamp", "host", "program", "pid", "facility", "severity", "message", "source", "received_at", "version",
        "msgid", "sd", "file", "offset", "parse_error", "raw", "fields",
    ]

    public static func render(_ event: Event, nodeName: String) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + event.message.utf8.count)
        write(event, nodeName: nodeName, to: &w)
        return w.bytes
    }

    // Keys pre-encoded with their quotes, colon and leading comma: they never need escaping.
    private static let kTimestamp = Array("{\"@timestamp\":\"".utf8)
    private static let kHost = Array("\",\"host\":".utf8)
    private static let kProgram = Array(",\"program\":".utf8)
    private static let kPid = Array(",\"pid\":".utf8)
    private static let kFacility = Array(",\"facility\":\"".utf8)
    private static let kSeverity = Array(",\"severity\":\"".utf8)
    private static let kMessage = Array(",\"message\":".utf8)
    private static let kSource = Array(",\"source\":".utf8)
    private static let kReceivedAt = Array(",\"received_at\":\"".utf8)
    private static let kVersion = Array(",\"version\":".utf8)
    private static let kMsgid = Array(",\"msgid\":".utf8)
    private static let kSD = Array(",\"sd\":".utf8)
    private static let kFile = Array(",\"file\":".utf8)
    private static let kOffset = Array(",\"offset\":".utf8)
    private static let kParseError = Array(",\"parse_error\":".utf8)
    private static let kRaw = Array(",\"raw\":".utf8)
    private static let kFields = Array(",\"fields\":".utf8)

    public static func write(_ event: Event, nodeName: String, to w: inout JSONWriter) {
        w.bytes.append(contentsOf: kTimestamp)
        (event.timestamp ?? event.receivedAt).appendISO8601(to: &w.bytes)
        w.bytes.append(contentsOf: kHost)
        w.writeString(event.host ?? nodeName)
        if let program = event.program {
            w.bytes.append(contentsOf: kProgram)
            w.writeString(program)
        }
        if let pid = event.pid {
            w.bytes.append(contentsOf: kPid)
            if isCanonicalInteger(pid) { w.bytes.append(contentsOf: pid.utf8) } else { w.writeString(pid) }
        }
        if let facility = event.facility {
            w.bytes.append(contentsOf: kFacility)
            w.bytes.append(contentsOf: facility.name.utf8)
            w.bytes.append(UInt8(ascii: "\""))
        }
        if let severity = event.severity {
            w.bytes.append(contentsOf: kSeverity)
            w.bytes.append(contentsOf: severity.name.utf8)
            w.bytes.append(UInt8(ascii: "\""))
        }
        w.bytes.append(contentsOf: kMessage)
        w.writeString(event.message)
        w.bytes.append(contentsOf: kSource)
        w.writeString(event.source)
        w.bytes.append(contentsOf: kReceivedAt)
        event.receivedAt.appendISO8601(to: &w.bytes)
        w.bytes.append(UInt8(ascii: "\""))
        if let version = event.version {
            w.bytes.append(contentsOf: kVersion)
            w.writeInt(version)
        }
        if let msgid = event.msgid {
            w.bytes.append(contentsOf: kMsgid)
            w.writeString(msgid)
        }
        if let sd = event.sd {
            w.bytes.append(contentsOf: kSD)
            w.write(sd)
        }
        if let file = event.file {
            w.bytes.append(contentsOf: kFile)
            w.writeString(file)
        }
        if let offset = event.offset {
            w.bytes.append(contentsOf: kOffset)
            w.writeInt(offset)
        }
        if let parseError = event.parseError {
            w.bytes.append(contentsOf: kParseError)
            w.writeString(parseError)
        }
        if let raw = event.raw {
            w.bytes.append(contentsOf: kRaw)
            w.writeString(raw)
        }
        if !event.fields.isEmpty {
            w.bytes.append(contentsOf: kFields)
            w.write(event.fields)
        }
        w.bytes.append(UInt8(ascii: "}"))
    }

    /// Digits only, no leading zero (so "0123" stays a string and keeps its zero), and fits in an Int64.
    static func isCanonicalInteger(_ s: String) -> Bool {
        let u = s.utf8
        guard let first = u.first, u.count <= 18 else { return false }
        if first == UInt8(ascii: "0") { return u.count == 1 }
        return u.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
