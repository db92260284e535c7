import Glibc
import LogferryCore
import LogferryFormat
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Configuration of a `unix-stream` source (`type: unix-stream`): a stream socket that supervisor (through socat),
/// `logger -T` and rsyslog's omuxsock write to.
public struct UnixStreamConfiguration: Sendable, Equatable {
    /// How a connection's byte stream is cut into messages.
    public enum FramingMode: String, Sendable, Equatable, CaseIterable {
        /// Decided per connection from its first byte: a digit 1-9 means RFC 6587 octet counting, anything else
        /// newline framing.
        case auto
        /// One message per line.
        case lines
        /// RFC 6587 `LENGTH SP MESSAGE`; a frame not starting with a digit is still read as a line.
        case octetCounted = "octet-counted"
    }

    /// The configured source name.
    public var name: String
    /// Filesystem path of the socket. A stale socket there is replaced; any other kind of file is refused.
    public var path: String
    /// Permission bits of the socket file (`mode: "0660"`); writers need write permission.
    public var mode: mode_t
    /// Longer messages are kept cut to this size and flagged as truncated; the rest of the message is skipped.
    public var maxMessageBytes: Int
    /// Connections open at once; a connection beyond this is closed at once and counted in `refused`.
    public var maxConnections: Int
    /// `framing: auto | lines | octet-counted`.
    public var framing: FramingMode

    public init(
        name: String, path: String, mode: mode_t = 0o666, maxMessageBytes: Int = 64 * 1024,
        maxConnections: Int = 256, framing: FramingMode = .auto
    ) {
        self.name = name
        self.path = path
        self.mode = mode
        self.maxMessageBytes = maxMessageBytes
        self.maxConnections = maxConnections
        self.framing = framing
    }
}

/// Counters of a stream source, read by metrics and tests.
public final class StreamSourceCounters: Sendable {
    /// Connections accepted and served.
    public let connections = Atomic<Int>(0)
    /// Connections open right now.
    public let active = Atomic<Int>(0)
    /// Connections closed at once because `maxConnections` were open.
    public let refused = Atomic<Int>(0)
    /// Connections that ended with an error (reset by the peer, ...); what they sent before is kept.
    public let connectionErrors = Atomic<Int>(0)
    public let received = Atomic<Int>(0)
    /// Messages cut to `maxMessageBytes`.
    public let truncated = Atomic<Int>(0)
    /// Frames with broken framing (a bad octet count, a stream ending inside a frame), delivered as they are.
    public let framingErrors = Atomic<Int>(0)
    public init() {}
}

/// Receives messages on a unix stream socket, one task per connection.
///
/// Pushback: each connection is read through an `NIOAsyncChannel` whose inbound stream has a small high
/// watermark, and the next chunk is asked for only after the previous chunk's messages were delivered. While the
/// journal is full `deliver` waits, so NIO stops reading that connection, the kernel's socket buffer fills and
/// the writer blocks: memory stays bounded by (watermark × read size) per connection instead of growing.
public struct UnixStreamSource: Source {
    public let config: UnixStreamConfiguration
    public let counters: StreamSourceCounters
    private let group: any EventLoopGroup
    private let logger: Logger

    public var name: String { config.name }

    public init(
        config: UnixStreamConfiguration, counters: StreamSourceCounters = .init(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.config = config
        self.counters = counters
        self.group = group
        self.logger = logger
    }

    /// Chunks buffered per connection before NIO stops reading it (each up to the read allocator's 64 KiB).
    static let backPressure = NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(
        lowWatermark: 1, highWatermark: 2)

    public func run(deliver: @escaping Deliver) async throws {
        try UnixSocketFile.prepareForBind(config.path)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .bind(unixDomainSocketPath: config.path) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, Never>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: Self.backPressure))
                }
            }
        defer { unlink(config.path) }
        do { try UnixSocketFile.applyMode(config.path, config.mode) } catch {
            try? await server.channel.close()
            throw error
        }
        logger.info("unix-stream source listening", metadata: ["source": "\(name)", "path": "\(config.path)"])
        let counters = self.counters
        let config = self.config
        let logger = self.logger
        try await withThrowingDiscardingTaskGroup { tasks in
            try await server.executeThenClose { accepted in
                for try await connection in accepted {
                    if counters.active.load(ordering: .relaxed) >= config.maxConnections {
                        counters.refused.add(1, ordering: .relaxed)
                        connection.channel.close(promise: nil)
                        continue
                    }
                    counters.active.add(1, ordering: .relaxed)
                    counters.connections.add(1, ordering: .relaxed)
                    tasks.addTask {
                        defer { counters.active.subtract(1, ordering: .relaxed) }
                        do {
                            try await Self.serve(
                                connection, config: config, counters: counters, logger: logger, deliver: deliver)
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
    static func serve(
        _ connection: NIOAsyncChannel<ByteBuffer, Never>, config: UnixStreamConfiguration,
        counters: StreamSourceCounters, logger: Logger, deliver: @escaping Deliver
    ) async throws {
        var reader = StreamFrameReader(framing: config.framing, maxMessageBytes: config.maxMessageBytes)
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
            // Reset by the peer and the like: keep what arrived, including a partial last message.
            counters.connectionErrors.add(1, ordering: .relaxed)
            logger.debug(
                "unix-stream connection ended with an error",
                metadata: ["source": "\(config.name)", "error": "\(error)"])
        }
        do { try await hand(reader.finish(counters: counters)) } catch let failed as DeliverFailed {
            throw failed.cause
        }
    }
}

/// Framing of one connection: decides the framing from the first byte (for `auto`), splits, and turns frames into
/// messages, flagging cut ones.
struct StreamFrameReader {
    private let mode: UnixStreamConfiguration.FramingMode
    private let maxMessageBytes: Int
    private var splitter: FrameSplitter?

    init(framing: UnixStreamConfiguration.FramingMode, maxMessageBytes: Int) {
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
