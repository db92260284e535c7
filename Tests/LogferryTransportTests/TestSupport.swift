import LogferryCore
import LogferryTesting
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing
import WSClient

@testable import LogferryTransport

#if canImport(Glibc)
    import Glibc
#endif

/// Quiet by default; `LOGFERRY_TEST_LOG=debug swift test` shows the components' logs.
func testLogger(_ label: String) -> Logger {
    if let raw = getenv("LOGFERRY_TEST_LOG"), let level = Logger.Level(rawValue: String(cString: raw)) {
        var l = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
        l.logLevel = level
        return l
    }
    return Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` until it holds or the deadline passes (then records an issue and throws).
func waitUntil(
    _ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting for \(what)")
    throw TimedOut(what: what)
}

/// The journal payload of a locally received event (no explicit origin).
func localEvent(_ n: Int) -> [UInt8] {
    SpooledEvent(origin: nil, document: Array(#"{"message":"event \#(n)","n":\#(n),"host":"web-01"}"#.utf8)).encoded()
}

/// Appends `count` local events to `spool`, in chunks.
func fill(_ spool: InMemorySpool, count: Int) async throws {
    var n = 1
    while n <= count {
        let chunk = (n...min(count, n + 499)).map(localEvent)
        _ = try await spool.append(chunk)
        n += chunk.count
    }
}

/// Every record of `spool` decoded (keep a cursor at 0 on it so nothing is removed).
func storedEvents(_ spool: InMemorySpool) async throws -> [SpooledEvent] {
    try await spool.read(after: 0, maxRecords: .max, maxBytes: .max).map { try SpooledEvent.decode($0.payload) }
}

/// A service running in its own task, cancelled on `stop()`.
final class Running: Sendable {
    private let task: Task<Void, Never>

    init(_ service: any Service) {
        task = Task { try? await service.run() }
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

func makeReceiver(
    spool: any Spool, node: NodeIdentity = .random(), port: Int = 0, tokens: [String] = [],
    maxMessageBytes: Int = 4 << 20, maxBatchEvents: Int = 10_000, helloTimeout: Duration = .seconds(10)
) -> WebSocketReceiver {
    WebSocketReceiver(
        configuration: ReceiverConfiguration(
            port: port, tokens: tokens, maxMessageBytes: maxMessageBytes, maxBatchEvents: maxBatchEvents,
            sourceName: "central", checkpointInterval: .milliseconds(50), helloTimeout: helloTimeout),
        spool: spool, node: node, logger: testLogger("receiver"))
}

func makeSender(
    spool: any Spool, node: NodeIdentity, port: Int, token: String? = nil, maxBatchEvents: Int = 1000, window: Int = 8,
    compression: Bool = false
) -> WebSocketSender {
    WebSocketSender(
        configuration: SenderConfiguration(
            url: "ws://127.0.0.1:\(port)\(ProtocolV1.path)", token: token, destinationName: "central",
            maxBatchEvents: maxBatchEvents, batchLinger: .milliseconds(5), window: window,
            backoffInitial: .milliseconds(20), backoffMax: .milliseconds(200), compression: compression),
        spool: spool, node: node, nodeName: "edge", logger: testLogger("sender"))
}

/// A hand-driven client, to send what a real sender never would.
func rawConnect(
    port: Int, token: String? = nil, path: String = ProtocolV1.path,
    _ body:
        @escaping @Sendable (inout WebSocketInboundStream.AsyncIterator, WebSocketOutboundWriter) async throws -> Void
) async throws -> WebSocketCloseFrame? {
    try await WebSocketClient.connect(
        url: "ws://127.0.0.1:\(port)\(path)",
        configuration: WebSocketClientConfiguration(
            maxFrameSize: 8 << 20,
            additionalHeaders: token.map {
                [.authorization: "Bearer \($0)", .secWebSocketProtocol: ProtocolV1.subprotocol]
            }
                ?? [.secWebSocketProtocol: ProtocolV1.subprotocol]),
        logger: testLogger("raw-client")
    ) { inbound, outbound, _ in
        var iterator = inbound.makeAsyncIterator()
        try await body(&iterator, outbound)
    }
}

/// The next protocol message, nil when the connection closed.
func nextMessage(_ iterator: inout WebSocketInboundStream.AsyncIterator) async throws -> WireMessage? {
    guard let m = try await iterator.nextMessage(maxSize: 8 << 20) else { return nil }
    guard case .text(let s) = m else { return nil }
    return try WireCodec.decode(s)
}

/// Sends raw bytes over TCP and returns everything the server answers until it closes (for status lines).
func rawHTTP(port: Int, _ request: String) async throws -> String {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { ch in
            ch.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch)
            }
        }
    return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(string: request))
        var text = ""
        for try await buffer in inbound {
            text += String(buffer: buffer)
            if text.contains("\r\n\r\n"), text.contains("Connection: close") || text.contains("connection: close") {
                break
            }
        }
        return text
    }
}

func upgradeRequest(token: String?, path: String = ProtocolV1.path) -> String {
    var r = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    r += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    r += "Sec-WebSocket-Protocol: \(ProtocolV1.subprotocol)\r\n"
    if let token { r += "Authorization: Bearer \(token)\r\n" }
    return r + "\r\n"
}

/// A value the tests' client closures fill in.
final class Box<T: Sendable>: Sendable {
    private let value: Mutex<T>
    init(_ v: T) { value = Mutex(v) }
    var get: T { value.withLock { $0 } }
    func set(_ v: T) { value.withLock { $0 = v } }
    func update(_ body: (inout T) -> Void) { value.withLock { body(&$0) } }
}
