import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// Admin → Sending domains: add a domain (Herald makes its DKIM keys), the DNS records to
/// publish with a copy button each, "Check DNS", key rotation, and the organisation's
/// deliverability settings. Private keys are never shown.
struct DomainPages {
    let store: Store
    let delivery: Delivery
    let settings: MailSettings
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {
        let admin = app.group("admin").add(middleware: RequireAdminMiddleware())
        let domains = delivery.domains
        admin.get("domains") { _, context in
            try await listPage(context: context)
        }
        admin.post("domains") { request, context in
            let form = try await FormData.read(request, context: context)
            do {
                let domain = try await domains.add(form["domain"] ?? "", ed25519: form["ed25519"] == "1")
                return context.redirect(to: "/admin/domains/\(domain.id)",
                                        flash: "Added \(domain.name). Publish the records below in its DNS, then check them.")
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                // The form has one field: a problem of the whole (the domain is added already) is its.
                return try await listPage(form: ["domain": form["domain"] ?? ""],
                                          problems: error.pageProblems.map { $0.field.isEmpty ? Problem(field: "domain", reason: $0.reason) : $0 },
                                          status: error.kind == .conflict ? .conflict : .unprocessableContent, context: context)
            }
        }
        admin.post("domains/settings") { request, context in
            let form = try await FormData.read(request, context: context)
            do {
                // Both numbers read, and every problem reported at once with the use case's.
                var read = ProblemList()
                var changes = MailSettings.DeliverabilityChanges()
                let text = (form["complaint_threshold"] ?? "").trimmedWhitespace
                changes.complaintThreshold = Double(text.replacingOccurrences(of: "%", with: ""))
                if changes.complaintThreshold == nil { read.add("complaint_threshold", "'\(text)' is not a number") }
                let spamText = (form["spam_threshold"] ?? "").trimmedWhitespace
                changes.spamThreshold = Double(spamText)
                if changes.spamThreshold == nil { read.add("spam_threshold", "'\(spamText)' is not a number") }
                changes.onlyAuthenticatedDomains = form["only_authenticated"] == "1"
                changes.refuseOverSpamThreshold = form["refuse_over_spam_threshold"] == "1"
                try await settings.saveDeliverability(changes, earlier: read.problems, by: try context.user())
                return Response.redirect(to: "/admin/domains", type: .found)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await listPage(problems: error.pageProblems, status: .unprocessableContent, context: context)
            }
        }
        admin.get("domains/:id") { _, context in
            try await domainPage(try await store.domains.find(try context.parameters.require("id", as: Int64.self)), context: context)
        }
        admin.post("domains/:id/check") { _, context in
            let id = try context.parameters.require("id", as: Int64.self)
            do {
                let checks = try await domains.check(id)
                return try await domainPage(try await store.domains.find(id), checks: checks, context: context)
            } catch let error as HeraldError where error.kind == .upstream {
                return try await domainPage(try await store.domains.find(id), message: error.message, status: .badGateway, context: context)
            }
        }
        admin.post("domains/:id/rotate") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            let form = try await FormData.read(request, context: context)
            do {
                guard let days = Int((form["keep_old_days"] ?? "").trimmedWhitespace) else {
                    throw HeraldError.invalid(field: "keep_old_days", "'\(form["keep_old_days"] ?? "")' is not a whole number of days")
                }
                let rotated = try await domains.rotate(id, keepOldDays: days)
                return try await domainPage(rotated, message: "New keys sign from now on. Publish their records; keep the old ones "
                                            + "published for \(days) days.", context: context)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await domainPage(try await store.domains.find(id), rotateError: error.problems.first?.reason ?? error.message,
                                            status: .unprocessableContent, context: context)
            }
        }
        admin.post("domains/:id/delete") { _, context in
            try await domains.delete(try context.parameters.require("id", as: Int64.self))
            return context.redirect(to: "/admin/domains", flash: "The domain was removed; its senders' mail is no longer signed with its keys.")
        }
    }

    func listPage(form: [String: String] = [:], problems: [Problem] = [], status: HTTPResponse.Status = .ok,
                  context: AppRequestContext) async throws -> Response {
        let now = WallClock.epochSeconds()
        let senders = try await store.senders.all()
        let authentication = try await delivery.domains.authentication(of: senders.map(\.email))
        let local = local(context)
        let deliverability = try await settings.deliverability(for: try context.user())
        let model = ListPage(
            domains: try await store.domains.all().map { d in
                ListPage.Domain(id: d.id, name: d.name, verified: d.isVerified(at: now),
                                keys: d.signingKeys(at: now).map { "\($0.selector) (\($0.algorithm == .rsa ? "RSA-2048" : "Ed25519"))" }
                                    .joined(separator: ", "),
                                checked: d.checkedAt.map(local.readable) ?? "never")
            },
            senders: senders.map { s in
                let auth = authentication[s.email]
                return ListPage.Sender(email: s.email, state: auth?.state.rawValue ?? "unsigned", warning: auth?.warning)
            },
            form: form, hasErrors: !problems.isEmpty, errors: AdminPages.errorMap(problems),
            spamThreshold: SpamCheck.threshold(deliverability.spamThreshold),
            refuseOverSpamThreshold: deliverability.refuseOverSpamThreshold,
            onlyAuthenticated: deliverability.onlyAuthenticatedDomains,
            complaintThreshold: Self.percent(deliverability.complaintThreshold))
        let html = pages.render("admin_domains", title: "Sending domains", context: context, page: model,
                                modules: try await store.modules.all())
        return HTMLResponse(html: html, status: status).response
    }

    func domainPage(_ domain: SendingDomain, checks: [DNSRecordCheck]? = nil, message: String? = nil, rotateError: String? = nil,
                    status: HTTPResponse.Status = .ok, context: AppRequestContext) async throws -> Response {
        let domainContext = await delivery.domains.context()
        let records = DomainRecords.plan(for: domain, context: domainContext)
        let local = local(context)
        let model = DomainPage(
            id: domain.id, name: domain.name, message: message, rotateError: rotateError,
            verified: domain.isVerified(at: domainContext.now), checked: checks != nil,
            records: records.enumerated().map { index, record in
                let check = checks?.first { $0.record == record }
                return DomainPage.Record(
                    index: index, purpose: Self.label(record.purpose), name: record.name, type: record.type, value: record.value,
                    note: record.note, zoneLine: Self.zoneLine(record), verdict: check?.verdict.rawValue, checkNote: check?.note,
                    found: check.flatMap { $0.found.isEmpty ? nil : $0.found.joined(separator: "\n") })
            },
            keys: domain.keys.map { key in
                DomainPage.Key(selector: key.selector, algorithm: key.algorithm == .rsa ? "RSA-2048" : "Ed25519",
                               state: key.state(at: domainContext.now).rawValue, created: local.readable(key.createdAt),
                               retires: key.retiresAt.map(local.readable), verifiedAt: key.verifiedAt.map(local.readable))
            },
            returnPath: domainContext.bounceDomain.map { DomainPage.ReturnPath(domain: $0, aligned: DomainRecords.aligned($0, domain.name)) })
        let html = pages.render("admin_domain", title: domain.name, context: context, page: model, modules: try await store.modules.all())
        return HTMLResponse(html: html, status: status).response
    }

    private func local(_ context: AppRequestContext) -> LocalTime {
        LocalTime(zoneNamed: (try? context.user().timeZone) ?? "UTC")
    }

    /// The sending domains, the senders' signing states and the deliverability settings
    /// (`admin_domains.mustache`).
    struct ListPage: PageModel {
        struct Domain: PageModel {
            let id: Int64
            let name: String
            let verified: Bool
            let keys: String, checked: String
        }
        struct Sender: PageModel { let email: String, state: String, warning: String? }

        let domains: [Domain]
        let senders: [Sender]
        let form: [String: String]
        let hasErrors: Bool
        let errors: [String: String]
        let spamThreshold: String
        let refuseOverSpamThreshold: Bool
        let onlyAuthenticated: Bool
        let complaintThreshold: String
    }

    /// One sending domain: its DNS records with their checks, and its keys (`admin_domain.mustache`).
    struct DomainPage: PageModel {
        struct Record: PageModel {
            let index: Int
            let purpose: String, name: String, type: String, value: String, note: String, zoneLine: String
            let verdict: String?, checkNote: String?, found: String?
        }
        struct Key: PageModel {
            let selector: String, algorithm: String, state: String, created: String
            let retires: String?, verifiedAt: String?
        }
        struct ReturnPath: PageModel { let domain: String, aligned: Bool }

        let id: Int64
        let name: String
        let message: String?, rotateError: String?
        let verified: Bool, checked: Bool
        let records: [Record]
        let keys: [Key]
        let returnPath: ReturnPath?
    }

    static func label(_ purpose: DNSRecordPlan.Purpose) -> String {
        switch purpose {
        case .dkim: "DKIM"
        case .spf: "SPF"
        case .dmarc: "DMARC"
        case .bounceMX: "Bounce MX"
        }
    }

    /// The record as a zone file line: a TXT value over 255 bytes is split into quoted
    /// strings, as DNS stores it (RFC 1035 §3.3.14, RFC 6376 §3.6.2.2).
    static func zoneLine(_ record: DNSRecordPlan) -> String {
        guard record.type == "TXT" else { return "\(record.name). IN \(record.type) \(record.value)." }
        var chunks: [String] = []
        var rest = Substring(record.value)
        while !rest.isEmpty {
            chunks.append("\"" + rest.prefix(255) + "\"")
            rest = rest.dropFirst(255)
        }
        return "\(record.name). IN TXT ( \(chunks.joined(separator: " ")) )"
    }

    static func percent(_ value: Double) -> String {
        String(format: "%g", value)
    }
}
