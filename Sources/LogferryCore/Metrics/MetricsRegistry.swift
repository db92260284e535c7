import Synchronization

/// One value of one metric, as read at scrape time.
public struct MetricSample: Sendable, Equatable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    /// Prometheus metric name, `logferry_` prefixed; counters end in `_total`.
    public var name: String
    public var kind: Kind
    public var help: String
    /// Label pairs in output order (`source`, `destination`, `cursor`, ...).
    public var labels: [(String, String)]
    /// Counter and gauge: the value. Histogram: the sum of the observations.
    public var value: Double
    /// Histogram only: the observations.
    public var histogram: Histogram?

    public init(_ name: String, _ kind: Kind, _ help: String, labels: [(String, String)] = [], value: Double) {
        self.name = name
        self.kind = kind
        self.help = help
        self.labels = labels
        self.value = value
    }

    /// A histogram sample (rendered as `NAME_bucket{le=…}`, `NAME_sum`, `NAME_count`).
    public init(histogram name: String, _ help: String, labels: [(String, String)] = [], _ histogram: Histogram) {
        self.init(name, .histogram, help, labels: labels, value: histogram.sum)
        self.histogram = histogram
    }

    public static func == (a: MetricSample, b: MetricSample) -> Bool {
        a.name == b.name && a.kind == b.kind && a.help == b.help && a.value == b.value && a.histogram == b.histogram
            && a.labels.map(\.0) == b.labels.map(\.0) && a.labels.map(\.1) == b.labels.map(\.1)
    }
}

/// Observations counted into fixed buckets (upper bounds, ascending; Prometheus's `le`), plus their sum.
public struct Histogram: Sendable, Equatable {
    public let bounds: [Double]
    /// Per bucket, not cumulative; one more than `bounds` (the last counts what is above every bound).
    public private(set) var counts: [UInt64]
    public private(set) var sum: Double = 0

    public init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count + 1)
    }

    public var count: UInt64 { counts.reduce(0, +) }

    public mutating func observe(_ value: Double) {
        var i = 0
        while i < bounds.count, value > bounds[i] { i += 1 }
        counts[i] += 1
        sum += value
    }

    /// The smallest bound that at least `fraction` of the observations are at or below (nil: above every bound,
    /// or no observations): the bucket an estimate such as "p99 ≤ 50 ms" can be read from.
    public func bound(holding fraction: Double) -> Double? {
        let total = count
        guard total > 0 else { return nil }
        var cumulative: UInt64 = 0
        for (i, b) in bounds.enumerated() {
            cumulative += counts[i]
            if Double(cumulative) >= fraction * Double(total) { return b }
        }
        return nil
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
                guard let h = s.histogram else {
                    out += name + labelText(s.labels) + " \(format(s.value))\n"
                    continue
                }
                var cumulative: UInt64 = 0
                for (i, bound) in h.bounds.enumerated() {
                    cumulative += h.counts[i]
                    out += name + "_bucket" + labelText(s.labels + [("le", format(bound))]) + " \(cumulative)\n"
                }
                out += name + "_bucket" + labelText(s.labels + [("le", "+Inf")]) + " \(h.count)\n"
                out += name + "_sum" + labelText(s.labels) + " \(format(h.sum))\n"
                out += name + "_count" + labelText(s.labels) + " \(h.count)\n"
            }
        }
        return out
    }

    static func labelText(_ labels: [(String, String)]) -> String {
        labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
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
