import LogferryCore

#if canImport(Glibc)
    import Glibc
#endif

/// What a parser needs to know about where and when a message arrived.
public struct ParseContext: Sendable {
    /// Name of the configured source; becomes the event's `source`.
    public var source: String
    /// When this node received the message; becomes `received_at` and anchors RFC 3164 year inference.
    public var receivedAt: Timestamp
    /// Zone offset in seconds east of UTC assumed for timestamps that carry no zone (RFC 3164 `Mmm dd hh:mm:ss`,
    /// ISO stamps without `Z` or an offset). Defaults to this machine's offset at `receivedAt`, since such stamps
    /// are written in the sender's local time and senders are usually in the receiver's zone.
    public var assumeTimeZoneOffset: Int
    /// Messages longer than this (after framing) are truncated to it, on a UTF-8 character boundary. `0` or less
    /// means no limit.
    public var maxMessageBytes: Int

    public static let defaultMaxMessageBytes = 65536

    public init(
        source: String, receivedAt: Timestamp = .now(), assumeTimeZoneOffset: Int? = nil,
        maxMessageBytes: Int = ParseContext.defaultMaxMessageBytes
    ) {
        self.source = source
        self.receivedAt = receivedAt
        self.assumeTimeZoneOffset = assumeTimeZoneOffset ?? ParseContext.localTimeZoneOffset(at: receivedAt)
        self.maxMessageBytes = maxMessageBytes
    }

    /// This machine's UTC offset in seconds at `time` (from the TZ environment / /etc/localtime), 0 if unknown.
    public static func localTimeZoneOffset(at time: Timestamp) -> Int {
        var secs = time_t(time.seconds)
        var parts = tm()
        guard localtime_r(&secs, &parts) != nil else { return 0 }
        return Int(parts.tm_gmtoff)
    }
}
