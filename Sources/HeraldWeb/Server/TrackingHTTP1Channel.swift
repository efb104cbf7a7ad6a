import HeraldDelivery
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1 channel with ``TrackingFastPath`` in front of its decoder, which
/// `HTTP1Channel`'s own additional handlers (placed after the decoder) cannot be.
struct TrackingHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let signer: MessageTokenSigner
    let recorder: EngagementRecorder

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(TrackingFastPath(signer: signer, recorder: recorder))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with the open pixel and the trap link answered before the decoder.
    static func http1(tracking delivery: Delivery) -> HTTPServerBuilder {
        let signer = delivery.links.signer
        let recorder = delivery.engagement
        return HTTPServerBuilder { responder in
            TrackingHTTP1Channel(http1: HTTP1Channel(responder: responder), signer: signer, recorder: recorder)
        }
    }
}
