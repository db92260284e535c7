import Glibc
import LogferryCore
import LogferryDestinations
import LogferryFormat
import LogferrySources
import LogferryTransport

/// The whole resolved configuration of a node: the main file plus every `include`d fragment.
/// Each section's keys are documented in docs/CONFIG.md and SPEC.md §2.
struct NodeConfig {
    var files: [String] = []
    var node = NodeSection()
    var journal = JournalSection()
    var sources: [SourceConfig] = []
    var templates: [TemplateConfig] = []
    var destinations: [DestinationConfig] = []
}

/// `node:` — identity and where state lives.
struct NodeSection {
    /// Stamped on events as `host` when the message names none. Default: the hostname.
    var name: String = NodeSection.hostname()
    /// Journal, cursors and node identity live here.
    var dataDir: String = "/var/lib/logferry"
    /// Prometheus /metrics and /health (host:port); optional.
    var metricsListen: String?

    static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "localhost" }
        return String(cString: buf)
    }
}

/// `journal:` — the on-disk spool between sources and destinations.
struct JournalSection {
    enum Fsync: String, CaseIterable { case always, interval, never }
    enum WhenFull: String, CaseIterable {
        case block
        case dropOldest = "drop-oldest"
        case dropNewest = "drop-newest"
    }
    /// Upper bound of the journal on disk.
    var maxBytes: Int = 2 * 1024 * 1024 * 1024
    /// When appended records are fsynced.
    var fsync: Fsync = .interval
    /// Group-commit period for `fsync: interval`. 10 ms: each forwarding tier adds up to this to an event's
    /// latency and every ack waits for it, while 100 fsyncs a second cost a disk little (docs/BENCHMARKS.md:
    /// 100 ms gave a p99 of ~480 ms edge → central and capped forwarding at ~38,000 msg/s).
    var fsyncInterval: Duration = .milliseconds(10)
    /// What a full journal does with new records.
    var whenFull: WhenFull = .block
    /// Size of one segment file.
    var segmentBytes: Int = 64 * 1024 * 1024
}

/// Where a definition came from, for "defined twice" errors and `check` output.
struct Origin: CustomStringConvertible {
    var file: String
    var line: Int
    var description: String { "\(file):\(line)" }
}

/// `sources.NAME:`.
struct SourceConfig {
    enum Kind {
        case unixDgram(UnixDatagramConfiguration)
        /// A unix stream socket (logger -T, socat, rsyslog omuxsock); the component's own configuration type.
        case unixStream(UnixStreamConfiguration)
        /// Tailed files; the component's own configuration type.
        case file(FileTailConfiguration)
        /// The receiver; its settings are the component's own configuration type.
        case websocket(ReceiverConfiguration)
        /// Network syslog: datagrams (RFC 5426).
        case udp(UDPSyslogConfiguration)
        /// Network syslog over TCP (RFC 6587 framing), optionally TLS (RFC 5425).
        case tcp(TCPSyslogConfiguration)
        /// `POST /events` with JSON objects, arrays or NDJSON.
        case http(HTTPIngestConfiguration)
    }
    enum Format: String, CaseIterable { case auto, rfc3164, rfc5424, json, raw }
    var name: String
    var kind: Kind
    var format: Format = .auto
    var template: String?
    /// `preset: nginx | supervisor`, applied before the template.
    var preset: Preset?
    var maxMessageBytes: Int = 64 * 1024
    var origin: Origin
}

/// `templates.NAME:`.
struct TemplateConfig {
    var name: String
    var pattern: String?
    var regex: String?
    var regexLine: Int = 0
    var keyValue: Bool = false
    var fields: [(name: String, value: String, line: Int)] = []
    /// Typed entries of `fields` (`{value, type, default}`), in order.
    var fieldTypes: [(name: String, type: String?, defaultValue: String?, line: Int)] = []
    var jsonBody: Bool = false
    var preset: Preset?
    var origin: Origin
}

/// `destinations.NAME:`.
struct DestinationConfig {
    enum Kind {
        case websocket(SenderConfiguration)
        case file(FileStoreConfiguration)
        case stdout
    }
    var name: String
    var kind: Kind
    /// Source names feeding this destination; nil = all.
    var inputs: [String]?
    /// The `filter` expression as written.
    var filter: String?
    /// `inputs` and `filter` compiled; nil when the destination takes everything.
    var selector: DocumentSelector?
    var origin: Origin
}

struct HostPort: CustomStringConvertible {
    var host: String
    var port: Int
    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `host:port`, `:port` (all interfaces) and `[v6]:port`.
    init?(_ text: String) {
        var t = Substring(text)
        var host: Substring
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]") else { return nil }
            host = t[t.index(after: t.startIndex)..<close]
            t = t[t.index(after: close)...]
            guard t.hasPrefix(":") else { return nil }
            t = t.dropFirst()
        } else {
            guard let colon = t.lastIndex(of: ":") else { return nil }
            host = t[..<colon]
            t = t[t.index(after: colon)...]
        }
        guard let p = Int(t), (0...65535).contains(p) else { return nil }
        self.host = host.isEmpty ? "0.0.0.0" : String(host)
        self.port = p
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
