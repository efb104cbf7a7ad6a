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
            let local = LocalTime(zoneNamed: try context.user().timeZone)
            let html = pages.render("mass_email_bounces", title: "Bounces of \(massEmail.name)", context: context, page: List(
                id: massEmail.id, name: massEmail.name, bounces: bounces.map { Row($0, local: local) }, hasBounces: !bounces.isEmpty,
                next: bounces.count == 100 ? bounces.last.map { "/mass-emails/\(massEmail.id)/bounces?before=\($0.id)" } : nil),
                modules: try await store.modules.all())
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
            let model = Shown(row: Row(bounce, local: LocalTime(zoneNamed: user.timeZone)), massEmailID: massEmail.id, massEmail: massEmail.name, raw: raw ?? "(not kept)")
            let html = pages.render("bounce", title: "Bounce \(id)", context: context, page: model, modules: try await store.modules.all())
            return HTMLResponse(html: html).response
        }
    }

    /// A bounce as the pages show it.
    struct Row: PageModel {
        let id: Int64
        let address: String, kind: String, kindLabel: String
        let reason: String
        // Missing, not empty, when unknown: an empty string would still open its section.
        let reasonLabel: String?, likelyFix: String?
        let suppresses: Bool
        let status: String, action: String, diagnostic: String, source: String, receivedAt: String

        /// `local`: the reader's zone, in which its time is shown, as on every other page.
        init(_ bounce: Bounce, local: LocalTime) {
            let reason = BouncePages.reason(bounce.reason)
            (id, address, kind) = (bounce.id, bounce.address, bounce.kind.rawValue)
            kindLabel = bounce.kind == .refused ? "refused by the receiver" : bounce.kind.rawValue
            (self.reason, reasonLabel, likelyFix) = (bounce.reason ?? "", reason?.label, reason?.likelyFix)
            suppresses = BouncePages.suppresses(bounce)
            (status, action, diagnostic) = (bounce.status ?? "", bounce.action ?? "", bounce.diagnostic ?? "")
            (source, receivedAt) = (bounce.source, local.readable(bounce.receivedAt))
        }
    }

    /// A mass email's bounces, newest first (`mass_email_bounces.mustache`).
    struct List: PageModel {
        let id: Int64
        let name: String
        let bounces: [Row]
        let hasBounces: Bool
        let next: String?
    }

    /// One bounce with the report as it came (`bounce.mustache`): the row's keys and these.
    struct Shown: PageModel {
        let row: Row
        let massEmailID: Int64
        let massEmail: String
        let raw: String

        func child(named key: String) -> Any? {
            switch key {
            case "mass_email_id": massEmailID
            case "mass_email": massEmail
            case "raw": raw
            default: row.child(named: key)
            }
        }
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
    static func refusals(_ figures: MassEmailFigures) -> [Refusal] {
        figures.refusedByReason.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { key, count in
            Refusal(count: count, reason: key, label: reason(key)?.label ?? key, likelyFix: reason(key)?.likelyFix)
        }
    }

    struct Refusal: PageModel { let count: Int, reason: String, label: String, likelyFix: String? }
}
