import NIOCore

/// Answers a refused websocket upgrade with a real status (401, 404, 400) instead of the framework's generic 400,
/// then closes the connection.
///
/// Added at the front of the pipeline from the upgrade decision, it writes the raw response straight to the
/// socket and swallows whatever the HTTP layer writes after it (the generic 400 for a declined upgrade).
final class UpgradeRefusalHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let response: ByteBuffer

    init(status: Int, reason: String, extraHeaders: [(String, String)] = []) {
        var text = "HTTP/1.1 \(status) \(reason)\r\nContent-Length: 0\r\nConnection: close\r\n"
        for (name, value) in extraHeaders { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        response = ByteBuffer(string: text)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(response)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.ioOnClosedChannel)
    }

    /// Installs the handler; call on the channel's event loop (the upgrade decision runs there).
    static func refuse(_ channel: any Channel, status: Int, reason: String, extraHeaders: [(String, String)] = []) {
        let handler = UpgradeRefusalHandler(status: status, reason: reason, extraHeaders: extraHeaders)
        do {
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        } catch {
            channel.close(promise: nil)
        }
    }
}
