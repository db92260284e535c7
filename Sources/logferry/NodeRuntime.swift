import LogferryCore
import LogferryDestinations
import LogferryFormat
import LogferryJournal
import LogferrySources
import LogferryTransport
import Logging
import ServiceLifecycle
import Synchronization

/// A node assembled from its config: the journal in the middle, sources in front, destinations behind.
///
/// Service order matters: ServiceGroup shuts services down in reverse order, so sources (last in the list)
/// stop first, then receivers, then destinations drain what the journal still holds.
struct NodeRuntime {
    let identity: NodeIdentity
    let journal: Journal
    let metrics: MetricsRegistry
    /// The token sets of listeners (websocket receivers, http sources) by source name, for SIGHUP.
    let tokenStores: [String: TokenStore]
    let services: [any Service]

    static func build(_ cfg: NodeConfig, logger: Logger, drainTimeout: Duration = .seconds(10)) async throws
        -> NodeRuntime
    {
        let templates = try Pipeline.compileTemplates(cfg)
        try makeDirectories(cfg.node.dataDir, mode: 0o750)
        let identity = try NodeIdentity.loadOrCreate(dataDirectory: cfg.node.dataDir)
        let j = cfg.journal
        let journal = try await Journal.open(
            JournalConfiguration(
                directory: cfg.node.dataDir + "/journal", segmentBytes: j.segmentBytes, maxBytes: j.maxBytes,
                fsync: FsyncPolicy(rawValue: j.fsync.rawValue) ?? .interval, fsyncInterval: j.fsyncInterval,
                whenFull: FullPolicy(rawValue: j.whenFull.rawValue) ?? .block,
                // A record may take at most a quarter of a small journal, so `max_bytes` down to 64KiB works.
                maxRecordBytes: min(16 << 20, j.maxBytes / 4)),
            logger: logger)
        let report = journal.recoveryReport
        if !report.isClean {
            logger.warning("journal recovery repaired damage", metadata: ["report": "\(report)"])
        }

        let metrics = MetricsRegistry()
        metrics.register(NodeMetrics.journal(journal))
        var destinations: [any Service] = []
        var receivers: [any Service] = []
        var sources: [any Service] = []
        var drops: [DropReporter.Counted] = [
            .init(source: "journal", reason: "journal_drop_oldest") {
                Int(journal.stat().droppedOldestRecords)
            }
        ]
        var senders: [(String, WebSocketSender)] = []
        var tokenStores: [String: TokenStore] = [:]
        /// A source's service, with its loss counters registered for metrics and the drop reporter.
        func sourceService(
            _ s: SourceConfig, _ type: String, _ source: any Source,
            extra: @escaping @Sendable () -> [MetricSample]
        ) -> SourceService {
            let dropCounters = SourceDropCounters()
            metrics.register(NodeMetrics.source(name: s.name, type: type, drops: dropCounters, extra: extra))
            drops.append(
                .init(source: s.name, reason: "journal_full") { dropCounters.journalFull.load(ordering: .relaxed) })
            drops.append(.init(source: s.name, reason: "too_large") { dropCounters.tooLarge.load(ordering: .relaxed) })
            let slog = logger.with("source", s.name)
            return SourceService(
                source: source, ingest: Pipeline.ingest(for: s, cfg: cfg, templates: templates), spool: journal,
                drops: dropCounters, logger: slog)
        }
        for d in cfg.destinations {
            let dlog = logger.with("destination", d.name)
            switch d.kind {
            case .file(let fcfg):
                let dest = try FileStoreDestination(
                    configuration: fcfg, spool: journal, localNode: identity, logger: dlog)
                destinations.append(
                    DrainingService(
                        name: "file:\(d.name)", cursor: fcfg.cursorName, spool: journal, deadline: drainTimeout
                    ) {
                        try await dest.run()
                    })
            case .stdout:
                let dest = StdoutDestination(
                    name: d.name, spool: journal, localNode: identity, logger: dlog, selector: d.selector)
                destinations.append(
                    DrainingService(
                        name: "stdout:\(d.name)", cursor: dest.cursorName, spool: journal, deadline: drainTimeout
                    ) {
                        try await dest.run()
                    })
            case .websocket(let scfg):
                // The sender drains on graceful shutdown by itself (it keeps sending until the journal is acked).
                let sender = WebSocketSender(
                    configuration: scfg, spool: journal, node: identity, nodeName: cfg.node.name, logger: dlog)
                metrics.register(NodeMetrics.sender(d.name, sender))
                senders.append((d.name, sender))
                destinations.append(sender)
            }
        }
        for s in cfg.sources {
            let slog = logger.with("source", s.name)
            switch s.kind {
            case .unixDgram(let ucfg):
                let counters = DatagramSourceCounters()
                let source = UnixDatagramSource(config: ucfg, counters: counters, logger: slog)
                drops.append(.init(source: s.name, reason: "buffer_full") { counters.dropped.load(ordering: .relaxed) })
                sources.append(sourceService(s, "unix-dgram", source, extra: NodeMetrics.datagram(counters)))
            case .unixStream(let ucfg):
                let counters = StreamSourceCounters()
                sources.append(
                    sourceService(
                        s, "unix-stream", UnixStreamSource(config: ucfg, counters: counters, logger: slog),
                        extra: NodeMetrics.stream(counters)))
            case .file(let fcfg):
                let stateDir = String(fcfg.statePath[..<fcfg.statePath.lastIndex(of: "/")!])
                try makeDirectories(stateDir, mode: 0o750)
                let counters = FileTailCounters()
                sources.append(
                    sourceService(
                        s, "file",
                        FileTailSource(
                            config: fcfg, counters: counters, journalLastSequence: { await journal.lastSequence() },
                            logger: slog),
                        extra: NodeMetrics.file(counters)))
            case .udp(let ucfg):
                let counters = DatagramSourceCounters()
                drops.append(.init(source: s.name, reason: "buffer_full") { counters.dropped.load(ordering: .relaxed) })
                sources.append(
                    sourceService(
                        s, "udp", UDPSyslogSource(config: ucfg, counters: counters, logger: slog),
                        extra: NodeMetrics.datagram(counters)))
            case .tcp(let tcfg):
                let counters = StreamSourceCounters()
                sources.append(
                    sourceService(
                        s, "tcp", TCPSyslogSource(config: tcfg, counters: counters, logger: slog),
                        extra: NodeMetrics.stream(counters)))
            case .http(let hcfg):
                if hcfg.tokens.isEmpty && hcfg.tokensFile == nil {
                    slog.warning("http source has no tokens configured: any client may send events")
                }
                let counters = HTTPIngestCounters()
                let source = HTTPIngestSource(config: hcfg, node: identity, counters: counters, logger: slog)
                tokenStores[s.name] = source.tokenStore
                sources.append(sourceService(s, "http", source, extra: NodeMetrics.http(counters)))
            case .websocket(let rcfg):
                let receiver = WebSocketReceiver(configuration: rcfg, spool: journal, node: identity, logger: slog)
                metrics.register(NodeMetrics.receiver(s.name, receiver))
                tokenStores[s.name] = receiver.tokenStore
                receivers.append(receiver)
            }
        }
        try await removeStaleCursors(cfg, journal: journal, logger: logger)
        var extras: [any Service] = [
            DropReporter(
                counted: drops, spool: journal,
                ingest: Ingest(
                    sourceName: "logferry", nodeName: cfg.node.name, maxMessageBytes: 64 * 1024,
                    parser: SyslogParser(format: .rfc5424), template: Template.default),
                interval: .seconds(5), logger: logger)
        ]
        if let listen = cfg.node.metricsListen, let hp = HostPort(listen) {
            let senderList = senders
            let maxBytes = cfg.journal.maxBytes
            let recentLoss = Mutex<(total: UInt64, at: ContinuousClock.Instant?)>((0, nil))
            extras.append(
                MetricsServer(
                    listen: hp, registry: metrics,
                    health: {
                        let st = journal.stat()
                        var reasons: [String] = []
                        let lost = st.rejectedNewestRecords + st.droppedOldestRecords
                        let recent = recentLoss.withLock { r in
                            if lost > r.total { r = (lost, .now) }
                            return r.at.map { $0.duration(to: .now) < .seconds(30) } ?? false
                        }
                        if recent { reasons.append("the journal dropped records in the last 30s (when_full)") }
                        if st.blockedAppends > 0 {
                            reasons.append("journal full: \(st.blockedAppends) append(s) waiting")
                        }
                        if st.bytes >= maxBytes / 100 * 95 {
                            reasons.append("journal at \(st.bytes * 100 / maxBytes)% of max_bytes")
                        }
                        let lags = Dictionary(st.cursors.map { ($0.name, $0.lag) }, uniquingKeysWith: { a, _ in a })
                        return NodeHealth(
                            ok: reasons.isEmpty, reasons: reasons, journalBytes: st.bytes, journalMaxBytes: maxBytes,
                            destinations: senderList.map { name, sender in
                                (name, sender.statistics.connected, lags[sender.configuration.cursorName] ?? 0)
                            })
                    }, logger: logger.with("component", "metrics")))
        }
        // Metrics and the drop reporter stop last of all (before destinations in the reverse shutdown order).
        return NodeRuntime(
            identity: identity, journal: journal, metrics: metrics, tokenStores: tokenStores,
            services: extras + destinations + receivers + sources)
    }
}

/// A destination that left the configuration would hold its cursor's records forever (segments are deleted only
/// once every cursor passed them), so its cursor is removed at start, with a warning naming what it had not
/// delivered; the other destinations keep everything. The receiver's dedup checkpoint (`receiver-index`) goes
/// the same way when no websocket source is configured any more.
func removeStaleCursors(_ cfg: NodeConfig, journal: Journal, logger: Logger) async throws {
    var wanted = Set<String>()
    for d in cfg.destinations {
        switch d.kind {
        case .file(let f): wanted.insert(f.cursorName)
        case .stdout: wanted.insert("stdout-" + d.name)
        case .websocket(let w): wanted.insert(w.cursorName)
        }
    }
    let receivers = cfg.sources.contains { if case .websocket = $0.kind { true } else { false } }
    if receivers { wanted.insert(WebSocketReceiver.indexCursorName) }
    let owned = ["file-", "stdout-", "ws-", WebSocketReceiver.indexCursorName]
    for c in journal.stat().cursors where !wanted.contains(c.name) && owned.contains(where: { c.name.hasPrefix($0) }) {
        logger.warning(
            "destination left the configuration: its journal cursor is removed",
            metadata: ["cursor": "\(c.name)", "undelivered_records": "\(c.lag)"])
        try await journal.removeCursor(c.name)
    }
}

extension Logger {
    func with(_ key: String, _ value: String) -> Logger {
        var l = self
        l[metadataKey: key] = "\(value)"
        return l
    }
}

/// Runs a source: each batch is parsed, templated and appended; `deliver` returns once the journal made the
/// batch durable. Graceful shutdown cancels it (sources stop first).
struct SourceService: Service, CustomStringConvertible {
    let source: any Source
    let ingest: Ingest
    let spool: any Spool
    let drops: SourceDropCounters
    let logger: Logger
    var description: String { "source:\(source.name)" }

    /// Writes a batch; returns its sequence numbers, or nil when nothing of it was journaled. A batch larger than
    /// the journal takes at once (a small `max_bytes`) is written in halves; then the range covers the halves only
    /// when no other writer came between them, else it is nil too (only the HTTP source uses it, to name IDs).
    /// Refused messages are counted: `journal_full` (when_full: drop-newest), `too_large` (one record above the
    /// journal's record limit).
    static func write(
        _ payloads: [[UInt8]], to spool: any Spool, drops: SourceDropCounters,
        hook: WriteHook?
    ) async throws -> ClosedRange<UInt64>? {
        do {
            return try await spool.write(payloads, beforeWrite: hook)
        } catch SpoolError.full {
            drops.journalFull.add(payloads.count, ordering: .relaxed)
            return nil
        } catch SpoolError.recordTooLarge where payloads.count > 1 {
            let mid = payloads.count / 2
            // The hook describes the whole batch: it must not fire for a half.
            let a = try await write(Array(payloads[..<mid]), to: spool, drops: drops, hook: nil)
            let b = try await write(Array(payloads[mid...]), to: spool, drops: drops, hook: nil)
            guard let a, let b else { return a ?? b }
            return a.upperBound + 1 == b.lowerBound ? a.lowerBound...b.upperBound : nil
        } catch SpoolError.recordTooLarge {
            drops.tooLarge.add(payloads.count, ordering: .relaxed)
            return nil
        }
    }

    func run() async throws {
        let ingest = self.ingest
        let spool = self.spool
        let drops = self.drops
        do {
            try await cancelWhenGracefulShutdown {
                let deliver: DeliverWithHook = { batch, hook in
                    guard
                        let written = try await Self.write(ingest.payloads(batch), to: spool, drops: drops, hook: hook)
                    else { return .immediate }
                    return Delivery(sequences: written) { try await spool.waitDurable(through: written.upperBound) }
                }
                if let hooked = source as? any HookedSource {
                    try await hooked.run(deliverWithHook: deliver)
                } else {
                    try await source.run { batch in try await deliver(batch, nil) }
                }
            }
        } catch is CancellationError {}
    }
}

/// Runs a destination until graceful shutdown, then lets it deliver what the journal holds (its cursor reaches
/// the last sequence) for up to `deadline` before cancelling it. What it did not deliver stays journaled.
struct DrainingService: Service, CustomStringConvertible {
    let name: String
    let cursor: String
    let spool: any Spool
    let deadline: Duration
    let body: @Sendable () async throws -> Void
    var description: String { name }

    func run() async throws {
        let spool = self.spool
        let cursor = self.cursor
        let deadline = self.deadline
        let body = self.body
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do { try await body() } catch is CancellationError {}
            }
            group.addTask {
                do { try await gracefulShutdown() } catch { return }  // cancelled: the group is ending anyway
                let target = await spool.lastSequence()
                let end = ContinuousClock.now + deadline
                while ContinuousClock.now < end, try await spool.openCursor(cursor).seq < target {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            try await group.next()
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}
