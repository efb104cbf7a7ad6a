import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// `/api/v1/domains`, for admins: sending domains with their DKIM keys and the DNS records to
/// publish, key rotation, and the DNS check. Private keys never leave the server. And
/// `/api/v1/settings/deliverability`: only authenticated domains, the complaint threshold.
struct DomainsAPI {
    let store: Store
    let delivery: Delivery
    let settings: MailSettings

    func register(on api: RouterGroup<AppRequestContext>) {
        let admin = api.group("domains").add(middleware: RequireAdminMiddleware())
        let domains = delivery.domains
        admin.get { _, _ in
            let all = try await store.domains.all()
            var presented: [JSONValue] = []
            for domain in all { presented.append(try await present(domain)) }
            return JSONResponse.make(JSONValue.object(["domains": .array(presented)]))
        }
        admin.post { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let name = body.string("domain", required: true, maxLength: 253)
            let ed25519 = body.bool("ed25519") ?? false
            try body.finish()
            return JSONResponse.make(try await present(try await domains.add(name!, ed25519: ed25519)), status: .created)
        }
        admin.get(":id") { _, context in
            JSONResponse.make(try await present(try await store.domains.find(try context.parameters.require("id", as: Int64.self))))
        }
        admin.post(":id/rotate") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            _ = try await store.domains.find(id)
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let days = body.int("keep_old_days", range: 1...365) ?? 7
            try body.finish()
            return JSONResponse.make(try await present(try await domains.rotate(id, keepOldDays: Int(days))))
        }
        admin.post(":id/check") { _, context in
            let id = try context.parameters.require("id", as: Int64.self)
            let checks = try await domains.check(id)
            return JSONResponse.make(JSONValue.object([
                "checks": .array(checks.map(Present.check)), "domain": try await present(try await store.domains.find(id)),
            ]))
        }
        admin.delete(":id") { _, context in
            try await domains.delete(try context.parameters.require("id", as: Int64.self))
            return Response(status: .noContent)
        }
        let deliverability = api.group("settings/deliverability").add(middleware: RequireAdminMiddleware())
        deliverability.get { _, context in present(try await settings.deliverability(for: try context.user())) }
        deliverability.put { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            var changes = MailSettings.DeliverabilityChanges()
            changes.onlyAuthenticatedDomains = body.bool("only_authenticated_domains")
            changes.complaintThreshold = try Self.number(&body, "complaint_threshold", "must be a percentage (0.3 for 0.3%)")
            changes.spamThreshold = try Self.number(&body, "spam_threshold", "must be a SpamAssassin score (5.0 is its own)")
            changes.refuseOverSpamThreshold = body.bool("refuse_over_spam_threshold")
            try body.finish()
            let user = try context.user()
            try await settings.saveDeliverability(changes, by: user)
            return present(try await settings.deliverability(for: user))
        }
    }

    /// The organisation's deliverability settings, as the Sending domains page shows them.
    private func present(_ d: MailSettings.Deliverability) -> Response {
        JSONResponse.make(JSONValue.object([
            "only_authenticated_domains": .bool(d.onlyAuthenticatedDomains), "complaint_threshold": .number(d.complaintThreshold),
            "spam_threshold": .number(d.spamThreshold), "refuse_over_spam_threshold": .bool(d.refuseOverSpamThreshold),
        ]))
    }

    /// An optional number field; anything else but null is a 422 saying what it `must` be.
    static func number(_ body: inout JSONObjectReader, _ field: String, _ must: String) throws -> Double? {
        switch body.raw(field) {
        case nil, .null?: nil
        case .number(let d)?: d
        case let other?: throw HeraldError.invalid(field: field, "\(must), not \(other.typeName)")
        }
    }

    func present(_ domain: SendingDomain) async throws -> JSONValue {
        Present.domain(domain, records: await delivery.domains.records(for: domain), context: await delivery.domains.context())
    }
}

extension Present {
    static func domain(_ d: SendingDomain, records: [DNSRecordPlan], context: DomainRecords.Context) -> JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null }
        return .object([
            "id": .number(Double(d.id)), "domain": .string(d.name), "created_at": time(d.createdAt), "checked_at": time(d.checkedAt),
            "verified": .bool(d.isVerified(at: context.now)),
            "keys": .array(d.keys.map { k in
                .object([
                    "id": .number(Double(k.id)), "selector": .string(k.selector), "algorithm": .string(k.algorithm.rawValue),
                    "state": .string(k.state(at: context.now).rawValue), "record_name": .string(k.recordName(in: d.name)),
                    "record_value": .string(k.publicRecord), "created_at": time(k.createdAt), "retires_at": time(k.retiresAt),
                    "verified_at": time(k.verifiedAt),
                ])
            }),
            "records": .array(records.map(record)),
            "return_path": context.bounceDomain.map { bounce in
                .object(["domain": .string(bounce), "aligned": .bool(DomainRecords.aligned(bounce, d.name))])
            } ?? .null,
        ])
    }

    static func record(_ r: DNSRecordPlan) -> JSONValue {
        .object(["purpose": .string(r.purpose.rawValue), "name": .string(r.name), "type": .string(r.type), "value": .string(r.value),
                 "note": .string(r.note)])
    }

    static func check(_ c: DNSRecordCheck) -> JSONValue {
        .object(["record": record(c.record), "verdict": .string(c.verdict.rawValue), "found": .array(c.found.map(JSONValue.string)),
                 "note": .string(c.note)])
    }
}
