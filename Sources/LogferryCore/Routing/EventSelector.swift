/// Decides which events a destination delivers (config keys `inputs` and `filter`).
///
/// Destinations depend on this protocol only; the implementation that reads `inputs` and compiles `filter`
/// lives in LogferryFormat (`DocumentSelector`), so Transport does not depend on the expression language.
///
/// The contract every destination keeps: a rejected record is skipped but counts as delivered for its cursor,
/// so the cursor moves past it exactly as past a delivered one (a run of rejected records at the end of the
/// journal is committed too; otherwise the journal could never remove them).
///
/// Implementations must be cheap and pure: they run once per record in the destination's delivery loop, from
/// any task, and must give the same answer for the same document every time (a retried batch is selected again).
public protocol EventSelector: Sendable {
    /// Whether to deliver the event whose JSON document (`SpooledEvent.document`, without `_id`) is `document`.
    func accepts(document: [UInt8]) -> Bool

    /// The same decision for a document the caller has already parsed, so it is not parsed twice.
    func accepts(object: JSONObject) -> Bool
}

extension EventSelector {
    /// Renders the object and asks `accepts(document:)`; implementations that work on objects override it.
    public func accepts(object: JSONObject) -> Bool {
        accepts(document: JSONWriter.render(.object(object)))
    }
}
