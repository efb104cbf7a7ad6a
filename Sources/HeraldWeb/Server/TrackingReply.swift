import HeraldCore
import HeraldDelivery
import HeraldStore
import HTTPTypes
import NIOCore

/// What the open pixel and the hidden trap link answer, decided from the request head alone:
/// a token that verifies notes its hit for the ``EngagementRecorder`` and gets the GIF (or an
/// empty 200 for the trap); anything else under their paths gets the bare 404 that tells
/// nothing about why. No database is asked, so ``TrackingPixelHandler`` can answer in the
/// connection's pipeline. Click redirects need the link's address and stay on the router.
struct TrackingReply: Sendable {
    let head: HTTPResponse
    /// Nil for HEAD and for answers without a body.
    let body: ByteBuffer?

    /// A transparent 1×1 GIF.
    static let pixel: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
        0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
        0x02, 0x44, 0x01, 0x00, 0x3B,
    ]
    private static let pixelBuffer = ByteBuffer(bytes: pixel)

    private static func fields(_ extra: HTTPFields) -> HTTPFields {
        var fields = extra
        // What SecurityHeadersMiddleware gives every answer of the router.
        fields[.xContentTypeOptions] = "nosniff"
        fields[.server] = "Herald"
        return fields
    }
    private static let pixelFields = fields([.contentType: "image/gif", .cacheControl: "no-store, max-age=0",
                                             .contentLength: String(pixel.count)])
    private static let trapFields = fields([.contentType: "text/plain", .cacheControl: "no-store", .contentLength: "0"])
    private static let notFoundFields = fields([.cacheControl: "no-store", .contentLength: "0"])

    /// The answer to `request`, or nil when it is not for the pixel or the trap link. A hit
    /// whose token verifies is noted by calling `note` before the answer is returned.
    static func answer(_ request: HTTPRequest, signer: MessageTokenSigner, now: Int64,
                       note: (TrackingHit) -> Void) -> TrackingReply? {
        guard request.method == .get || request.method == .head, let path = request.path else { return nil }
        let kind: TrackingHit.Kind
        let prefix: String
        if path.utf8.starts(with: EngagementLinks.Path.open.utf8) {
            (kind, prefix) = (.open, EngagementLinks.Path.open)
        } else if path.utf8.starts(with: EngagementLinks.Path.trap.utf8) {
            (kind, prefix) = (.trap, EngagementLinks.Path.trap)
        } else {
            return nil
        }
        let rest = path.utf8.dropFirst(prefix.utf8.count)
        let token = Substring(rest.prefix { $0 != UInt8(ascii: "?") })
        let isHead = request.method == .head
        var date = HTTPFields()
        date[.date] = HTTPDate.now(epochSeconds: now)
        guard let verified = signer.verify(token),
              verified.purpose == (kind == .open ? MessageToken.Purpose.open : .trap) else {
            return TrackingReply(head: HTTPResponse(status: .notFound, headerFields: notFoundFields + date), body: nil)
        }
        note(TrackingHit(kind, message: verified.messageID, at: now, isHead: isHead, userAgent: request.headerFields[.userAgent]))
        if kind == .trap {
            return TrackingReply(head: HTTPResponse(status: .ok, headerFields: trapFields + date), body: nil)
        }
        return TrackingReply(head: HTTPResponse(status: .ok, headerFields: pixelFields + date), body: isHead ? nil : pixelBuffer)
    }
}

private extension HTTPFields {
    static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var fields = lhs
        fields.append(contentsOf: rhs)
        return fields
    }
}
