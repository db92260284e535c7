import LogferryCore

/// A destination's `inputs` and `filter` together: the `EventSelector` destinations are given.
///
/// An event passes when its document's `source` is one of `inputs` (when `inputs` is set) and it matches
/// `filter` (when set). The document is parsed once per record, and not at all by callers that pass an object
/// they already parsed (`accepts(object:)`).
///
/// A document that is not a JSON object is accepted: it is a damaged record, not an event anyone filtered,
/// and each destination already has its own way of surfacing those (the file store writes a `parse_error`
/// line, the websocket sender counts and skips it).
public struct DocumentSelector: EventSelector, CustomStringConvertible {
    /// Source names an event must come from; nil for every source. An empty set selects nothing.
    public let inputs: Set<String>?
    /// The compiled filter; nil for every event.
    public let filter: Filter?

    /// From a filter compiled already.
    public init(inputs: Set<String>?, compiledFilter: Filter?) {
        self.inputs = inputs
        self.filter = compiledFilter
    }

    /// Compiles the config keys `inputs` and `filter` (nil: key absent).
    /// - Throws: `FilterError` with the column in the filter text of its first mistake.
    public init(inputs: [String]?, filter: String?) throws(FilterError) {
        self.inputs = inputs.map(Set.init)
        self.filter = try filter.map { (text: String) throws(FilterError) -> Filter in try Filter(text) }
    }

    /// True when neither `inputs` nor `filter` is set, so a destination may go without a selector.
    public var selectsEverything: Bool { inputs == nil && filter == nil }

    public func accepts(document: [UInt8]) -> Bool {
        if selectsEverything { return true }
        guard case .object(let object)? = try? JSONParser.parse(document) else { return true }
        return accepts(object: object)
    }

    public func accepts(object: JSONObject) -> Bool {
        if let inputs {
            guard case .string(let source)? = object["source"], inputs.contains(source) else { return false }
        }
        if let filter { return filter.matches(object) }
        return true
    }

    public var description: String {
        var parts: [String] = []
        if let inputs { parts.append("inputs: [\(inputs.sorted().joined(separator: ", "))]") }
        if let filter { parts.append("filter: \(filter.text)") }
        return parts.isEmpty ? "everything" : parts.joined(separator: ", ")
    }
}
