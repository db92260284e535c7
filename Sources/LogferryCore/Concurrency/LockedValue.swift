import Synchronization

/// A value several tasks update under one lock and read as a consistent snapshot (statistics structs that
/// metrics and tests read while a component updates them).
public final class LockedValue<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    public init(_ initial: Value) { value = Mutex(initial) }

    public var snapshot: Value { value.withLock { $0 } }

    public func update(_ body: (inout Value) -> Void) {
        value.withLock { body(&$0) }
    }
}
