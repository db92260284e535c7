import Glibc
import LogferryCore
import Logging

/// The `stdout` destination: one JSON document per line (with `_id`) on standard output, for debugging and
/// for piping a node into other tools. The cursor moves after the batch was written to the stdout pipe:
/// a reader that dies may lose what the pipe held, which is the nature of a pipe.
public struct StdoutDestination: Sendable {
    public let name: String
    let spool: any Spool
    let localNode: NodeIdentity
    let logger: Logger
    /// Which events to print (`inputs`, `filter`); nil prints every event. Rejected events are committed past.
    let selector: (any EventSelector)?

    public init(
        name: String, spool: any Spool, localNode: NodeIdentity, logger: Logger, selector: (any EventSelector)? = nil
    ) {
        self.name = name
        self.spool = spool
        self.localNode = localNode
        self.logger = logger
        self.selector = selector
    }

    public var cursorName: String { "stdout-" + name }

    public func run() async throws {
        var position = try await spool.openCursor(cursorName).seq
        while !Task.isCancelled {
            let batch = try await spool.read(after: position, maxRecords: 1000, maxBytes: 1 << 20)
            if batch.isEmpty {
                try await spool.waitForRecords(after: position)
                continue
            }
            var out: [UInt8] = []
            for r in batch {
                do {
                    let e = try SpooledEvent.decode(r.payload)
                    if let selector, !selector.accepts(document: e.document) { continue }
                    out.append(
                        contentsOf: documentWithID(
                            e.document, id: e.resolvedOrigin(localNode: localNode, seq: r.seq).documentID))
                    out.append(0x0A)
                } catch {
                    logger.warning("skipping undecodable journal record", metadata: ["seq": "\(r.seq)"])
                }
            }
            if !out.isEmpty { try writeAll(1, out, path: "stdout") }
            position = batch.last!.seq
            try await spool.commit(cursor: cursorName, through: position, state: [])
        }
    }
}
