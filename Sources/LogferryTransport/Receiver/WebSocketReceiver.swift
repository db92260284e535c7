import Hummingbird
import HummingbirdCore
import HummingbirdWSCompression
import HummingbirdWebSocket
import LogferryCore
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The receiving end of the websocket link: accepts senders on `ReceiverConfiguration.path`, stores their events
/// in the journal exactly once per document ID, acknowledges each batch once it is durable. Also serves
/// `GET /health` (200 "ok") on the same port. With `tlsCertificateFile`/`tlsKeyFile` it listens with TLS (`wss`);
/// with `tlsClientCAFile` too, a client without a certificate signed by that CA fails the TLS handshake (counted in
/// `tlsHandshakesFailed` and logged with the peer's address).
///
/// Crash consistency of deduplication, using only the `Spool` contract: the dedup index is the `state` of the
/// `receiver-index` cursor, valid through that cursor's sequence. On start the index is loaded from it and every
/// record after it is folded in (their origins); while running it is committed every `checkpointInterval` at
/// the journal's last sequence (held below any append in flight). A journal removes records only after every
/// cursor passed them, so the records the checkpoint does not cover are always still there to fold.
///
/// ```swift
/// let receiver = WebSocketReceiver(configuration: .init(port: 7000, tokens: ["s3cret"]),
///                                  spool: journal, node: identity, logger: logger)
/// let group = ServiceGroup(services: [receiver], logger: logger)
/// ```
public final class WebSocketReceiver: Service, Sendable {
    /// The cursor whose state holds the dedup index.
    public static let indexCursorName = "receiver-index"

    public let configuration: ReceiverConfiguration
    private let spool: any Spool
    private let node: NodeIdentity
    private let logger: Logger
    private let counters = ReceiverCounters(ReceiverStatistics())
    /// The tokens in force; `replace` swaps them while the receiver runs (SIGHUP).
    public let tokenStore: TokenStore
    private let port = BoundPort()

    public init(configuration: ReceiverConfiguration, spool: any Spool, node: NodeIdentity, logger: Logger) {
        self.configuration = configuration
        self.spool = spool
        self.node = node
        self.logger = logger
        self.tokenStore = TokenStore(tokens: configuration.tokens)
    }

    /// Counters since start.
    public var statistics: ReceiverStatistics { counters.snapshot }

    /// The port the server listens on, once it does (useful with port 0). Throws if `run()` failed first.
    public func boundPort() async throws -> Int { try await port.wait() }

    public func run() async throws {
        do {
            let problems = configuration.problems()
            guard problems.isEmpty else { throw TLSSetupError(problems.joined(separator: "; ")) }
            let tls = try TransportTLS.serverConfiguration(for: configuration).map {
                try NIOSSLContext(configuration: $0)
            }
            let ledger = try await loadLedger()
            if tokenStore.current.isOpen && configuration.tlsClientCAFile == nil {
                logger.warning(
                    "websocket receiver has no tokens configured: any client may send events",
                    metadata: ["source": "\(configuration.sourceName)"])
            }
            let app = makeApplication(ledger: ledger, tls: tls)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.run() }
                group.addTask { await self.checkpointLoop(ledger) }
                try await group.next()
                group.cancelAll()
            }
            await checkpoint(ledger)
            logger.info("websocket receiver stopped", metadata: ["source": "\(configuration.sourceName)"])
        } catch {
            port.resolve(.failure(error))
            throw error
        }
        port.resolve(.failure(CancellationError()))
    }

    // MARK: Dedup index

    private func loadLedger() async throws -> IngestLedger {
        let cursor = try await spool.openCursor(Self.indexCursorName)
        var index: DedupIndex
        do {
            index = try DedupIndex(serialized: cursor.state)
        } catch {
            logger.error(
                "receiver index unreadable; rebuilt from the journal records after its cursor (events stored before may be stored again once)",
                metadata: ["error": "\(error)"])
            index = DedupIndex()
        }
        var after = cursor.seq
        var folded = 0
        while true {
            let records = try await spool.read(after: after, maxRecords: 4096, maxBytes: 8 << 20)
            guard let last = records.last else { break }
            for r in records {
                if let event = try? SpooledEvent.decode(r.payload), let origin = event.origin {
                    index.raise(origin.node, to: origin.seq)
                }
            }
            folded += records.count
            after = last.seq
        }
        logger.info(
            "receiver index loaded",
            metadata: [
                "source": "\(configuration.sourceName)", "through": "\(cursor.seq)", "folded_records": "\(folded)",
                "origins": "\(index.origins.count)", "streams": "\(index.streams.count)",
            ])
        return IngestLedger(localNode: node, index: index, checkpointThrough: cursor.seq)
    }

    private func checkpointLoop(_ ledger: IngestLedger) async {
        while true {
            do {
                try await Task.sleep(for: configuration.checkpointInterval)
            } catch {
                return
            }
            await checkpoint(ledger)
        }
    }

    private func checkpoint(_ ledger: IngestLedger) async {
        let last = await spool.lastSequence()
        guard let snap = await ledger.snapshot(lastSequence: last) else { return }
        do {
            try await spool.commit(cursor: Self.indexCursorName, through: snap.through, state: snap.state)
            await ledger.checkpointed(snap)
        } catch {
            logger.warning("receiver index checkpoint failed; will retry", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Server

    private func makeApplication(ledger: IngestLedger, tls: NIOSSLContext?) -> some ApplicationProtocol {
        let router = Router()
        router.get("/health") { _, _ -> String in "ok" }

        let ws = WebSocketServerConfiguration(
            maxFrameSize: configuration.maxMessageBytes,
            extensions: configuration.compression
                ? [.perMessageDeflate(maxDecompressedFrameSize: configuration.maxMessageBytes)] : [],
            autoPing: configuration.pingInterval.map { .enabled(timePeriod: $0) } ?? .disabled,
            validateUTF8: false
        )
        let configuration = self.configuration
        let tokenStore = self.tokenStore
        let counters = self.counters
        let logger = self.logger
        let spool = self.spool
        let shouldUpgrade:
            @Sendable (HTTPRequest, any Channel, Logger) throws -> ShouldUpgradeResult<
                WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>
            > = { request, channel, _ in
                let remote = channel.remoteAddress?.description ?? "unknown"
                func refuse(_ status: Int, _ reason: String, _ why: String, headers: [(String, String)] = [])
                    -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>>
                {
                    counters.update { $0.connectionsRefused += 1 }
                    // Never the token: only that it was wrong.
                    logger.info("websocket upgrade refused", metadata: ["remote": "\(remote)", "reason": "\(why)"])
                    UpgradeRefusalHandler.refuse(channel, status: status, reason: reason, extraHeaders: headers)
                    return .dontUpgrade
                }
                let path =
                    (request.path ?? "").split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
                    .first.map(String.init) ?? ""
                guard path == configuration.path else {
                    return refuse(404, "Not Found", "path \(path.prefix(100)) is not \(configuration.path)")
                }
                guard tokenStore.current.authorize(authorizationHeader: request.headerFields[.authorization]) else {
                    return refuse(
                        401, "Unauthorized", "missing or wrong bearer token",
                        headers: [("WWW-Authenticate", "Bearer")])
                }
                let offered = request.headerFields[values: .secWebSocketProtocol].flatMap {
                    $0.split(separator: ",").map { $0.trimmingSpaces }
                }
                guard offered.contains(ProtocolV1.subprotocol) else {
                    return refuse(400, "Bad Request", "subprotocol \(ProtocolV1.subprotocol) not offered")
                }
                counters.update { $0.connectionsAccepted += 1 }
                let connection = ReceiverConnection(
                    configuration: configuration, spool: spool, ledger: ledger, counters: counters, logger: logger,
                    remote: remote)
                return .upgrade([.secWebSocketProtocol: ProtocolV1.subprotocol]) { inbound, outbound, _ in
                    await connection.run(inbound: inbound, outbound: outbound)
                }
            }
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(ws: ws)
        let server: HTTPServerBuilder
        if let tls {
            server = HTTPServerBuilder { responder in
                ReceiverTLSChannel(
                    base: HTTP1WebSocketUpgradeChannel(
                        responder: responder, configuration: channelConfiguration, shouldUpgrade: shouldUpgrade),
                    context: tls,
                    onHandshakeFailure: { remote, error in
                        counters.update { $0.tlsHandshakesFailed += 1 }
                        logger.info(
                            "TLS handshake refused",
                            metadata: ["remote": "\(remote)", "error": "\(error)"])
                    })
            }
        } else {
            server = .http1WebSocketUpgrade(configuration: channelConfiguration, shouldUpgrade: shouldUpgrade)
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { [weak self] channel in
                let p = channel.localAddress?.port ?? configuration.port
                self?.logger.info(
                    "websocket receiver listening",
                    metadata: [
                        "source": "\(configuration.sourceName)", "address": "\(configuration.host):\(p)",
                        "path": "\(configuration.path)",
                        "tls":
                            "\(configuration.tlsClientCAFile != nil ? "mutual" : configuration.usesTLS ? "on" : "off")",
                    ])
                self?.port.resolve(.success(p))
            },
            logger: logger
        )
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
