import LogferryCore

/// The receiver's dedup state shared by all connections: a `DedupIndex` of what is stored, plus the origins that
/// groups of events are being appended for right now.
///
/// Why reservations: two connections of one stream (a sender reconnected while its old socket is not yet dead)
/// can carry the same events at the same time. A group "claims" the origins it is about to store before its
/// append; a second group that needs a claimed origin waits until the first finishes and is then classified
/// again, so the same event is never appended twice.
///
/// Why floors: the index is checkpointed into the `receiver-index` cursor as "valid through seq S". A group's
/// records get their sequence numbers only inside `append`, so while it is in flight S must stay below every
/// record it might add; each group records the spool's last sequence read before its append (its floor) and
/// a checkpoint never passes the lowest floor in flight.
actor IngestLedger {
    struct Plan: Sendable {
        /// 0 when nothing is new (nothing claimed, nothing to append).
        let token: UInt64
        /// One per event, in order.
        let decisions: [DedupIndex.Admission]
        /// The marks to raise once the append succeeded.
        let marks: [NodeIdentity: UInt64]
        var newCount: Int { decisions.reduce(0) { $0 + ($1 == .new ? 1 : 0) } }
    }

    /// A checkpoint to commit: the cursor position and the serialized index valid through it.
    struct Snapshot: Sendable {
        let through: UInt64
        let state: [UInt8]
        let generation: UInt64
    }

    private let localNode: NodeIdentity
    private var index: DedupIndex
    private var claims: [NodeIdentity: UInt64] = [:]
    private var floors: [UInt64: UInt64] = [:]
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextID: UInt64 = 1
    private var generation: UInt64 = 0
    private var checkpointGeneration: UInt64 = 0
    private var checkpointThrough: UInt64

    init(localNode: NodeIdentity, index: DedupIndex, checkpointThrough: UInt64) {
        self.localNode = localNode
        self.index = index
        self.checkpointThrough = checkpointThrough
    }

    var currentIndex: DedupIndex { index }
    /// Plans waiting for a group in flight (tests wait for one to be waiting before they finish the first).
    var waitingPlans: Int { waiters.count }

    func committed(stream: String) -> UInt64 { index.committed(stream: stream) }

    /// Classifies a group's events and claims the origins of the new ones. Waits while another group holds a
    /// claim on an origin this group needs. `floor` is the spool's last sequence, read before this call.
    func plan(origins: [EventOrigin], floor: UInt64) async throws -> Plan {
        while isBlocked(origins) {
            try Task.checkCancellation()
            await waitForChange()
        }
        var marks: [NodeIdentity: UInt64] = [:]
        var decisions: [DedupIndex.Admission] = []
        decisions.reserveCapacity(origins.count)
        for o in origins {
            // Our own events coming back through a loop are stored here already: they are this journal's records.
            if o.node == localNode {
                decisions.append(.duplicate)
                continue
            }
            let hw = marks[o.node] ?? index.highwater(o.node)
            if o.seq > hw {
                marks[o.node] = o.seq
                decisions.append(.new)
            } else {
                decisions.append(.duplicate)
            }
        }
        guard !marks.isEmpty else { return Plan(token: 0, decisions: decisions, marks: [:]) }
        let token = nextID
        nextID += 1
        for node in marks.keys { claims[node] = token }
        floors[token] = floor
        return Plan(token: token, decisions: decisions, marks: marks)
    }

    /// Ends a plan: with `stored`, the new events and the stream position become part of the index; without
    /// (the append failed), the claims are dropped and the events stay unseen.
    func finish(_ plan: Plan, stored: Bool, stream: String, through: UInt64) {
        if plan.token != 0 {
            for node in plan.marks.keys where claims[node] == plan.token { claims.removeValue(forKey: node) }
            floors.removeValue(forKey: plan.token)
        }
        if stored {
            for (node, seq) in plan.marks { index.raise(node, to: seq) }
            index.record(stream: stream, through: through)
            generation &+= 1
        }
        let all = waiters
        waiters.removeAll()
        for (_, c) in all { c.resume() }
    }

    /// The checkpoint to commit now, or nil when nothing changed since the last one.
    func snapshot(lastSequence: UInt64) -> Snapshot? {
        var through = lastSequence
        for f in floors.values { through = min(through, f) }
        // A floor can predate the last checkpoint (read before it, claimed after); its records still come after
        // that checkpoint's position, so never move backwards.
        through = max(through, checkpointThrough)
        guard through > checkpointThrough || generation != checkpointGeneration else { return nil }
        return Snapshot(through: through, state: index.serialized(), generation: generation)
    }

    func checkpointed(_ s: Snapshot) {
        checkpointThrough = max(checkpointThrough, s.through)
        checkpointGeneration = s.generation
    }

    private func isBlocked(_ origins: [EventOrigin]) -> Bool {
        if claims.isEmpty { return false }
        for o in origins where claims[o.node] != nil && o.seq > index.highwater(o.node) { return true }
        return false
    }

    private func waitForChange() async {
        let id = nextID
        nextID += 1
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                if Task.isCancelled {
                    c.resume()
                } else {
                    waiters[id] = c
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume()
    }
}
