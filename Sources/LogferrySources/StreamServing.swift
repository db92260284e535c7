import LogferryCore
import LogferryFormat
import LogferryTLS
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// How a stream connection's bytes are cut into messages (`framing:` of the unix-stream and tcp sources).
public enum StreamFramingMode: String, Sendable, Equatable, CaseIterable {
    /// Decided per connection from its first byte: a digit 1-9 means RFC 6587 octet counting, anything else
    /// newline framing.
    case auto
    /// One message per line.
    case lines
    /// RFC 6587 `LENGTH SP MESSAGE`; a frame not starting with a digit is still read as a line.
    case octetCounted = "octet-counted"
}

/// Counters of a stream source (unix-stream, tcp), read by metrics and tests.
public final class StreamSourceCounters: Sendable {
    /// Connections accepted and served.
    public let connections = Atomic<Int>(0)
    /// Connections open right now.
    public let active = Atomic<Int>(0)
    /// Connections closed at once because `maxConnections` were open.
    public let refused = Atomic<Int>(0)
    /// Connections that ended with an error (reset by the peer, ...); what they sent before is kept.
    public let connectionErrors = Atomic<Int>(0)
    /// Connections closed because they sent nothing for `idleTimeout` (time the source spent waiting for the
    /// journal does not count).
    public let idleClosed = Atomic<Int>(0)
    /// TLS connections whose handshake failed (no or an untrusted client certificate, a plain-text client, ...);
    /// counted here and not in `connectionErrors`.
    public let tlsFailures = Atomic<Int>(0)
    public let received = Atomic<Int>(0)
    /// Messages cut to `maxMessageBytes`.
    public let truncated = Atomic<Int>(0)
    /// Frames with broken framing (a bad octet count, a stream ending inside a frame), delivered as they are.
    public let framingErrors = Atomic<Int>(0)
    public init() {}
}

/// What the shared connection serving needs from a stream source's configuration.
struct StreamServingSettings: Sendable {
    /// The source name, for logs.
    var sourceName: String
    /// `unix-stream` or `tcp`, for logs.
    var kind: String
    var framing: StreamFramingMode
    var maxMessageBytes: Int
    var maxConnections: Int
    var idleTimeout: Duration?
}

/// Connection serving shared by the stream sources (unix-stream, tcp, tcp+TLS): the per-connection pipeline, the
/// accept loop with its connection limit, and reading one connection with pushback.
///
/// Pushback: each connection is read through an `NIOAsyncChannel` whose inbound stream has a small high
/// watermark, and the next chunk is asked for only after the previous chunk's messages were delivered. While the
/// journal is full `deliver` waits, so NIO stops reading that connection, the kernel's socket buffer fills and
/// the writer blocks: memory stays bounded by (watermark × read size) per connection instead of growing.
enum StreamServer {
    typealias Connection = NIOAsyncChannel<ByteBuffer, Never>
    typealias Listener = NIOAsyncChannel<Connection, Never>

    /// Chunks buffered per connection before NIO stops reading it (each up to the read allocator's 64 KiB).
    static let backPressure = NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(
        lowWatermark: 1, highWatermark: 2)

    /// The child channel initializer: idle timeout (next to the socket, so it sees TLS bytes too), TLS when
    /// configured, then the async wrapper. Runs on the channel's event loop.
    static func makeConnection(
        _ channel: any Channel, settings: StreamServingSettings, counters: StreamSourceCounters, tls: NIOSSLContext?
    ) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            if let idle = settings.idleTimeout {
                try pipeline.addHandler(
                    IdleConnectionCloser(timeout: TimeAmount(idle)) {
                        counters.idleClosed.add(1, ordering: .relaxed)
                    })
            }
            if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
            return try Connection(
                wrappingChannelSynchronously: channel, configuration: .init(backPressureStrategy: backPressure))
        }
    }

    /// Serves every accepted connection in its own task until the listener closes or `deliver` fails. A
    /// connection beyond `maxConnections` is closed at once and counted.
    static func serve(
        _ server: Listener, settings: StreamServingSettings, counters: StreamSourceCounters, logger: Logger,
        deliver: @escaping Deliver
    ) async throws {
        try await withThrowingDiscardingTaskGroup { tasks in
            try await server.executeThenClose { accepted in
                for try await connection in accepted {
                    if counters.active.load(ordering: .relaxed) >= settings.maxConnections {
                        counters.refused.add(1, ordering: .relaxed)
                        connection.channel.close(promise: nil)
                        continue
                    }
                    counters.active.add(1, ordering: .relaxed)
                    counters.connections.add(1, ordering: .relaxed)
                    // Only a served connection can be closed as idle: one waiting here behind a flood is not.
                    if settings.idleTimeout != nil {
                        connection.channel.pipeline.fireUserInboundEventTriggered(IdleConnectionCloser.Admitted())
                    }
                    tasks.addTask {
                        defer { counters.active.subtract(1, ordering: .relaxed) }
                        do {
                            try await readConnection(
                                connection, settings: settings, counters: counters, logger: logger, deliver: deliver)
                        } catch {
                            // The group's cancellation does not reach this accept loop: closing the server
                            // channel ends it, so the failure of `deliver` ends `run`.
                            server.channel.close(promise: nil)
                            throw error
                        }
                    }
                }
            }
            // The listener is gone (cancelled, or closed after a failure): the connections end with it.
            tasks.cancelAll()
        }
    }

    /// A failure of `deliver`: it ends the source (the journal is broken or the task is cancelled), unlike a
    /// failure of one connection, which ends only that connection.
    private struct DeliverFailed: Error { let cause: any Error }

    /// Reads one connection to its end. Only a failing `deliver` is thrown; connection errors are counted.
    static func readConnection(
        _ connection: Connection, settings: StreamServingSettings, counters: StreamSourceCounters, logger: Logger,
        deliver: @escaping Deliver
    ) async throws {
        var reader = StreamFrameReader(framing: settings.framing, maxMessageBytes: settings.maxMessageBytes)
        func hand(_ batch: [RawMessage]) async throws {
            guard !batch.isEmpty else { return }
            counters.received.add(batch.count, ordering: .relaxed)
            do { _ = try await deliver(batch) } catch { throw DeliverFailed(cause: error) }
        }
        do {
            try await connection.executeThenClose { inbound in
                for try await chunk in inbound {
                    // One batch per chunk read: all complete frames in it.
                    try await hand(reader.feed(chunk.readableBytesView, counters: counters))
                }
            }
        } catch let failed as DeliverFailed {
            throw failed.cause
        } catch {
            // Reset by the peer, a failed TLS handshake and the like: keep what arrived, including a partial
            // last message.
            if TLSFiles.isTLSError(error) {
                counters.tlsFailures.add(1, ordering: .relaxed)
            } else {
                counters.connectionErrors.add(1, ordering: .relaxed)
            }
            logger.debug(
                "\(settings.kind) connection ended with an error",
                metadata: ["source": "\(settings.sourceName)", "error": "\(error)"])
        }
        do { try await hand(reader.finish(counters: counters)) } catch let failed as DeliverFailed {
            throw failed.cause
        }
    }
}

/// Closes a connection that sends nothing for `timeout` while the source is ready to read it.
///
/// The clock runs only while a read is requested and no bytes have come since: while `deliver` waits (pushback),
/// the async wrapper holds back NIO's `read`, so a writer blocked by a full journal is never taken for idle. Sits
/// next to the socket, so with TLS a stalled handshake counts as idle too.
final class IdleConnectionCloser: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent by the accept loop once the connection is served; until then no idle timer runs.
    struct Admitted: Sendable {}

    private let timeout: TimeAmount
    private let onIdle: @Sendable () -> Void
    private var timer: Scheduled<Void>?
    private var admitted = false
    /// A read was asked for before admission: the timer starts at admission.
    private var readPending = false

    init(timeout: TimeAmount, onIdle: @escaping @Sendable () -> Void) {
        self.timeout = timeout
        self.onIdle = onIdle
    }

    func read(context: ChannelHandlerContext) {
        if admitted { arm(context) } else { readPending = true }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Admitted else { return context.fireUserInboundEventTriggered(event) }
        admitted = true
        if readPending { arm(context) }
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            timer = nil
            onIdle()
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readPending = false
        stopTimer()
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { stopTimer() }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }
}

/// Framing of one connection: decides the framing from the first byte (for `auto`), splits, and turns frames into
/// messages, flagging cut ones.
struct StreamFrameReader {
    private let mode: StreamFramingMode
    private let maxMessageBytes: Int
    private var splitter: FrameSplitter?

    init(framing: StreamFramingMode, maxMessageBytes: Int) {
        self.mode = framing
        self.maxMessageBytes = max(1, maxMessageBytes)
    }

    mutating func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes, counters: StreamSourceCounters) -> [RawMessage] {
        guard let first = bytes.first else { return [] }
        if splitter == nil {
            let framing: Framing
            switch mode {
            case .lines: framing = .lines
            case .octetCounted: framing = .octetCounted
            case .auto: framing = (0x31...0x39).contains(first) ? .octetCounted : .lines
            }
            // One byte over the limit: a frame that long was longer than the limit, so it is flagged exactly
            // (FrameSplitter only counts cut frames, it does not mark which).
            splitter = FrameSplitter(framing: framing, maxFrameBytes: maxMessageBytes + 1)
        }
        return messages(splitter!.feed(bytes), counters: counters)
    }

    mutating func finish(counters: StreamSourceCounters) -> [RawMessage] {
        guard splitter != nil else { return [] }
        return messages(splitter!.finish(), counters: counters)
    }

    private func messages(_ frames: [Frame], counters: StreamSourceCounters) -> [RawMessage] {
        guard !frames.isEmpty else { return [] }
        let now = Timestamp.now()
        return frames.map { frame in
            if frame.error != nil { counters.framingErrors.add(1, ordering: .relaxed) }
            guard frame.bytes.count > maxMessageBytes else { return RawMessage(bytes: frame.bytes, receivedAt: now) }
            counters.truncated.add(1, ordering: .relaxed)
            return RawMessage(bytes: Array(frame.bytes.prefix(maxMessageBytes)), receivedAt: now, truncated: true)
        }
    }
}
