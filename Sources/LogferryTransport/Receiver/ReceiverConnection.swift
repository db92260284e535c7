import LogferryCore
import Logging
import WSCore

/// One sender's connection: reads and checks messages, stores batches through the ledger, acknowledges.
///
/// Two tasks: the reader decodes frames and queues batches (read-ahead bounded by `readAheadBatches`); the
/// storer takes everything queued, classifies it in one ledger call, appends the new events in one journal
/// append (so a sender's pipelined window shares one group fsync) and then acknowledges each batch in order.
struct ReceiverConnection: Sendable {
    let configuration: ReceiverConfiguration
    let spool: any Spool
    let ledger: IngestLedger
    let counters: ReceiverCounters
    let logger: Logger
    let remote: String

    private struct Item: Sendable {
        let stream: String
        let batch: Batch
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let queue = AsyncBoundedQueue<Item>(capacity: max(1, configuration.readAheadBatches))
        let greeted = AsyncOneShot<Void>()
        // No graceful-shutdown handler of our own: on shutdown the websocket library closes every connection
        // (1000) itself; a batch being stored still finishes, and its ack is simply lost (the sender resends).
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.store(queue, outbound) }
            group.addTask { await self.enforceHelloDeadline(greeted, outbound) }
            await self.read(inbound, outbound, queue, greeted)
            greeted.fire()
            queue.close()
            await group.waitForAll()
        }
    }

    // MARK: Reading

    private func read(
        _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, _ queue: AsyncBoundedQueue<Item>,
        _ greeted: AsyncOneShot<Void>
    ) async {
        var session = ReceiverSession()
        var iterator = inbound.makeAsyncIterator()
        var assembler = MessageAssembler(maxBytes: configuration.maxMessageBytes)
        let limits = WireLimits(maxBatchEvents: configuration.maxBatchEvents)
        do {
            while let frame = try await iterator.next() {
                guard let message = try assembler.feed(frame) else { continue }
                switch try session.receive(try WireCodec.decode(message, limits: limits)) {
                case .welcome(let stream):
                    greeted.fire()
                    let committed = await ledger.committed(stream: stream)
                    logger.info(
                        "sender connected",
                        metadata: [
                            "remote": "\(remote)", "stream": "\(stream)", "node": "\(session.node ?? "")",
                            "committed": "\(committed)",
                        ])
                    let welcome = Welcome(
                        committed: committed, maxMessageBytes: configuration.maxMessageBytes,
                        maxBatchEvents: configuration.maxBatchEvents)
                    try await outbound.send(.welcome(welcome))
                case .ingest(let batch):
                    guard await queue.push(Item(stream: session.stream ?? "", batch: batch)) else { return }
                }
            }
            logger.info(
                "sender disconnected", metadata: ["remote": "\(remote)", "stream": "\(session.stream ?? "-")"])
        } catch let error as WireError {
            counters.update { $0.protocolErrors += 1 }
            logger.warning(
                "closing connection: peer broke the protocol",
                metadata: [
                    "remote": "\(remote)", "stream": "\(session.stream ?? "-")", "error": "\(error)",
                    "close_code": "\(error.closeCode.rawValue)",
                ])
            try? await outbound.send(.error(ErrorMessage(error.code, error.message)))
            try? await error.closeCode.send(on: outbound, reason: error.code.rawValue)
        } catch {
            logger.info(
                "sender connection ended",
                metadata: ["remote": "\(remote)", "stream": "\(session.stream ?? "-")", "reason": "\(error)"])
        }
    }

    /// A peer that connects and says nothing would hold a connection forever (pings keep it alive).
    private func enforceHelloDeadline(_ greeted: AsyncOneShot<Void>, _ outbound: WebSocketOutboundWriter) async {
        let timeout = configuration.helloTimeout
        let expired = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await Task.sleep(for: timeout)) != nil }
            group.addTask {
                _ = await greeted.wait()
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard expired, !greeted.isFired else { return }
        counters.update { $0.protocolErrors += 1 }
        logger.warning("closing connection: no hello in time", metadata: ["remote": "\(remote)"])
        let error = WireError(.helloTimeout, "no hello within \(timeout)")
        try? await outbound.send(.error(ErrorMessage(error.code, error.message)))
        try? await error.closeCode.send(on: outbound, reason: error.code.rawValue)
    }

    // MARK: Storing

    private func store(_ queue: AsyncBoundedQueue<Item>, _ outbound: WebSocketOutboundWriter) async {
        // A storer that stops (journal failure, closed socket) must release a reader waiting for room.
        defer { queue.close() }
        while let items = await queue.takeAll() {
            guard let stream = items.first?.stream, let through = items.last?.batch.events.last?.seq else { continue }
            var origins: [EventOrigin] = []
            origins.reserveCapacity(items.reduce(0) { $0 + $1.batch.events.count })
            for item in items { for e in item.batch.events { origins.append(e.origin) } }

            let floor = await spool.lastSequence()
            let plan: IngestLedger.Plan
            do {
                plan = try await ledger.plan(origins: origins, floor: floor)
            } catch {
                return  // cancelled: the server is stopping
            }
            var payloads: [[UInt8]] = []
            payloads.reserveCapacity(plan.newCount)
            var i = 0
            for item in items {
                for e in item.batch.events {
                    if plan.decisions[i] == .new {
                        // `document` is a checked JSON object without `_id` (WireCodec.decode).
                        payloads.append(SpooledEvent(origin: e.origin, document: e.document).encoded())
                    }
                    i += 1
                }
            }
            if !payloads.isEmpty {
                let spool = self.spool
                let batchPayloads = payloads
                do {
                    // Not cancelled with this connection: an append that started finishes, so the ledger always
                    // learns whether the records are in the journal.
                    _ = try await Task { try await spool.append(batchPayloads) }.value
                } catch {
                    await ledger.finish(plan, stored: false, stream: stream, through: through)
                    counters.update { $0.storageFailures += 1 }
                    logger.error(
                        "journal append failed; closing the connection so the sender retries",
                        metadata: ["remote": "\(remote)", "stream": "\(stream)", "error": "\(error)"])
                    try? await outbound.send(.error(ErrorMessage(.storage, "journal append failed: \(error)")))
                    try? await CloseCode.internalError.send(on: outbound, reason: WireErrorCode.storage.rawValue)
                    return
                }
            }
            await ledger.finish(plan, stored: true, stream: stream, through: through)
            let stored = payloads.count
            counters.update {
                $0.eventsStored += stored
                $0.eventsDuplicate += origins.count - stored
                $0.batchesAcked += items.count
            }
            for item in items {
                let b = item.batch
                let ack = WireCodec.encodeAck(
                    batch: b.batch, through: b.events.last?.seq ?? 0, ids: b.events.lazy.map { $0.origin.documentID })
                do {
                    try await outbound.sendJSON(ack)
                } catch {
                    return  // the connection is gone; the sender resends and dedup answers with the same IDs
                }
            }
        }
    }
}
