import HeraldCore
import HeraldDelivery
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers the open pixel and the trap link in the connection's pipeline, right after the
/// HTTP/1 decoder, without the router, its middleware or a hop to a task: a mass email's
/// recipients open it in bursts, and this answer needs nothing but the token (see
/// ``TrackingReply``). Every other request passes on to Hummingbird untouched.
///
/// Pipelined requests are answered in order: while a request passed on is not fully
/// answered (its response's end has not come back through here), the requests after it wait
/// in this handler, and reading from the socket stops once many wait.
final class TrackingPixelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case idle
        /// A request for the router: its parts go on until its end.
        case passing
        /// A request answered here: its body (a GET has none worth reading) is dropped until its end.
        case answering(TrackingReply, close: Bool)
    }

    /// Parts held back until this many wait; then the socket is not read until they are taken.
    static let heldLimit = 256

    private let signer: MessageTokenSigner
    private let recorder: EngagementRecorder
    private var state = State.idle
    /// The router has a request whose response has not ended yet.
    private var routerAnswering = false
    /// Parts of requests that came after the one the router is answering.
    private var held = CircularBuffer<HTTPRequestPart>()
    private var readHeld = false
    private var needsFlush = false

    init(signer: MessageTokenSigner, recorder: EngagementRecorder) {
        self.signer = signer
        self.recorder = recorder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        held.append(unwrapInboundIn(data))
        release(context: context)
    }

    /// Takes the held parts in order, until a new request would have to wait for the router.
    /// True when any was taken.
    @discardableResult
    private func release(context: ChannelHandlerContext) -> Bool {
        var taken = false
        while !held.isEmpty {
            if case .idle = state, routerAnswering { break }
            take(held.removeFirst(), context: context)
            taken = true
        }
        return taken
    }

    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch state {
        case .passing:
            if case .end = part { state = .idle }
            context.fireChannelRead(wrapInboundOut(part))
        case .answering(let reply, let close):
            guard case .end = part else { return }
            state = .idle
            write(reply, close: close, context: context)
        case .idle:
            guard case .head(let request) = part else { return context.fireChannelRead(wrapInboundOut(part)) }
            let recorder = self.recorder
            if let reply = TrackingReply.answer(request, signer: signer, now: WallClock.epochSeconds(), note: { recorder.note($0) }) {
                state = .answering(reply, close: request.headerFields[.connection]?.lowercased() == "close")
            } else {
                state = .passing
                routerAnswering = true
                context.fireChannelRead(wrapInboundOut(part))
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Answers to a burst of pipelined requests leave in one write.
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        guard case .end = unwrapOutboundIn(data) else { return }
        routerAnswering = false
        // The router's answer is out: the requests that waited for it go on, in order.
        if release(context: context) {
            channelReadComplete(context: context)
        }
        if readHeld, held.count < Self.heldLimit {
            readHeld = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if held.count >= Self.heldLimit {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func write(_ reply: TrackingReply, close: Bool, context: ChannelHandlerContext) {
        // Set before writing: writing may release (and answer) the next request first.
        needsFlush = true
        context.write(wrapOutboundOut(.head(reply.head)), promise: nil)
        if let body = reply.body { context.write(wrapOutboundOut(.body(body)), promise: nil) }
        if close {
            let loopBound = context.loopBound
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in loopBound.value.close(promise: nil) }
        } else {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
