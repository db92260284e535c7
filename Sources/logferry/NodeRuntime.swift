import LogferryCore
import LogferryDestinations
import LogferryFormat
import LogferryJournal
import LogferrySources
import LogferryTransport
import Logging
import ServiceLifecycle

/// A node assembled from its config: the journal in the middle, sources in front, destinations behind.
///
/// Service order matters: ServiceGroup shuts services down in reverse order, so sources (last in the list)
/// stop first, then receivers, then destinations drain what the journal still holds.
struct NodeRuntime {
    let identity: NodeIdentity
    let journal: Journal
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
                whenFull: FullPolicy(rawValue: j.whenFull.rawValue) ?? .block),
            logger: logger)
        let report = journal.recoveryReport
        if !report.isClean {
            logger.warning("journal recovery repaired damage", metadata: ["report": "\(report)"])
        }

        var destinations: [any Service] = []
        var receivers: [any Service] = []
        var sources: [any Service] = []
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
                destinations.append(
                    WebSocketSender(
                        configuration: scfg, spool: journal, node: identity, nodeName: cfg.node.name, logger: dlog))
            }
        }
        for s in cfg.sources {
            let slog = logger.with("source", s.name)
            switch s.kind {
            case .unixDgram(let path, let mode, let rcvbuf):
                let ingest = Pipeline.ingest(for: s, cfg: cfg, templates: templates)
                let source = UnixDatagramSource(
                    config: UnixDatagramConfiguration(
                        name: s.name, path: path, mode: mode, maxMessageBytes: s.maxMessageBytes,
                        receiveBufferBytes: rcvbuf),
                    logger: slog)
                sources.append(SourceService(source: source, ingest: ingest, spool: journal, logger: slog))
            case .unixStream(let ucfg):
                let ingest = Pipeline.ingest(for: s, cfg: cfg, templates: templates)
                sources.append(
                    SourceService(
                        source: UnixStreamSource(config: ucfg, logger: slog), ingest: ingest, spool: journal,
                        logger: slog))
            case .file(let fcfg):
                let stateDir = String(fcfg.statePath[..<fcfg.statePath.lastIndex(of: "/")!])
                try makeDirectories(stateDir, mode: 0o750)
                let ingest = Pipeline.ingest(for: s, cfg: cfg, templates: templates)
                sources.append(
                    SourceService(
                        source: FileTailSource(config: fcfg, logger: slog), ingest: ingest, spool: journal, logger: slog
                    ))
            case .websocket(let rcfg):
                receivers.append(WebSocketReceiver(configuration: rcfg, spool: journal, node: identity, logger: slog))
            }
        }
        return NodeRuntime(identity: identity, journal: journal, services: destinations + receivers + sources)
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
    let logger: Logger
    var description: String { "source:\(source.name)" }

    func run() async throws {
        let ingest = self.ingest
        let spool = self.spool
        let logger = self.logger
        do {
            try await cancelWhenGracefulShutdown {
                try await source.run { batch in
                    do {
                        let written = try await spool.write(ingest.payloads(batch))
                        return Delivery(sequences: written) { try await spool.waitDurable(through: written.upperBound) }
                    } catch SpoolError.full {
                        // when_full: drop-newest. Counted by the journal; say it without flooding the log.
                        logger.warning("journal full: dropped \(batch.count) message(s)")
                        return .immediate
                    }
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
