import Synchronization

/// One value of one metric, as read at scrape time.
public struct MetricSample: Sendable, Equatable {
    public enum Kind: String, Sendable { case counter, gauge }

    /// Prometheus metric name, `logferry_` prefixed; counters end in `_total`.
    public var name: String
    public var kind: Kind
    public var help: String
    /// Label pairs in output order (`source`, `destination`, `cursor`, ...).
    public var labels: [(String, String)]
    public var value: Double

    public init(_ name: String, _ kind: Kind, _ help: String, labels: [(String, String)] = [], value: Double) {
        self.name = name
        self.kind = kind
        self.help = help
        self.labels = labels
        self.value = value
    }

    public static func == (a: MetricSample, b: MetricSample) -> Bool {
        a.name == b.name && a.kind == b.kind && a.help == b.help && a.value == b.value
            && a.labels.map(\.0) == b.labels.map(\.0) && a.labels.map(\.1) == b.labels.map(\.1)
    }
}

/// The node's metrics: every component keeps its own counters (atomics its tests read directly); the registry
/// holds one collector per component that reads them when `/metrics` is scraped.
///
/// Written by hand rather than with swift-prometheus: its counters can only be incremented, so mirroring the
/// components' counters would mean a second set of counters updated on every hot path; reading at scrape time
/// costs nothing between scrapes. The text exposition format (version 0.0.4) is the small part below.
public final class MetricsRegistry: Sendable {
    public typealias Collector = @Sendable () async -> [MetricSample]
    private let collectors = Mutex<[Collector]>([])

    public init() {}

    /// Adds a collector; it is called on every scrape, so it must only read counters.
    public func register(_ collector: @escaping Collector) {
        collectors.withLock { $0.append(collector) }
    }

    /// Every collector's samples, in registration order.
    public func collect() async -> [MetricSample] {
        var out: [MetricSample] = []
        for c in collectors.withLock({ $0 }) { out += await c() }
        return out
    }

    /// Prometheus text format: samples of one name grouped under one `# HELP` and `# TYPE`.
    public func render() async -> String { Self.render(await collect()) }

    public static func render(_ samples: [MetricSample]) -> String {
        var order: [String] = []
        var groups: [String: [MetricSample]] = [:]
        for s in samples {
            if groups[s.name] == nil { order.append(s.name) }
            groups[s.name, default: []].append(s)
        }
        var out = ""
        for name in order {
            let group = groups[name]!
            out += "# HELP \(name) \(escapeHelp(group[0].help))\n# TYPE \(name) \(group[0].kind.rawValue)\n"
            for s in group {
                out += name
                if !s.labels.isEmpty {
                    out += "{" + s.labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
                }
                out += " \(format(s.value))\n"
            }
        }
        return out
    }

    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    static func escapeHelp(_ s: String) -> String {
        s.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }

    static func escapeLabel(_ s: String) -> String {
        escapeHelp(s).replacingAll("\"", with: "\\\"")
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        out.reserveCapacity(count)
        for c in self {
            if c == target { out += replacement } else { out.append(c) }
        }
        return out
    }
}
