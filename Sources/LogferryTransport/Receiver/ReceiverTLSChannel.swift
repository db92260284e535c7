import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// Wraps the receiver's HTTP/websocket child channel in TLS, like HummingbirdTLS's `TLSChannel`, and reports every
/// connection whose TLS handshake fails (no client certificate, one the client CA did not sign, a client that
/// does not trust our certificate, plain HTTP on the TLS port), so the receiver can log who was refused.
struct ReceiverTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let context: NIOSSLContext
    /// Called on the event loop with the peer's address and the error.
    let onHandshakeFailure: @Sendable (String, any Error) -> Void

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            try channel.pipeline.syncOperations.addHandler(
                TLSHandshakeObserver(
                    remote: channel.remoteAddress?.description ?? "unknown", report: onHandshakeFailure))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Sits right after the TLS handler; reports the first TLS error seen before any application data (that is,
/// before the handshake completed), then stays out of the way (every event is passed on).
final class TLSHandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let remote: String
    private let report: @Sendable (String, any Error) -> Void
    private var done = false

    init(remote: String, report: @escaping @Sendable (String, any Error) -> Void) {
        self.remote = remote
        self.report = report
    }

    /// Application data comes only after a completed handshake: later TLS errors are not refusals.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        done = true
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done, TransportTLS.isTLSError(error) {
            done = true
            report(remote, error)
        }
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension TLSHandshakeObserver: Sendable {}
