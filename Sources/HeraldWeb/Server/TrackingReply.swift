import HeraldCore
import HeraldDelivery
import HeraldStore
import Hummingbird
import NIOCore

/// What the open pixel and the hidden trap link answer, decided from the request target
/// alone: a token that verifies notes its hit for the ``EngagementRecorder`` and gets the GIF
/// (or an empty 200 for the trap); anything else under their paths gets the bare 404 that
/// tells nothing about why. No database is asked, so ``TrackingFastPath`` can answer in the
/// connection's pipeline; the router answers the same way for the requests that reach it
/// (see ``EngagementPages``). Click redirects need the link's address and stay on the router.
enum TrackingReply: Sendable {
    case pixel
    case trap
    case notFound

    /// A transparent 1×1 GIF.
    static let gif: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
        0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
        0x02, 0x44, 0x01, 0x00, 0x3B,
    ]

    /// The answer to a request for `target` (a path, with or without its query), or nil when
    /// it is not for the pixel or the trap. A hit whose token verifies is noted by calling
    /// `note` before the answer is returned.
    static func answer(isHead: Bool, target: String, userAgent: @autoclosure () -> String?,
                       signer: MessageTokenSigner, now: Int64, note: (TrackingHit) -> Void) -> TrackingReply? {
        let kind: TrackingHit.Kind
        let prefix: String
        if target.utf8.starts(with: EngagementLinks.Path.open.utf8) {
            (kind, prefix) = (.open, EngagementLinks.Path.open)
        } else if target.utf8.starts(with: EngagementLinks.Path.trap.utf8) {
            (kind, prefix) = (.trap, EngagementLinks.Path.trap)
        } else {
            return nil
        }
        let rest = target.utf8.dropFirst(prefix.utf8.count)
        let token = target[rest.startIndex..<(rest.firstIndex(of: UInt8(ascii: "?")) ?? rest.endIndex)]
        guard let verified = signer.verify(token),
              verified.purpose == (kind == .open ? MessageToken.Purpose.open : .trap) else {
            return .notFound
        }
        note(TrackingHit(kind, message: verified.messageID, at: now, isHead: isHead, userAgent: userAgent()))
        return kind == .open ? .pixel : .trap
    }

    var status: HTTPResponse.Status {
        self == .notFound ? .notFound : .ok
    }

    var body: [UInt8] {
        self == .pixel ? Self.gif : []
    }

    /// The fields besides `Date`, with what SecurityHeadersMiddleware gives every answer of
    /// the router, so that both ways of answering send the same.
    var fields: HTTPFields {
        var fields: HTTPFields = switch self {
        case .pixel: [.contentType: "image/gif", .cacheControl: "no-store, max-age=0"]
        case .trap: [.contentType: "text/plain", .cacheControl: "no-store"]
        case .notFound: [.cacheControl: "no-store"]
        }
        fields[.contentLength] = String(body.count)
        fields[.xContentTypeOptions] = "nosniff"
        fields[.server] = "Herald"
        return fields
    }

    /// The answer as the router gives it.
    func response(isHead: Bool) -> Response {
        Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: isHead ? [] : body)))
    }

    /// The whole answer as bytes on the wire, for ``TrackingFastPath``.
    ///
    /// - Parameter connection: the `Connection` header's value, when one is needed (`close`
    ///   for an answer that ends the connection, `keep-alive` for an HTTP/1.0 client that asked).
    func write(into buffer: inout ByteBuffer, isHead: Bool, date: String, connection: String?) {
        switch self {
        case .pixel: buffer.writeBytes(Self.pixelHead)
        case .trap: buffer.writeBytes(Self.trapHead)
        case .notFound: buffer.writeBytes(Self.notFoundHead)
        }
        buffer.writeString(date)
        if let connection {
            buffer.writeStaticString("\r\nConnection: ")
            buffer.writeString(connection)
        }
        buffer.writeStaticString("\r\n\r\n")
        if !isHead { buffer.writeBytes(body) }
    }

    private static let pixelHead = pixel.head
    private static let trapHead = trap.head
    private static let notFoundHead = notFound.head

    /// The status line and fields, up to the `Date` field's value.
    private var head: [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        for field in fields { text += "\(field.name.rawName): \(field.value)\r\n" }
        return Array((text + "Date: ").utf8)
    }
}
