import LogferryCore
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization
import WSClient
import WSCompression

/// The sending end of the websocket link: forwards this node's journal to a receiver and moves the destination's
/// cursor (`ws-<name>`) only when the receiver acknowledged, i.e. when the events are durable over there.
///
/// Forever until shutdown: connect, `hello`, wait for `welcome`, then send batches read from the journal after
/// max(cursor, welcome.committed), up to `window` batches unacknowledged. Acks arrive in order and are checked
/// against the window. Any failure (refused handshake, closed socket, missed pings, bad ack, ack timeout) ends
/// the connection; the next one, after a jittered exponential backoff, resends from the acknowledged position.
/// On graceful shutdown it keeps sending until everything in the journal is acknowledged, then closes (1000).
///
/// ```swift
/// let sender = WebSocketSender(configuration: .init(url: "ws://central:7000/v1/ingest", token: t,
///                                                   destinationName: "central"),
///                              spool: journal, node: identity, nodeName: "web-01", logger: logger)
/// ```
public final class WebSocketSender: Service, Sendable {
    public let configuration: SenderConfiguration
    private let spool: any Spool
    private let node: NodeIdentity
    private let nodeName: String
    private let logger: Logger
    private let counters = SenderCounters(SenderStatistics())
    private let drain = AsyncOneShot<Void>()
    private let committer = Mutex<CursorCommitter?>(nil)
    private let receiptWriter = Mutex<ReceiptWriter?>(nil)

    public init(
        configuration: SenderConfiguration, spool: any Spool, node: NodeIdentity, nodeName: String, logger: Logger
    ) {
        self.configuration = configuration
        self.spool = spool
        self.node = node
        self.nodeName = nodeName
        var logger = logger
        logger[metadataKey: "destination"] = "\(configuration.destinationName)"
        self.logger = logger
    }

    /// The `stream` this sender announces in `hello`: its node identity and destination name, so two
    /// destinations of one node that reach the same receiver do not share a position.
    public var streamName: String { "\(node.hex)/\(configuration.destinationName)" }

    /// Counters since start.
    public var statistics: SenderStatistics {
        var s = counters.snapshot
        s.committed = committer.withLock { $0?.committed } ?? 0
        return s
    }

    public func run() async throws {
        let problems = configuration.problems()
        guard problems.isEmpty else { throw TLSSetupError(problems.joined(separator: "; ")) }
        let tls = try TransportTLS.clientConfiguration(for: configuration)
        if tls != nil, !configuration.tlsVerify {
            logger.warning(
                "TLS CERTIFICATE VERIFICATION IS DISABLED (tls_verify: false): this destination accepts any certificate, so anyone on the network path can impersonate the receiver and read or alter the events. Use ca_file instead.",
                metadata: ["url": "\(configuration.url)"])
        }
        let cursor = try await spool.openCursor(configuration.cursorName)
        let committer = CursorCommitter(spool: spool, name: configuration.cursorName, start: cursor.seq, logger: logger)
        self.committer.withLock { $0 = committer }
        var receipts: ReceiptWriter?
        if let rc = configuration.receipts {
            do {
                receipts = try ReceiptWriter(configuration: rc, logger: logger)
            } catch {
                // Informational only: delivery goes on without them.
                logger.error(
                    "cannot keep receipts; acknowledged document IDs will not be recorded",
                    metadata: ["directory": "\(rc.directory)", "error": "\(error)"])
            }
        }
        receiptWriter.withLock { $0 = receipts }
        logger.info(
            "websocket destination starting",
            metadata: [
                "url": "\(configuration.url)", "cursor": "\(configuration.cursorName)", "after": "\(cursor.seq)",
            ])
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await committer.run() }
                if let receipts { group.addTask { await receipts.run() } }
                await self.connectLoop(committer, tls)
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.drain.fire()
        }
        await committer.commitOnce()
        logger.info("websocket destination stopped", metadata: ["committed": "\(committer.committed)"])
    }

    // MARK: Connections

    private struct Outcome {
        var healthy: Bool
        var drained: Bool
        var reason: String
    }

    private func connectLoop(_ committer: CursorCommitter, _ tls: TLSConfiguration?) async {
        var backoff = Backoff(initial: configuration.backoffInitial, maximum: configuration.backoffMax)
        while !Task.isCancelled {
            if drain.isFired, await spool.lastSequence() <= committer.target { return }
            let outcome = await connectOnce(committer, tls)
            counters.update { $0.connected = false }
            if outcome.drained || Task.isCancelled { return }
            counters.update { $0.disconnects += 1 }
            if drain.isFired {
                logger.warning(
                    "link lost while draining for shutdown; unsent events stay in the journal",
                    metadata: ["reason": "\(outcome.reason)", "acknowledged_through": "\(committer.target)"])
                return
            }
            if outcome.healthy { backoff.reset() }
            let delay = backoff.next()
            logger.warning(
                "disconnected from receiver",
                metadata: [
                    "url": "\(configuration.url)", "reason": "\(outcome.reason)",
                    "retry_in_ms":
                        "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)",
                ])
            await sleepOrDrain(delay)
        }
    }

    private func sleepOrDrain(_ delay: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: delay) }
            group.addTask { _ = await self.drain.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    /// The host part of a `ws://` / `wss://` URL (nil for an IPv6 literal, which needs no SNI workaround).
    static func urlHost(_ url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("[") { return nil }
        let host = authority.prefix { $0 != ":" }
        return host.isEmpty ? nil : String(host)
    }

    private func connectOnce(_ committer: CursorCommitter, _ tls: TLSConfiguration?) async -> Outcome {
        let started = ContinuousClock.now
        let progress = ProgressBox()
        let subprotocol = ProtocolV1.subprotocol
        let client = WebSocketClient(
            url: configuration.url,
            configuration: WebSocketClientConfiguration(
                maxFrameSize: configuration.maxFrameSize,
                additionalHeaders: configuration.token.map {
                    [.authorization: "Bearer \($0)", .secWebSocketProtocol: subprotocol]
                } ?? [.secWebSocketProtocol: subprotocol],
                extensions: configuration.compression
                    ? [.perMessageDeflate(maxDecompressedFrameSize: configuration.maxFrameSize)] : [],
                closeTimeout: .seconds(5),
                autoPing: .enabled(timePeriod: configuration.pingInterval),
                validateUTF8: false,
                sniHostname: tls == nil
                    ? nil
                    : Self.urlHost(configuration.url).flatMap {
                        TransportTLS.sniHostname(forHost: $0, override: configuration.tlsServerName)
                    } ?? configuration.tlsServerName
            ),
            tlsConfiguration: tls,
            logger: logger
        ) { inbound, outbound, _ in
            try await self.session(inbound, outbound, committer, progress)
        }
        // Detached, so the connection does not see the service's graceful shutdown: the websocket library would
        // close it at once (1000), and a draining sender needs it until the last ack. Cancellation is forwarded.
        let connection = Task.detached { try await client.run() }
        var reason: String
        do {
            let closeFrame = try await withTaskCancellationHandler {
                try await connection.value
            } onCancel: {
                connection.cancel()
            }
            if let close = closeFrame {
                let code = CloseCode.from(close)?.description ?? "\(close.closeCode)"
                reason = "closed with \(code)" + (close.reason.map { ": \($0)" } ?? "")
            } else {
                reason = "connection closed"
            }
        } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
            reason = "handshake refused (check the token, the path and that the peer is a logferry receiver)"
        } catch  where TransportTLS.isTLSError(error) {
            counters.update { $0.tlsFailures += 1 }
            reason =
                "TLS failure: \(error) (check ca_file, the receiver certificate's names, and for mutual TLS tls_client_cert/tls_client_key)"
        } catch {
            reason = "\(error)"
        }
        let p = progress.withLock { $0 }
        if let e = p.receiverError { reason += "; receiver said \(e.code): \(e.message)" }
        let healthy = p.welcomed && (p.acks > 0 || started.duration(to: .now) >= .seconds(10))
        return Outcome(healthy: healthy, drained: p.drained, reason: reason)
    }

    private struct Progress {
        var welcomed = false
        var acks = 0
        var drained = false
        var receiverError: ErrorMessage?
    }

    /// What one connection achieved, written by its tasks and read when it ended.
    private final class ProgressBox: Sendable {
        private let value = Mutex(Progress())
        func withLock<R>(_ body: (inout Progress) -> R) -> R { value.withLock { body(&$0) } }
    }

    /// Why this side ended a connection.
    private enum LinkError: Error, CustomStringConvertible {
        case protocolViolation(String)
        case handshakeTimeout
        case ackTimeout(batch: UInt64?)

        var closeCode: CloseCode {
            switch self {
            case .protocolViolation: .protocolError
            case .handshakeTimeout, .ackTimeout: .goingAway
            }
        }

        var description: String {
            switch self {
            case .protocolViolation(let m): "receiver broke the protocol: \(m)"
            case .handshakeTimeout: "no welcome from the receiver in time"
            case .ackTimeout: "no ack from the receiver in time"
            }
        }
    }

    private func session(
        _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, _ committer: CursorCommitter,
        _ progress: ProgressBox
    ) async throws {
        let link = SenderLink(capacity: configuration.window)
        let welcome = AsyncOneShot<Welcome>()
        try await outbound.send(.hello(Hello(stream: streamName, node: nodeName)))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.readLoop(inbound, link, welcome, committer, progress) }
                group.addTask { try await self.writeLoop(outbound, link, welcome, committer, progress) }
                group.addTask { try await self.watchdog(link, welcome) }
                try await group.next()
                group.cancelAll()
            }
        } catch let error as LinkError {
            try? await error.closeCode.send(on: outbound, reason: "\(error)")
            throw error
        }
    }

    private func readLoop(
        _ inbound: WebSocketInboundStream, _ link: SenderLink, _ welcome: AsyncOneShot<Welcome>,
        _ committer: CursorCommitter, _ progress: ProgressBox
    ) async throws {
        var iterator = inbound.makeAsyncIterator()
        var assembler = MessageAssembler(maxBytes: max(configuration.maxFrameSize, 1 << 20))
        let receipts = receiptWriter.withLock { $0 }
        while let frame = try await iterator.next() {
            let message: WireMessage
            do throws(WireError) {
                guard let buffer = try assembler.feed(frame) else { continue }
                message = try WireCodec.decode(buffer, limits: WireLimits())
            } catch {
                throw LinkError.protocolViolation("\(error)")
            }
            switch message {
            case .welcome(let w):
                guard welcome.value == nil else { throw LinkError.protocolViolation("a second welcome") }
                guard w.version == ProtocolV1.version else {
                    throw LinkError.protocolViolation("welcome for protocol version \(w.version)")
                }
                welcome.fire(w)
            case .ack(let ack):
                guard welcome.value != nil else { throw LinkError.protocolViolation("an ack before welcome") }
                let through: UInt64
                do throws(SenderWindow.AckError) {
                    through = try link.acked(ack)
                } catch {
                    throw LinkError.protocolViolation("\(error)")
                }
                committer.advance(to: through)
                if let receipts, let seqs = link.takeSeqs(forBatch: ack.batch) {
                    receipts.record(seqs: seqs, ids: ack.ids)
                }
                progress.withLock { $0.acks += 1 }
                let now = Timestamp.now().nanos
                let appended = link.takeAppendTime(forBatch: ack.batch)
                counters.update {
                    $0.batchesAcked += 1
                    $0.eventsAcked += ack.ids.count
                    $0.lastAckUnixNanos = now
                    if let appended { $0.ackLatency.observe(Double(max(0, now - appended)) / 1e9) }
                }
            case .error(let e):
                logger.warning(
                    "receiver reported an error", metadata: ["code": "\(e.code)", "message": "\(e.message)"])
                progress.withLock { $0.receiverError = e }
            case .hello, .batch:
                throw LinkError.protocolViolation("a receiver does not send \"\(message.type)\"")
            }
        }
    }

    private func watchdog(_ link: SenderLink, _ welcome: AsyncOneShot<Welcome>) async throws {
        let start = ContinuousClock.now
        let tick = min(Duration.seconds(1), configuration.ackTimeout / 4, configuration.handshakeTimeout / 4)
        while true {
            try await Task.sleep(for: tick)
            if welcome.value == nil, start.duration(to: .now) > configuration.handshakeTimeout {
                throw LinkError.handshakeTimeout
            }
            if let sent = link.oldestSentAt, sent.duration(to: .now) > configuration.ackTimeout {
                throw LinkError.ackTimeout(batch: nil)
            }
        }
    }

    // MARK: Sending

    private func writeLoop(
        _ outbound: WebSocketOutboundWriter, _ link: SenderLink, _ welcome: AsyncOneShot<Welcome>,
        _ committer: CursorCommitter, _ progress: ProgressBox
    ) async throws {
        guard let w = await welcome.wait() else { throw CancellationError() }
        progress.withLock { $0.welcomed = true }
        counters.update {
            $0.connections += 1
            $0.connected = true
        }

        // Everything the receiver says it committed counts as acknowledged.
        var position = committer.target
        if w.committed > position {
            let last = await spool.lastSequence()
            if w.committed > last {
                logger.warning(
                    "receiver has committed past the end of this journal (journal restored from a backup?)",
                    metadata: ["committed": "\(w.committed)", "journal_last": "\(last)"])
            }
            let skipTo = min(w.committed, last)
            if skipTo > position {
                committer.advance(to: skipTo)
                position = skipTo
            }
        }
        logger.info(
            "connected to receiver",
            metadata: [
                "url": "\(configuration.url)", "stream": "\(streamName)", "receiver_committed": "\(w.committed)",
                "resume_after": "\(position)",
            ])

        let frameLimit = min(configuration.maxFrameSize, w.maxMessageBytes ?? Int.max)
        let byteLimit = max(1024, min(configuration.maxBatchBytes, frameLimit) - BatchEncoder.envelopeOverhead)
        let maxEvents = max(1, min(configuration.maxBatchEvents, w.maxBatchEvents ?? Int.max))
        var pending: [SpoolRecord] = []  // read, not yet batched; the next one last
        let keepSeqs = receiptWriter.withLock { $0 } != nil

        while true {
            try await link.waitForRoom()
            var batch = BatchEncoder(batch: link.nextNumber, capacity: min(byteLimit, 64 << 10))
            var batchSeqs: [UInt64] = []  // for the receipt, when kept
            var oldestAppend = Int64.max  // journal append time of the batch's oldest record (ack latency)
            var skipped = false
            var lingered = false
            var filtered = 0  // rejected by the selector in this fill
            fill: while batch.count < maxEvents {
                if pending.isEmpty {
                    let records = try await spool.read(
                        after: position, maxRecords: maxEvents - batch.count,
                        maxBytes: max(1, byteLimit - batch.byteCount))
                    if records.isEmpty {
                        if batch.count > 0, !lingered, configuration.batchLinger > .zero, !drain.isFired {
                            lingered = true
                            try await Task.sleep(for: configuration.batchLinger)
                            continue fill
                        }
                        break fill
                    }
                    pending = records.reversed()
                }
                let record = pending.removeLast()
                // Parsed into values only when a selector needs them; otherwise just checked (a third of the cost).
                guard let event = try? SpooledEvent.decode(record.payload),
                    let object = configuration.selector == nil
                        ? (Self.isJSONObject(event.document) ? JSONObject() : nil) : Self.jsonObject(event.document)
                else {
                    counters.update { $0.recordsUndecodable += 1 }
                    logger.error(
                        "journal record is not a logferry event with a JSON object document; skipping it",
                        metadata: ["seq": "\(record.seq)", "bytes": "\(record.payload.count)"])
                    position = record.seq
                    skipped = true
                    continue
                }
                if let selector = configuration.selector, !selector.accepts(object: object) {
                    // Not sent, yet delivered: committed like the other skipped records (with the batch in flight
                    // before it, or at once when none is).
                    counters.update { $0.recordsFiltered += 1 }
                    position = record.seq
                    skipped = true
                    filtered += 1
                    // A long run of rejected records is committed in steps rather than scanned in one pass.
                    if batch.count == 0, filtered >= maxEvents { break fill }
                    continue
                }
                let size = event.document.count + BatchEncoder.eventOverhead
                if size + BatchEncoder.envelopeOverhead > frameLimit {
                    counters.update { $0.recordsOversized += 1 }
                    logger.error(
                        "event larger than the receiver accepts in one message; skipping it",
                        metadata: ["seq": "\(record.seq)", "bytes": "\(size)", "limit": "\(frameLimit)"])
                    position = record.seq
                    skipped = true
                    continue
                }
                if batch.count > 0, batch.byteCount + size > byteLimit {
                    pending.append(record)
                    break fill
                }
                batch.append(
                    seq: record.seq, origin: event.resolvedOrigin(localNode: node, seq: record.seq),
                    document: event.document)
                if keepSeqs { batchSeqs.append(record.seq) }
                oldestAppend = min(oldestAppend, record.timeNanos)
                position = record.seq
            }

            if batch.count == 0 {
                if skipped {
                    if let through = link.skipped(through: position) { committer.advance(to: through) }
                    continue
                }
                if drain.isFired {
                    if link.isEmpty {
                        progress.withLock { $0.drained = true }
                        logger.info("drained for shutdown", metadata: ["acknowledged_through": "\(position)"])
                        return
                    }
                    try await link.waitUntilEmpty()
                    continue
                }
                try await waitForRecordsOrDrain(after: position)
                continue
            }
            let (lastSeq, count) = (batch.lastSeq, batch.count)
            if keepSeqs { link.remember(seqs: batchSeqs, forBatch: link.nextNumber) }
            link.sent(lastSeq: lastSeq, eventCount: count, commitThrough: position, oldestAppendNanos: oldestAppend)
            try await outbound.sendJSON(batch.finish())
            counters.update { $0.batchesSent += 1 }
        }
    }

    private func waitForRecordsOrDrain(after seq: UInt64) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.spool.waitForRecords(after: seq) }
            group.addTask { _ = await self.drain.wait() }
            try await group.next()
            group.cancelAll()
        }
        try Task.checkCancellation()
    }

    /// Whether a journal document is one JSON object. A document that is not would make the receiver close the
    /// connection on every retry and wedge the link, so it is checked here and skipped instead.
    static func isJSONObject(_ document: [UInt8]) -> Bool {
        document.first == UInt8(ascii: "{") && (try? JSONParser.validate(document)) != nil
    }

    /// The document as an object (parsed once for the check above and the selector), nil when it is not one.
    static func jsonObject(_ document: [UInt8]) -> JSONObject? {
        if case .object(let o)? = try? JSONParser.parse(document) { return o }
        return nil
    }
}
