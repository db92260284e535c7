/// A JSON value that keeps what syslog users care about: object key order and the difference between
/// integers and floating-point numbers (so `"status":200` stays an integer end to end).
///
/// Foundation's `JSONSerialization` loses both (NSNumber, unordered dictionaries), which is why the
/// parser and writer beside this type are hand-written.
public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var int64Value: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
}

/// A JSON object with keys in insertion order. Lookups are linear: event objects are small, and a linear
/// scan over a dozen keys beats hashing them.
public struct JSONObject: Sendable, Equatable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var entries: [(key: String, value: JSONValue)]

    public init() { entries = [] }
    public init(_ entries: [(key: String, value: JSONValue)]) {
        self.entries = []
        self.entries.reserveCapacity(entries.count)
        for (k, v) in entries { self[k] = v }
    }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements.map { (key: $0.0, value: $0.1) })
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.key) }

    /// Setting an existing key replaces its value in place; a new key goes last; `nil` removes.
    public subscript(key: String) -> JSONValue? {
        get {
            for e in entries where Self.sameKey(e.key, key) { return e.value }
            return nil
        }
        set {
            if let i = entries.firstIndex(where: { Self.sameKey($0.key, key) }) {
                if let v = newValue { entries[i].value = v } else { entries.remove(at: i) }
            } else if let v = newValue {
                entries.append((key, v))
            }
        }
    }

    /// Keys are the same when their UTF-8 bytes are: JSON keys are byte strings, and Swift's `==` would merge
    /// canonically equivalent spellings (`"é"` and `"e\u{301}"`), silently dropping one of two distinct keys.
    @inline(__always)
    static func sameKey(_ a: String, _ b: String) -> Bool {
        // `==` first: it rejects most keys at once (small ASCII strings compare as raw bits); the bytes then
        // rule out the rare canonically-equivalent pair.
        a == b && a.utf8.elementsEqual(b.utf8)
    }

    /// Appends without checking for an existing key; for builders that know keys are unique.
    public mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        entries.append((key, value))
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> { entries.makeIterator() }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { sameKey($0.key, $1.key) && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries.count)
        for e in entries {
            hasher.combine(e.key)
            hasher.combine(e.value)
        }
    }
}
