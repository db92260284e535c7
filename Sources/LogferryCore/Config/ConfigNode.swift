import Yams

/// One problem in a config file: where, what is wrong, how to fix it.
/// Printed as `file:line: what is wrong; how to fix`.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var fix: String

    public init(file: String, line: Int, message: String, fix: String) {
        self.file = file
        self.line = line
        self.message = message
        self.fix = fix
    }

    public var description: String {
        fix.isEmpty ? "\(file):\(line): \(message)" : "\(file):\(line): \(message); \(fix)"
    }
}

/// Every problem found in a config (loading goes on after the first one, so `check` reports all at once).
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]
    public init(_ problems: [ConfigProblem]) { self.problems = problems }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Collects problems while a config is decoded. Used by one thread at a time during loading.
public final class ConfigDiagnostics {
    public private(set) var problems: [ConfigProblem] = []
    public init() {}

    public func error(_ node: ConfigNode, _ message: String, fix: String) {
        problems.append(ConfigProblem(file: node.file, line: node.line, message: message, fix: fix))
    }

    public func error(file: String, line: Int, _ message: String, fix: String) {
        problems.append(ConfigProblem(file: file, line: line, message: message, fix: fix))
    }

    public func throwIfAny() throws(ConfigErrors) {
        if !problems.isEmpty { throw ConfigErrors(problems) }
    }
}

/// A YAML node with the file it came from, so every value can be reported as `file:line`.
public struct ConfigNode: @unchecked Sendable {
    // @unchecked: Yams.Node is an immutable value tree but is not declared Sendable.
    public let node: Node
    public let file: String

    public init(node: Node, file: String) {
        self.node = node
        self.file = file
    }

    public var line: Int { node.mark?.line ?? 1 }

    /// Parses YAML text; a syntax error becomes a `ConfigProblem` at its line.
    public static func parse(yaml: String, file: String) throws(ConfigErrors) -> ConfigNode? {
        do {
            guard let node = try Yams.compose(yaml: yaml) else { return nil }
            return ConfigNode(node: node, file: file)
        } catch let e as YamlError {
            throw ConfigErrors([Self.problem(from: e, file: file)])
        } catch {
            throw ConfigErrors([ConfigProblem(file: file, line: 1, message: "cannot read YAML: \(error)", fix: "")])
        }
    }

    private static func problem(from e: YamlError, file: String) -> ConfigProblem {
        switch e {
        case .scanner(let ctx, let problem, let mark, _), .parser(let ctx, let problem, let mark, _),
            .composer(let ctx, let problem, let mark, _):
            let what = ctx.map { "\($0.text) (line \($0.mark.line)): " } ?? ""
            return ConfigProblem(
                file: file, line: mark.line, message: "YAML syntax error: \(what)\(problem) at column \(mark.column)",
                fix: "check indentation, colons and quoting on this line")
        case .duplicatedKeysInMapping(let dups, let ctx):
            return ConfigProblem(
                file: file, line: ctx.mark.line,
                message: "key \(dups.joined(separator: ", ")) appears twice in one mapping",
                fix: "keep one of them")
        default:
            return ConfigProblem(file: file, line: 1, message: "YAML error: \(e)", fix: "")
        }
    }

    public var kindName: String {
        switch node {
        case .scalar: "a scalar value"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// The node as a mapping, or an error naming what was expected.
    public func mapping(_ d: ConfigDiagnostics, what: String) -> ConfigMapping? {
        guard case .mapping(let m) = node else {
            d.error(
                self, "\(what) must be a mapping (key: value lines), found \(kindName)", fix: "indent its keys under it"
            )
            return nil
        }
        var entries: [ConfigMapping.Entry] = []
        for (k, v) in m {
            let key = ConfigNode(node: k, file: file)
            guard case .scalar(let s) = k else {
                d.error(key, "a key in \(what) is not a plain name", fix: "use a plain word as the key")
                continue
            }
            entries.append(.init(key: s.string, keyNode: key, value: ConfigNode(node: v, file: file)))
        }
        return ConfigMapping(node: self, what: what, entries: entries)
    }

    /// The node as a string scalar.
    public func string(_ d: ConfigDiagnostics, what: String) -> String? {
        guard case .scalar(let s) = node else {
            d.error(
                self, "\(what) must be a single value, found \(kindName)",
                fix: "write it on the same line after the colon")
            return nil
        }
        return s.string
    }

    /// A list of strings; a single scalar is accepted as a one-element list.
    public func stringList(_ d: ConfigDiagnostics, what: String) -> [String]? {
        switch node {
        case .scalar(let s): return [s.string]
        case .sequence(let seq):
            var out: [String] = []
            for item in seq {
                guard case .scalar(let s) = item else {
                    d.error(
                        ConfigNode(node: item, file: file), "every item of \(what) must be a string", fix: "quote it")
                    return nil
                }
                out.append(s.string)
            }
            return out
        default:
            d.error(self, "\(what) must be a list of strings, found \(kindName)", fix: "write it as [a, b]")
            return nil
        }
    }
}

/// A YAML mapping with typed accessors. Every accessor reports a wrong type or bad value at the value's line,
/// and `rejectUnknown` reports keys the component does not know, with the closest known name.
public struct ConfigMapping {
    public struct Entry {
        public var key: String
        public var keyNode: ConfigNode
        public var value: ConfigNode
    }

    public let node: ConfigNode
    public let what: String
    public let entries: [Entry]

    public subscript(key: String) -> ConfigNode? { entries.first { $0.key == key }?.value }

    public func rejectUnknown(allowed: [String], _ d: ConfigDiagnostics) {
        for e in entries where !allowed.contains(e.key) {
            let near = closest(e.key, in: allowed)
            let fix =
                near.map { "did you mean '\($0)'? (known keys: \(allowed.joined(separator: ", ")))" }
                ?? "known keys here: \(allowed.joined(separator: ", "))"
            d.error(e.keyNode, "unknown key '\(e.key)' in \(what)", fix: fix)
        }
    }

    public func string(_ key: String, _ d: ConfigDiagnostics, required: Bool = false) -> String? {
        guard let v = self[key] else {
            if required { missing(key, d) }
            return nil
        }
        return v.string(d, what: "'\(key)' in \(what)")
    }

    public func missing(_ key: String, _ d: ConfigDiagnostics, example: String? = nil) {
        d.error(node, "\(what) has no '\(key)'", fix: "add '\(key): \(example ?? "…")'")
    }

    public func stringList(_ key: String, _ d: ConfigDiagnostics) -> [String]? {
        self[key]?.stringList(d, what: "'\(key)' in \(what)")
    }

    public func bool(_ key: String, _ d: ConfigDiagnostics) -> Bool? {
        guard let v = self[key], let s = v.string(d, what: "'\(key)'") else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            d.error(v, "'\(key)' must be true or false, found '\(s)'", fix: "write true or false")
            return nil
        }
    }

    public func int(_ key: String, _ d: ConfigDiagnostics, range: ClosedRange<Int>? = nil) -> Int? {
        guard let v = self[key], let s = v.string(d, what: "'\(key)'") else { return nil }
        guard let i = Int(s), range.map({ $0.contains(i) }) ?? true else {
            let r = range.map { " between \($0.lowerBound) and \($0.upperBound)" } ?? ""
            d.error(v, "'\(key)' must be a whole number\(r), found '\(s)'", fix: "write a number\(r)")
            return nil
        }
        return i
    }

    public func duration(_ key: String, _ d: ConfigDiagnostics) -> Duration? {
        guard let v = self[key], let s = v.string(d, what: "'\(key)'") else { return nil }
        guard let dur = ConfigValues.parseDuration(s) else {
            d.error(v, "'\(key)' is not a duration: '\(s)'", fix: "write a number with a unit: 250ms, 5s, 2m, 1h, 1d")
            return nil
        }
        return dur
    }

    public func size(_ key: String, _ d: ConfigDiagnostics) -> Int? {
        guard let v = self[key], let s = v.string(d, what: "'\(key)'") else { return nil }
        guard let n = ConfigValues.parseSize(s) else {
            d.error(
                v, "'\(key)' is not a size: '\(s)'", fix: "write bytes with a unit: 64KiB, 16MiB, 2GiB (or 10MB, 1GB)")
            return nil
        }
        return n
    }

    public func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ d: ConfigDiagnostics, as: E.Type) -> E?
    where E.RawValue == String {
        guard let v = self[key], let s = v.string(d, what: "'\(key)'") else { return nil }
        guard let e = E(rawValue: s) else {
            let all = E.allCases.map(\.rawValue)
            d.error(v, "'\(key)' cannot be '\(s)'", fix: "use one of: \(all.joined(separator: ", "))")
            return nil
        }
        return e
    }

    public func mapping(_ key: String, _ d: ConfigDiagnostics, what: String) -> ConfigMapping? {
        self[key]?.mapping(d, what: what)
    }
}

/// Parsing of the config's value syntaxes: durations (`250ms 5s 1h`) and sizes (`64KiB 1GiB`).
public enum ConfigValues {
    public static func parseDuration(_ text: String) -> Duration? {
        let s = text.trimmingSpaces
        guard let split = s.firstIndex(where: { !$0.isNumber && $0 != "." }), split != s.startIndex else {
            return nil
        }
        guard let n = Double(s[..<split]), n >= 0 else { return nil }
        let unit = s[split...].trimmingSpaces
        let nanos: Double
        switch unit {
        case "ns": nanos = n
        case "us", "µs": nanos = n * 1e3
        case "ms": nanos = n * 1e6
        case "s": nanos = n * 1e9
        case "m", "min": nanos = n * 60e9
        case "h": nanos = n * 3600e9
        case "d": nanos = n * 86400e9
        default: return nil
        }
        return .nanoseconds(Int64(nanos))
    }

    public static func parseSize(_ text: String) -> Int? {
        let s = text.trimmingSpaces
        let split = s.firstIndex(where: { !$0.isNumber && $0 != "." }) ?? s.endIndex
        guard split != s.startIndex, let n = Double(s[..<split]), n >= 0 else { return nil }
        let mult: Double
        switch s[split...].trimmingSpaces.lowercased() {
        case "", "b": mult = 1
        case "kib", "k": mult = 1024
        case "mib", "m": mult = 1024 * 1024
        case "gib", "g": mult = 1024 * 1024 * 1024
        case "tib", "t": mult = 1024 * 1024 * 1024 * 1024
        case "kb": mult = 1e3
        case "mb": mult = 1e6
        case "gb": mult = 1e9
        case "tb": mult = 1e12
        default: return nil
        }
        let v = n * mult
        guard v < 9e18 else { return nil }
        return Int(v)
    }

    /// Formats bytes the way the config writes them (`64KiB`), for `check`'s resolved output.
    public static func formatSize(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = bytes
        var i = 0
        while i < units.count - 1 && v >= 1024 && v % 1024 == 0 {
            v /= 1024
            i += 1
        }
        return "\(v)\(units[i])"
    }

    public static func formatDuration(_ d: Duration) -> String {
        let (s, atto) = d.components
        let ms = s * 1000 + atto / 1_000_000_000_000_000
        if ms % 3_600_000 == 0 && ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 && ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 && ms > 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}

/// The known name nearest to a misspelled one (edit distance at most 2), for "did you mean" hints.
func closest(_ word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var prev = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var cur = [i + 1]
            for (j, cb) in b.enumerated() {
                cur.append(min(prev[j + 1] + 1, cur[j] + 1, prev[j] + (ca == cb ? 0 : 1)))
            }
            prev = cur
        }
        return prev[b.count]
    }
    let w = Array(word)
    let best = candidates.map { ($0, distance(w, Array($0))) }.min { $0.1 < $1.1 }
    return best.flatMap { $0.1 <= 2 ? $0.0 : nil }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
