import LogferryCore

/// How a source interprets the bytes of one message (`format:` in a source's config, `--format` of `logferry parse`).
public enum InputFormat: String, Sendable, CaseIterable {
    /// Detects per message: `<PRI>1 ` is RFC 5424, any other `<PRI>` is RFC 3164 (and its dialects), a line that
    /// is a JSON object is `json`, anything else is a plain message.
    case auto
    /// BSD syslog and the dialects real senders use (see docs/PARSING.md).
    case rfc3164
    /// IETF syslog.
    case rfc5424
    /// The whole message is one JSON object.
    case json
    /// The whole message is the message text; nothing is parsed.
    case raw
}
