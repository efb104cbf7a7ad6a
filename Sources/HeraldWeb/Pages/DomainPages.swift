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
                return Response.redirect(to: "/admin/domains/\(domain.id)", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await listPage(form: ["domain": form["domain"] ?? ""], problems: AdminPages.problems(error),
                                          status: error.kind == .conflict ? .conflict : .unprocessableContent, context: context)
            }
        }
        admin.post("domains/settings") { request, context in
            let form = try await FormData.read(request, context: context)
            do {
                let text = (form["complaint_threshold"] ?? "").trimmedWhitespace
                guard let threshold = Double(text.replacingOccurrences(of: "%", with: "")) else {
                    throw HeraldError.invalid(field: "complaint_threshold", "'\(text)' is not a number")
                }
                let spamText = (form["spam_threshold"] ?? "").trimmedWhitespace
                guard let spam = Double(spamText) else {
                    throw HeraldError.invalid(field: "spam_threshold", "'\(spamText)' is not a number")
                }
                try SettingsStore.checkComplaintThreshold(threshold)
                try SettingsStore.checkSpamThreshold(spam)
                try await store.settings.setComplaintThreshold(threshold)
                try await store.settings.setSpamThreshold(spam)
                try await store.settings.setOnlyAuthenticatedDomains(form["only_authenticated"] == "1")
                try await store.settings.setRefuseOverSpamThreshold(form["refuse_over_spam_threshold"] == "1")
                return Response.redirect(to: "/admin/domains", type: .found)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await listPage(problems: AdminPages.problems(error), status: .unprocessableContent, context: context)
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
            return Response.redirect(to: "/admin/domains", type: .found)
        }
    }

    func listPage(form: [String: String] = [:], problems: [Problem] = [], status: HTTPResponse.Status = .ok,
                  context: AppRequestContext) async throws -> Response {
        let now = WallClock.epochSeconds()
        let senders = try await store.senders.all()
        let authentication = try await delivery.domains.authentication(of: senders.map(\.email))
        let errors = AdminPages.errorMap(problems)
        let html = pages.render("admin_domains", title: "Sending domains", context: context, data: [
            "domains": try await store.domains.all().map { d -> [String: Any] in
                let signing = d.signingKeys(at: now)
                return ["id": d.id, "name": d.name, "verified": d.isVerified(at: now),
                        "keys": signing.map { "\($0.selector) (\($0.algorithm == .rsa ? "RSA-2048" : "Ed25519"))" }.joined(separator: ", "),
                        "checked": d.checkedAt.map { MassEmailPages.format($0, zone(context)) } ?? "never"]
            },
            "senders": senders.map { s -> [String: Any] in
                let auth = authentication[s.email]
                return ["email": s.email, "state": auth?.state.rawValue ?? "unsigned", "warning": auth?.warning as Any]
            },
            "form": form, "csrf": context.csrf, "has_errors": !problems.isEmpty,
            "errors": ["domain": errors["domain"] as Any, "complaint_threshold": errors["complaint_threshold"] as Any,
                       "spam_threshold": errors["spam_threshold"] as Any],
            "spam_threshold": SpamCheck.threshold(try await store.settings.spamThreshold()),
            "refuse_over_spam_threshold": try await store.settings.refuseOverSpamThreshold(),
            "only_authenticated": try await store.settings.onlyAuthenticatedDomains(),
            "complaint_threshold": Self.percent(try await store.settings.complaintThreshold()),
        ], modules: try await store.modules.all())
        return HTMLResponse(html: html, status: status).response
    }

    func domainPage(_ domain: SendingDomain, checks: [DNSRecordCheck]? = nil, message: String? = nil, rotateError: String? = nil,
                    status: HTTPResponse.Status = .ok, context: AppRequestContext) async throws -> Response {
        let domainContext = await delivery.domains.context()
        let records = DomainRecords.plan(for: domain, context: domainContext)
        let zone = zone(context)
        let html = pages.render("admin_domain", title: domain.name, context: context, data: [
            "id": domain.id, "name": domain.name, "csrf": context.csrf, "message": message as Any, "rotate_error": rotateError as Any,
            "verified": domain.isVerified(at: domainContext.now), "checked": checks != nil,
            "records": records.enumerated().map { index, record -> [String: Any] in
                let check = checks?.first { $0.record == record }
                return [
                    "index": index, "purpose": Self.label(record.purpose), "name": record.name, "type": record.type, "value": record.value,
                    "note": record.note, "zone_line": Self.zoneLine(record),
                    "verdict": check?.verdict.rawValue as Any, "check_note": check?.note as Any,
                    "found": check.map { $0.found.isEmpty ? nil as String? as Any : $0.found.joined(separator: "\n") } as Any,
                ]
            },
            "keys": domain.keys.map { key -> [String: Any] in
                [
                    "selector": key.selector, "algorithm": key.algorithm == .rsa ? "RSA-2048" : "Ed25519",
                    "state": key.state(at: domainContext.now).rawValue, "created": MassEmailPages.format(key.createdAt, zone),
                    "retires": key.retiresAt.map { MassEmailPages.format($0, zone) } as Any,
                    "verified": key.verifiedAt.map { MassEmailPages.format($0, zone) } as Any,
                ]
            },
            "return_path": domainContext.bounceDomain.map { bounce -> [String: Any] in
                ["domain": bounce, "aligned": DomainRecords.aligned(bounce, domain.name)]
            } as Any,
        ], modules: try await store.modules.all())
        return HTMLResponse(html: html, status: status).response
    }

    private func zone(_ context: AppRequestContext) -> TimeZone {
        ((try? context.user().timeZone).flatMap(TimeZone.init(identifier:))) ?? .gmt
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
