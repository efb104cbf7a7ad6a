import Foundation
import HeraldCore
import HeraldDelivery
import HeraldStore
import Hummingbird

/// What recipients' mail programs reach without logging in: click redirects and the
/// unsubscribe page with its one-click POST (RFC 8058), and the open pixel and the hidden
/// trap link for the requests that ``TrackingFastPath`` leaves to the router (most are
/// answered there, before the decoder; both answer with ``TrackingReply``).
///
/// Every URL carries a signed ``MessageToken``; a token that does not verify, or names a
/// message or link that does not exist, gets a bare 404 that tells nothing about why. Clicks
/// are noted for the ``EngagementRecorder`` and answered at once.
struct EngagementPages {
    let store: Store
    let delivery: Delivery
    let pages: PageRenderer

    static var notFound: Response { Response(status: .notFound, headers: [.cacheControl: "no-store"]) }

    func register(on router: Router<AppRequestContext>) {
        for method in [HTTPRequest.Method.get, .head] {
            for path in [EngagementLinks.Path.open, EngagementLinks.Path.trap] {
                router.on(RouterPath(path + ":token"), method: method) { request, _ in
                    let engagement = delivery.engagement
                    let isHead = request.method == .head
                    let reply = TrackingReply.answer(isHead: isHead, target: request.uri.path, userAgent: request.headers[.userAgent],
                                                     signer: delivery.links.signer, now: WallClock.epochSeconds(),
                                                     note: { engagement.note($0) }) ?? .notFound
                    return reply.response(isHead: isHead)
                }
            }
            router.on(RouterPath(EngagementLinks.Path.click + ":token"), method: method) { request, context in
                guard let token = verify(context), case .click(let link) = token.purpose,
                      let url = try await store.engagement.clickTarget(message: token.messageID, link: link) else {
                    return Self.notFound
                }
                note(.click(link: link), token, request)
                return Response(status: .found, headers: [.location: url, .cacheControl: "no-store"])
            }
        }
        // A GET only shows the page: link scanners follow every link, and must not unsubscribe anyone.
        router.get(RouterPath(EngagementLinks.Path.unsubscribe + ":token")) { _, context in
            guard let target = try await target(context) else { return try await invalidLink(context) }
            return try await page(target, done: target.unsubscribedAt != nil, context: context)
        }
        router.post(RouterPath(EngagementLinks.Path.unsubscribe + ":token")) { request, context -> Response in
            guard let target = try await target(context) else { return try await invalidLink(context).response }
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 64 * 1024))
            let oneClick = Self.isOneClick(body)
            try await store.engagement.unsubscribe(target, how: oneClick ? "one-click (List-Unsubscribe-Post)" : "unsubscribe page",
                                                   modules: store.modules)
            if oneClick {
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                                body: .init(byteBuffer: ByteBuffer(string: "Unsubscribed.\n")))
            }
            return try await page(target, done: true, context: context).response
        }
    }

    /// RFC 8058's body, `List-Unsubscribe=One-Click`, as a form or as multipart/form-data.
    static func isOneClick(_ body: String) -> Bool {
        if FormData(body)["List-Unsubscribe"] == "One-Click" { return true }
        return body.contains("name=\"List-Unsubscribe\"") && body.contains("One-Click")
    }

    private func verify(_ context: AppRequestContext) -> MessageToken? {
        context.parameters.get("token").flatMap { delivery.links.signer.verify($0) }
    }

    private func note(_ kind: TrackingHit.Kind, _ token: MessageToken, _ request: Request) {
        delivery.engagement.note(TrackingHit(kind, message: token.messageID, at: WallClock.epochSeconds(),
                                             isHead: request.method == .head, userAgent: request.headers[.userAgent]))
    }

    private func target(_ context: AppRequestContext) async throws -> UnsubscribeTarget? {
        guard let token = verify(context), token.purpose == .unsubscribe else { return nil }
        return try await store.engagement.unsubscribeTarget(message: token.messageID)
    }

    private func page(_ target: UnsubscribeTarget, done: Bool, context: AppRequestContext) async throws -> HTMLResponse {
        let organisation = try await store.settings.value(SettingsStore.organisationName) ?? "us"
        let model = Unsubscribe(done: done, invalid: false, address: Self.masked(target.address), organisation: organisation)
        return HTMLResponse(html: pages.render("unsubscribe", title: done ? "Unsubscribed" : "Unsubscribe", context: context, page: model))
    }

    private func invalidLink(_ context: AppRequestContext) async throws -> HTMLResponse {
        HTMLResponse(html: pages.render("unsubscribe", title: "Unsubscribe", context: context,
                                        page: Unsubscribe(done: false, invalid: true, address: nil, organisation: nil)),
                     status: .notFound)
    }

    /// The unsubscribe page, its confirmation, or a link that is not valid (`unsubscribe.mustache`).
    struct Unsubscribe: PageModel {
        let done: Bool
        let invalid: Bool
        let address: String?
        let organisation: String?
    }

    /// `a•••@example.com`: enough for the owner to recognise, not the whole address for whoever holds the link.
    static func masked(_ address: String) -> String {
        guard let at = address.firstIndex(of: "@"), at > address.startIndex else { return address }
        return String(address[..<address.index(after: address.startIndex)]) + "•••" + address[at...]
    }
}
