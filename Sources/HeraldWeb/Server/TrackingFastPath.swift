import HeraldCore
import HeraldDelivery
import NIOCore

/// Answers the open pixel and the trap link first in the connection's pipeline, from the
/// bytes as they come, before the HTTP/1 decoder: a mass email's recipients open it in
/// bursts, and these answers need nothing but the token (see ``TrackingReply``), so they are
/// not worth a parser, a router and a task each.
///
/// It reads a connection's requests while every one is a plain tracking request
/// (``TrackingRequestHead``). At the first that is not, it hands that request's bytes and all
/// that follow to the decoder and leaves the pipeline: every answer it wrote is already on
/// its way, so pipelined answers stay in order, and the router answers what comes later,
/// tracking requests included, the same way.
final class TrackingFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let signer: MessageTokenSigner
    private let recorder: EngagementRecorder
    /// The start of a request whose head has not fully come.
    private var partial: ByteBuffer?
    private var needsFlush = false
    /// An answer ended the connection: what comes after is not read.
    private var closing = false
    /// A read was asked for while the client was not taking its answers.
    private var readHeld = false

    init(signer: MessageTokenSigner, recorder: EngagementRecorder) {
        self.signer = signer
        self.recorder = recorder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var bytes = unwrapInboundIn(data)
        if var earlier = partial {
            partial = nil
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        while bytes.readableBytes > 0 {
            switch bytes.withUnsafeReadableBytes({ TrackingRequestHead.parse($0) }) {
            case .incomplete:
                partial = bytes
                return
            case .other:
                return passOn(bytes, context: context)
            case .tracking(let request, let length):
                bytes.moveReaderIndex(forwardBy: length)
                answer(request, context: context)
                if closing { return }
            }
        }
    }

    private func answer(_ request: TrackingRequestHead, context: ChannelHandlerContext) {
        let now = WallClock.epochSeconds()
        let recorder = self.recorder
        // The head reader takes only the pixel's and the trap's paths, so there is always an answer.
        let reply = TrackingReply.answer(isHead: request.isHead, target: request.target, userAgent: request.userAgent,
                                         signer: signer, now: now, note: { recorder.note($0) }) ?? .notFound
        let connection: String? = !request.keepAlive ? "close" : request.isHTTP10 ? "keep-alive" : nil
        var buffer = context.channel.allocator.buffer(capacity: 256)
        reply.write(into: &buffer, isHead: request.isHead, date: HTTPDate.now(epochSeconds: now), connection: connection)
        if request.keepAlive {
            context.write(wrapOutboundOut(buffer), promise: nil)
            needsFlush = true
        } else {
            closing = true
            partial = nil
            let loopBound = context.loopBound
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }

    /// Gives `bytes` and the rest of the connection to the decoder, after the answers written so far.
    private func passOn(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        context.fireChannelRead(wrapInboundOut(bytes))
        if readHeld {
            readHeld = false
            context.read()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Answers to a burst of pipelined requests leave in one write.
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        guard needsFlush else { return }
        needsFlush = false
        context.flush()
    }

    /// A client that sends requests without reading the answers is not read from until it
    /// catches up, so that its answers cannot pile up in memory.
    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readHeld = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if readHeld, context.channel.isWritable {
            readHeld = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }
}
