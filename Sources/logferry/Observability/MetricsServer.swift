import Hummingbird
import LogferryCore
import Logging
import NIOCore
import ServiceLifecycle

/// `node.metrics_listen`: Prometheus `GET /metrics` and `GET /health` on one HTTP listener.
///
/// `/health` answers 200 with a small JSON status while the node can take input, and 503 with the reason while it
/// cannot (the journal is at 95% of `max_bytes` or appends wait for room: sources are held back or their input
/// is dropped).
struct MetricsServer: Service, CustomStringConvertible {
    let listen: HostPort
    let registry: MetricsRegistry
    let health: @Sendable () async -> NodeHealth
    let logger: Logger
    var description: String { "metrics:\(listen)" }

    func run() async throws {
        let router = Router()
        let registry = self.registry
        let health = self.health
        router.get("/metrics") { _, _ -> Response in
            let text = await registry.render()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/health") { _, _ -> Response in
            let h = await health()
            return Response(
                status: h.ok ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: h.json())))
        }
        let logger = self.logger
        let listen = self.listen
        let app = Application(
            router: router, configuration: .init(address: .hostname(listen.host, port: listen.port)),
            onServerRunning: { channel in
                logger.info(
                    "metrics listening",
                    metadata: ["address": "\(channel.localAddress?.description ?? listen.description)"])
            }, logger: logger)
        try await app.run()
    }
}

/// What `/health` reports.
struct NodeHealth: Sendable {
    var ok: Bool
    var reasons: [String]
    var journalBytes: Int
    var journalMaxBytes: Int
    /// Per websocket destination: connected and cursor lag in records.
    var destinations: [(name: String, connected: Bool, lag: UInt64)]

    func json() -> [UInt8] {
        var dests = JSONObject()
        for d in destinations {
            dests[d.name] = .object(["connected": .bool(d.connected), "lag_records": .int(Int64(d.lag))])
        }
        let doc: JSONObject = [
            "status": .string(ok ? "ok" : "unavailable"),
            "reasons": .array(reasons.map { .string($0) }),
            "journal": .object([
                "bytes": .int(Int64(journalBytes)), "max_bytes": .int(Int64(journalMaxBytes)),
            ]),
            "destinations": .object(dests),
        ]
        return JSONWriter.render(.object(doc))
    }
}
