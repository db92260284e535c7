/// One log message after parsing, before a template renders it into the JSON document of SPEC.md §3.
///
/// Optional properties are `nil` when unknown; the default template leaves their keys out.
public struct Event: Sendable, Equatable {
    /// The message's own time; `nil` when it carried none (then `@timestamp` is `receivedAt`).
    public var timestamp: Timestamp?
    /// When this node received the message.
    public var receivedAt: Timestamp
    /// The message's HOSTNAME; `nil` when it had none (the node name is used then).
    public var host: String?
    /// APP-NAME / TAG.
    public var program: String?
    /// PROCID; kept as text because RFC 5424 allows non-numeric values. Rendered as a number when numeric.
    public var pid: String?
    public var facility: Facility?
    public var severity: Severity?
    /// The message text (MSG), without a trailing newline.
    public var message: String
    /// Name of the configured source that received it.
    public var source: String
    /// RFC 5424 VERSION.
    public var version: Int?
    /// RFC 5424 MSGID.
    public var msgid: String?
    /// RFC 5424 structured data: `{"SD-ID": {"PARAM": "value"}}`, values unescaped.
    public var sd: JSONObject?
    /// File sources: the path read and the byte offset of the line.
    public var file: String?
    public var offset: Int64?
    /// Why parsing failed; `raw` then holds the input.
    public var parseError: String?
    public var raw: String?
    /// Extracted or JSON-body fields.
    public var fields: JSONObject

    public init(
        message: String, source: String, receivedAt: Timestamp, timestamp: Timestamp? = nil, host: String? = nil,
        program: String? = nil, pid: String? = nil, facility: Facility? = nil, severity: Severity? = nil,
        version: Int? = nil, msgid: String? = nil, sd: JSONObject? = nil, file: String? = nil, offset: Int64? = nil,
        parseError: String? = nil, raw: String? = nil, fields: JSONObject = JSONObject()
    ) {
        self.message = message
        self.source = source
        self.receivedAt = receivedAt
        self.timestamp = timestamp
        self.host = host
        self.program = program
        self.pid = pid
        self.facility = facility
        self.severity = severity
        self.version = version
        self.msgid = msgid
        self.sd = sd
        self.file = file
        self.offset = offset
        self.parseError = parseError
        self.raw = raw
        self.fields = fields
    }
}
