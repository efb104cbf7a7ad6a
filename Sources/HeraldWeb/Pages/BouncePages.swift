import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore
import Mail

/// A mass email's bounces (hard or soft, status, diagnostic) and each bounce's raw report,
/// for whoever may see the mass email. The raw report is shown as escaped text, never as HTML.
struct BouncePages {
    let store: Store
    let delivery: Delivery
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/mass-emails/:id/bounces") { request, context in
            let massEmail = try await MassEmailsAPI(store: store, delivery: delivery).fetch(context)
            let before = request.uri.queryParameters["before"].flatMap { Int64($0) } ?? .max
            let bounces = try await store.bounces.list(massEmail: massEmail.id, before: before, limit: 100)
            let html = pages.render("mass_email_bounces", title: "Bounces of \(massEmail.name)", context: context, data: [
                "id": massEmail.id, "name": massEmail.name,
                "bounces": bounces.map(Self.row),
                "has_bounces": !bounces.isEmpty,
                "next": (bounces.count == 100 ? bounces.last.map { "/mass-emails/\(massEmail.id)/bounces?before=\($0.id)" } : nil) as Any,
            ], modules: try await store.modules.all())
            return HTMLResponse(html: html).response
        }
        app.get("/bounces/:id") { _, context in
            let id = try context.parameters.require("id", as: Int64.self)
            let user = try context.user()
            guard let found = try await store.bounces.find(id), let massEmailID = found.bounce.massEmailID else {
                throw HeraldError.notFound("no bounce \(id)")
            }
            let (bounce, raw) = found
            let massEmail = try await store.massEmails.find(massEmailID)
            guard user.role == .admin || massEmail.ownerID == user.id else { throw HeraldError.notFound("no bounce \(id)") }
            var data = Self.row(bounce)
            data["mass_email_id"] = massEmail.id
            data["mass_email"] = massEmail.name
            data["raw"] = raw ?? "(not kept)"
            let html = pages.render("bounce", title: "Bounce \(id)", context: context, data: data, modules: try await store.modules.all())
            return HTMLResponse(html: html).response
        }
    }

    static func row(_ bounce: Bounce) -> [String: Any] {
        let reason = reason(bounce.reason)
        return [
            "id": bounce.id, "address": bounce.address, "kind": bounce.kind.rawValue,
            "kind_label": bounce.kind == .refused ? "refused by the receiver" : bounce.kind.rawValue,
            "reason": bounce.reason ?? "", "reason_label": reason?.label ?? "", "likely_fix": reason?.likelyFix ?? "",
            "suppresses": suppresses(bounce),
            "status": bounce.status ?? "", "action": bounce.action ?? "", "diagnostic": bounce.diagnostic ?? "",
            "source": bounce.source, "received_at": ISODateTime.format(epochSeconds: bounce.receivedAt),
        ]
    }

    /// A stored reason as the Mail library's, for its label and likely fix.
    static func reason(_ stored: String?) -> BounceReason? { stored.flatMap(BounceReason.init(rawValue:)) }

    /// Whether this kind of bounce put its address on the suppression list by itself (a soft
    /// one may still, at the threshold): a complaint, or a hard bounce about the address.
    static func suppresses(_ bounce: Bounce) -> Bool {
        switch bounce.kind {
        case .complaint: true
        case .hard: reason(bounce.reason).map(\.isAddressLevel) ?? true
        case .soft, .refused, .delivery: false
        }
    }

    /// The refusals of a mass email by reason, most first, each with its likely fix.
    static func refusals(_ figures: MassEmailFigures) -> [[String: Any]] {
        figures.refusedByReason.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { key, count in
            ["count": count, "reason": key, "label": reason(key)?.label ?? key, "likely_fix": reason(key)?.likelyFix ?? ""]
        }
    }
}
