import ArgumentParser
import Glibc
import LogferryCore
import LogferryJournal
import Logging
import ServiceLifecycle
import UnixSignals

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a node in the foreground until SIGTERM/SIGINT (graceful drain); SIGHUP re-reads the config.",
        discussion:
            "Without --config, runs the all-in-one quickstart under ./logferry-data (see conf.d/quickstart.yaml)."
    )

    @Option(name: .long, help: "The config file. Omit it for the all-in-one quickstart.")
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .long, help: "How long a graceful stop waits for destinations to deliver what is journaled.")
    var drainTimeout: Double = 10

    mutating func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw UserError(
                description:
                    "--log-level '\(logLevel)' is not a level; use one of: trace, debug, info, notice, warning, error, critical"
            )
        }
        // The executable is the one place that bootstraps logging; libraries take a Logger.
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "logferry")
        MallocTuning.limitArenas()

        let cfg: NodeConfig
        let quickstart = config == nil
        do {
            if let path = config {
                cfg = try ConfigLoader.load(path: path)
            } else {
                try? makeDirectories(Quickstart.dataDir + "/inbox")
                cfg = try ConfigLoader.load(yaml: Quickstart.yaml(), file: "<quickstart>")
            }
        } catch {
            throw UserError(description: "config has \(error.problems.count) problem(s):\n" + error.description)
        }
        let runtime: NodeRuntime
        do {
            runtime = try await NodeRuntime.build(
                cfg, logger: logger, drainTimeout: .milliseconds(Int64(drainTimeout * 1000)))
        } catch let e as ConfigErrors {
            throw UserError(description: e.description)
        } catch let e as UserError {
            throw e
        } catch {
            throw RuntimeFailure(description: "cannot start: \(error)")
        }
        logger.info(
            "logferry \(LogferryVersion.number) starting",
            metadata: ["node": "\(cfg.node.name)", "identity": "\(runtime.identity)"])
        for line in describe(cfg).split(separator: "\n") { logger.info("\(line)") }
        if quickstart { Quickstart.printBanner(cfg) }

        var groupConfig = ServiceGroupConfiguration(
            services: runtime.services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        // Destinations drain what the journal holds on a graceful stop, but an unreachable receiver must not hold
        // the process forever: after the drain timeout everything is cancelled (undelivered records stay journaled).
        groupConfig.maximumGracefulShutdownDuration = .milliseconds(Int64(drainTimeout * 1000))
        groupConfig.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfig)
        let config = self.config
        let tokenStores = runtime.tokenStores
        let reloadTask = Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                guard let config else {
                    logger.notice("SIGHUP: the quickstart has no config file to re-read")
                    continue
                }
                do {
                    reloadListenerTokens(try ConfigLoader.load(path: config), into: tokenStores, logger: logger)
                } catch {
                    logger.error("SIGHUP: \(config) has problems, keeping the running config:\n\(error)")
                }
            }
        }
        defer { reloadTask.cancel() }
        do {
            try await group.run()
        } catch {
            await runtime.journal.close()
            throw RuntimeFailure(description: "\(error)")
        }
        await runtime.journal.close()
        logger.info("logferry stopped")
    }
}

/// The all-in-one quickstart of SPEC.md §1, the same text as conf.d/quickstart.yaml with absolute paths.
enum Quickstart {
    static var dataDir: String {
        var buf = [CChar](repeating: 0, count: 4096)
        let cwd = getcwd(&buf, buf.count).map { String(cString: $0) } ?? "."
        return cwd + "/logferry-data"
    }

    static func yaml() -> String {
        let dir = dataDir
        return """
            node:
              data_dir: \(dir)
            journal:
              fsync: interval
              fsync_interval: 10ms
            sources:
              local:
                type: unix-dgram
                path: \(dir)/log.sock
                mode: "0666"
              inbox:
                type: file
                include: ["\(dir)/inbox/*.log"]
              receiver:
                type: websocket
                listen: 127.0.0.1:7000
            destinations:
              files:
                type: file
                path: \(dir)/central/${HOST}/${PROGRAM}.log
            """
    }

    static func printBanner(_ cfg: NodeConfig) {
        let dir = cfg.node.dataDir
        print(
            """

            logferry quickstart is running (Ctrl-C stops it). Everything lives in \(dir)

              send a line:     logger -u \(dir)/log.sock -t hello "my first line"
              tail a file:     echo "a line" >> \(dir)/inbox/app.log
              from Python:     logging.handlers.SysLogHandler(address="\(dir)/log.sock")
              from an edge:    a websocket destination with url ws://127.0.0.1:7000/v1/ingest
              documents land:  \(dir)/central/<host>/<program>.log   (e.g. cat \(dir)/central/*/hello.log)

            """)
        fflush(nil)
    }
}

/// SIGHUP: the listeners' tokens (`tokens` and `tokens_file` of websocket and http sources) take effect at once,
/// for connections and requests that start afterwards; other changes are reported as needing a restart.
func reloadListenerTokens(_ cfg: NodeConfig, into stores: [String: TokenStore], logger: Logger) {
    var reloaded: [String] = []
    for s in cfg.sources {
        let tokens: [String]
        switch s.kind {
        case .websocket(let r): tokens = r.tokens
        case .http(let h): tokens = h.tokens
        default: continue
        }
        guard let store = stores[s.name] else { continue }
        store.replace(tokens)
        reloaded.append("\(s.name) (\(tokens.count) token(s))")
    }
    logger.notice(
        "SIGHUP: config is valid; tokens reloaded; other changes apply on restart",
        metadata: ["reloaded": "\(reloaded.joined(separator: ", "))"])
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 per core), and every arena keeps what was
/// freed in it: with NIO's event loops, the cooperative pool and the I/O threads a forwarding node held ~8 MiB more
/// than it used (bench `forward`: central peak RSS 57.5 → 49.6 MiB with one arena per core, same throughput).
/// `MALLOC_ARENA_MAX` in the environment wins. `mallopt` is looked up with dlsym because Glibc's Swift module
/// map does not export it (no listed package does either).
enum MallocTuning {
    static func limitArenas() {
        guard getenv("MALLOC_ARENA_MAX") == nil, let sym = dlsym(nil, "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
        let cores = Int32(clamping: max(2, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        _ = unsafeBitCast(sym, to: Mallopt.self)(mArenaMax, cores)
    }
}
