import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import LogferryCore
import LogferryTLS
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// Counters of an `http` source, read by metrics and tests.
public final class HTTPIngestCounters: Sendable {
    /// Requests to the events path, whatever became of them.
    public let requests = Atomic<Int>(0)
    /// Requests answered 200 (their events are durable in the journal).
    public let accepted = Atomic<Int>(0)
    /// Events journaled and acknowledged to their client.
    public let events = Atomic<Int>(0)
    /// Requests being handled right now.
    public let active = Atomic<Int>(0)
    /// 401: no key, or a key that is not configured.
    public let rejectedUnauthorized = Atomic<Int>(0)
    /// 400: a body that is not JSON/NDJSON, or an element or line that is not an object.
    public let rejectedMalformed = Atomic<Int>(0)
    /// 413: a body over `max_body_bytes` or an event over `max_message_bytes`.
    public let rejectedTooLarge = Atomic<Int>(0)
    /// 415: a content type that is not JSON or NDJSON.
    public let rejectedMediaType = Atomic<Int>(0)
    /// 405: another method than POST on the events path.
    public let rejectedMethod = Atomic<Int>(0)
    /// 503: `max_connections` requests were already being handled.
    public let rejectedBusy = Atomic<Int>(0)
    /// 503: the journal was full and dropped the batch (`when_full: drop-newest`); the client may retry.
    public let rejectedJournalFull = Atomic<Int>(0)
    /// 500/503: `deliver` or `durable()` failed (journal broken, or shutting down); the events may or may not be
    /// journaled, so a retrying client may store them twice.
    public let failed = Atomic<Int>(0)
    public init() {}
}

/// Receives JSON events over HTTP (`type: http`): `POST <path>` (default `/events`) with one JSON object, an
/// array of objects, or NDJSON (one object per line; by `Content-Type: application/x-ndjson`, or whenever the
/// body is not one JSON value). Each object becomes one `RawMessage` holding that object's JSON text as sent, so
/// the node parses it with `format: json` and its keys land under `fields`. Also serves `GET /health` (200 "ok",
/// no key needed).
///
/// Answers (bodies are JSON):
/// - `200 {"ids": ["<node hex>-<seq>", ...]}` once the whole request is durable in the journal, one document ID
///   per event in request order; never before `Delivery.durable()` returned.
/// - `400 {"error": ...}` malformed JSON (with its byte offset, and line for NDJSON) or an element/line that is
///   not an object; `401` missing or wrong key; `405` another method; `413` body over `max_body_bytes` or an event
///   over `max_message_bytes` (with `"index"`); `415` a content type other than JSON, NDJSON, `text/plain` or
///   curl's default `application/x-www-form-urlencoded`;
///   `503` busy (`max_connections`, with `Retry-After`) or journal full under `when_full: drop-newest`.
///   A rejected request journals nothing: requests are all or nothing.
///
/// Authentication: with `tokens`/`tokens_file` a request must carry `X-Log-Key: KEY` or
/// `Authorization: Bearer KEY`, compared in constant time by `TokenAuthenticator`; keys are never logged.
/// **With no key configured the source is open**: any client that reaches the port may send events.
///
/// Pushback: a request waits in `deliver` while the journal is full (`when_full: block`), and so does its
/// client; at most `max_connections` requests are handled at once (more get 503 without their body being read),
/// so memory stays bounded by `max_connections × max_body_bytes`.
public final class HTTPIngestSource: Source {
    public let config: HTTPIngestConfiguration
    /// The keys in force; `replace` swaps them while the source runs (SIGHUP).
    public let tokenStore = TokenStore(tokens: [])
    public let counters: HTTPIngestCounters
    private let node: NodeIdentity
    private let logger: Logger
    private let port = BoundPort()

    public var name: String { config.name }

    /// `node` is this node's identity: the returned IDs are `EventOrigin(node: node, seq: seq).documentID`.
    public init(
        config: HTTPIngestConfiguration, node: NodeIdentity, counters: HTTPIngestCounters = .init(), logger: Logger
    ) {
        self.config = config
        self.node = node
        self.counters = counters
        self.logger = logger
    }

    /// The port the server listens on, once it does (useful with port 0). Throws if `run` failed or ended first.
    public func boundPort() async throws -> Int { try await port.wait() }

    /// Serves until cancelled. Ends with an error when the configuration, the key file or the TLS files are
    /// unusable, or when `deliver` fails (the journal is broken): the request that saw it gets a 500 first.
    public func run(deliver: @escaping Deliver) async throws {
        do {
            let problems = config.problems()
            guard problems.isEmpty else {
                throw HTTPIngestError("source \(config.name): " + problems.joined(separator: "; "))
            }
            do { tokenStore.replace(try config.loadTokens()) } catch {
                throw HTTPIngestError("source \(config.name): tokens_file: \(error)")
            }
            let tls = try makeTLSConfiguration()
            let (failures, failure) = AsyncStream.makeStream(of: (any Error).self)
            let handler = HTTPIngestHandler(
                config: config, tokens: tokenStore, node: node, counters: counters,
                logger: logger, deliver: deliver, fatal: { failure.yield($0) })
            let app = try makeApplication(handler: handler, tls: tls)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.run() }
                group.addTask {
                    for await error in failures { throw error }
                }
                try await group.next()
                group.cancelAll()
            }
            logger.info("http source stopped", metadata: ["source": "\(config.name)"])
        } catch {
            port.resolve(.failure(error))
            throw error
        }
        port.resolve(.failure(CancellationError()))
    }

    private func makeTLSConfiguration() throws -> TLSConfiguration? {
        guard let certFile = config.tlsCertificateFile else { return nil }
        do {
            return try TLSFiles.serverConfiguration(
                certificateFile: certFile, keyFile: config.tlsKeyFile, clientCAFile: nil)
        } catch {
            throw HTTPIngestError("source \(config.name): \(error)")
        }
    }

    private func makeApplication(handler: HTTPIngestHandler, tls: TLSConfiguration?) throws
        -> some ApplicationProtocol
    {
        let router = Router()
        router.get("/health") { _, _ -> String in "ok" }
        let path = RouterPath(config.path)
        router.post(path) { request, _ in await handler.handle(request) }
        for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
            router.on(path, method: method) { _, _ in handler.methodNotAllowed() }
        }
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
        let config = self.config
        let logger = self.logger
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(config.host, port: config.port)),
            onServerRunning: { [weak self] channel in
                let p = channel.localAddress?.port ?? config.port
                logger.info(
                    "http source listening",
                    metadata: [
                        "source": "\(config.name)", "address": "\(config.host):\(p)", "path": "\(config.path)",
                        "tls": "\(config.usesTLS ? "on" : "off")",
                    ])
                self?.port.resolve(.success(p))
            },
            logger: logger
        )
    }
}

/// The `http` source could not start: what is wrong and how to fix it.
public struct HTTPIngestError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Handles one request on the events path; one value shared by every connection.
struct HTTPIngestHandler: Sendable {
    let config: HTTPIngestConfiguration
    let tokens: TokenStore
    let node: NodeIdentity
    let counters: HTTPIngestCounters
    let logger: Logger
    let deliver: Deliver
    /// Reports a failure of the journal; ends the source's `run`.
    let fatal: @Sendable (any Error) -> Void

    /// Media types read as `HTTPIngestBody.Framing.ndjson`.
    static let ndjsonTypes: Set<String> = [
        "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines",
        "application/jsonlines",
    ]

    func handle(_ request: Request) async -> Response {
        counters.requests.add(1, ordering: .relaxed)
        let inFlight = counters.active.wrappingAdd(1, ordering: .relaxed).newValue
        defer { counters.active.subtract(1, ordering: .relaxed) }
        guard inFlight <= config.maxConnections else {
            counters.rejectedBusy.add(1, ordering: .relaxed)
            return Self.error(
                .serviceUnavailable, "too many requests in progress (max_connections \(config.maxConnections))",
                headers: [.retryAfter: "1"])
        }

        let authenticator = tokens.current
        if !authenticator.isOpen {
            let key = request.headers.first { $0.name.canonicalName == "x-log-key" }?.value
            let bearer = request.headers[.authorization]
            // Both are checked (no short circuit), so the answer's timing does not tell which header matched.
            let byKey = authenticator.authorize(token: key)
            let byBearer = authenticator.authorize(authorizationHeader: bearer)
            guard byKey || byBearer else {
                counters.rejectedUnauthorized.add(1, ordering: .relaxed)
                let why = key == nil && bearer == nil ? "no key" : "wrong key"
                // Never the key itself.
                logger.debug("http request refused", metadata: ["source": "\(config.name)", "reason": "\(why)"])
                return Self.error(
                    .unauthorized,
                    why == "no key"
                        ? "missing key: send X-Log-Key: KEY or Authorization: Bearer KEY" : "wrong key",
                    headers: [.wwwAuthenticate: "Bearer"])
            }
        }

        let framing: HTTPIngestBody.Framing
        switch Self.mediaType(request.headers[.contentType]) {
        // `curl -d` sends application/x-www-form-urlencoded unless told otherwise; it is how most people try an
        // endpoint, and the body is checked as JSON anyway, so it is read like application/json.
        case nil, "application/json", "text/plain", "application/x-www-form-urlencoded": framing = .auto
        case let t? where Self.ndjsonTypes.contains(t): framing = .ndjson
        case let t? where t.hasPrefix("application/") && t.hasSuffix("+json"): framing = .auto
        case let t?:
            counters.rejectedMediaType.add(1, ordering: .relaxed)
            return Self.error(
                .unsupportedMediaType,
                "content type \(t.prefix(100)) is not accepted: send application/json or application/x-ndjson")
        }

        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > config.maxBodyBytes {
            return tooLarge(length)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: config.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            return tooLarge(nil)
        } catch {
            counters.rejectedMalformed.add(1, ordering: .relaxed)
            return Self.error(.badRequest, "the request body could not be read: \(error)")
        }
        let bytes = Array(buffer: body)

        let ranges: [Range<Int>]
        switch HTTPIngestBody.split(bytes, framing: framing, maxEventBytes: config.maxMessageBytes) {
        case .success(let r): ranges = r
        case .failure(let rejection):
            if case .eventTooLarge = rejection {
                counters.rejectedTooLarge.add(1, ordering: .relaxed)
                return Self.error(.contentTooLarge, rejection.description, index: rejection.index)
            }
            counters.rejectedMalformed.add(1, ordering: .relaxed)
            return Self.error(.badRequest, rejection.description, index: rejection.index)
        }
        if ranges.isEmpty {
            counters.accepted.add(1, ordering: .relaxed)
            return Self.ids([])
        }

        let now = Timestamp.now()
        let batch = ranges.map { RawMessage(bytes: Array(bytes[$0]), receivedAt: now) }
        do {
            let delivery = try await deliver(batch)
            guard let sequences = delivery.sequences else {
                counters.rejectedJournalFull.add(1, ordering: .relaxed)
                return Self.error(
                    .serviceUnavailable, "journal full: the events were dropped (when_full: drop-newest); retry later",
                    headers: [.retryAfter: "1"])
            }
            try await delivery.durable()
            guard sequences.count == batch.count else {
                // The journal broke its own contract; the IDs cannot be named, so the client must not get a 200.
                counters.failed.add(1, ordering: .relaxed)
                logger.error(
                    "journal returned \(sequences.count) sequences for \(batch.count) events",
                    metadata: ["source": "\(config.name)"])
                return Self.error(.internalServerError, "the journal could not name the stored events")
            }
            counters.accepted.add(1, ordering: .relaxed)
            counters.events.add(batch.count, ordering: .relaxed)
            return Self.ids(sequences.map { EventOrigin(node: node, seq: $0).documentID })
        } catch is CancellationError {
            counters.failed.add(1, ordering: .relaxed)
            return Self.error(.serviceUnavailable, "shutting down; retry later")
        } catch {
            counters.failed.add(1, ordering: .relaxed)
            logger.error(
                "http source: journal write failed", metadata: ["source": "\(config.name)", "error": "\(error)"])
            fatal(error)
            return Self.error(.internalServerError, "the journal did not take the events")
        }
    }

    func methodNotAllowed() -> Response {
        counters.rejectedMethod.add(1, ordering: .relaxed)
        return Self.error(.methodNotAllowed, "use POST to send events", headers: [.allow: "POST"])
    }

    private func tooLarge(_ length: Int?) -> Response {
        counters.rejectedTooLarge.add(1, ordering: .relaxed)
        let size = length.map { "\($0) bytes" } ?? "the body"
        return Self.error(
            .contentTooLarge, "\(size) is more than max_body_bytes (\(config.maxBodyBytes)): send smaller requests")
    }

    /// `type/subtype` of a Content-Type value, lowercased, parameters (`; charset=utf-8`) dropped.
    static func mediaType(_ value: String?) -> String? {
        guard let value else { return nil }
        let type = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let trimmed = type.trimming(" \t")
        return trimmed.isEmpty ? nil : trimmed.lowercased()
    }

    static func ids(_ ids: [String]) -> Response {
        json(.ok, .object(["ids": .array(ids.map { .string($0) })]))
    }

    static func error(
        _ status: HTTPResponse.Status, _ message: String, index: Int? = nil, headers: HTTPFields = [:]
    ) -> Response {
        var object: JSONObject = ["error": .string(message)]
        if let index { object["index"] = .int(Int64(index)) }
        return json(status, .object(object), headers: headers)
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        var bytes = JSONWriter.render(value)
        bytes.append(0x0A)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
