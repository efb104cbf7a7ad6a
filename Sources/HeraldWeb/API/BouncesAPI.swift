import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore
import Mail

/// `/api/v1/settings/bounces` (admins): bounce domain, soft-bounce threshold, reply
/// forwarding, webhook secrets. `/api/v1/mass-emails/{id}/bounces`, `/api/v1/bounces/{id}` and
/// `/api/v1/mass-emails/{id}/replies`: what came back, for whoever may see the mass email; and
/// `/api/v1/modules/{module}/records/{id}/replies`, the replies kept on a record.
struct BouncesAPI {
    let store: Store
    let delivery: Delivery
    let settings: MailSettings

    func register(on api: RouterGroup<AppRequestContext>) {
        let admin = api.group("settings/bounces").add(middleware: RequireAdminMiddleware())
        admin.get { _, context in JSONResponse.make(Present.bounceSettings(try await settings.bounces(for: try context.user()))) }
        admin.put { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            var changes = MailSettings.BounceChanges()
            changes.domain = body.string("domain", maxLength: 253)
            changes.softBounceCount = body.int("soft_bounce_count", range: 1...100).map(Int.init)
            changes.softBounceDays = body.int("soft_bounce_days", range: 1...365).map(Int.init)
            changes.forwardReplies = body.bool("forward_replies")
            if var secrets = body.nested("webhook_secrets") {
                for provider in MailSettings.providers where secrets.has(provider) {
                    changes.webhookSecrets[provider] = secrets.string(provider, maxLength: 200) ?? ""
                }
                body.absorb(secrets)
            }
            try await settings.saveBounces(changes, earlier: body.allProblems, by: try context.user())
            return JSONResponse.make(Present.bounceSettings(try await settings.bounces(for: try context.user())))
        }
        api.get("mass-emails/:id/bounces") { request, context in
            let massEmail = try await visibleMassEmail(context)
            let before = request.uri.queryParameters["before"].flatMap { Int64($0) } ?? .max
            let bounces = try await store.bounces.list(massEmail: massEmail.id, before: before, limit: 100)
            return JSONResponse.make(JSONValue.object(["bounces": .array(bounces.map(Self.json))]))
        }
        api.get("bounces/:id") { _, context in
            let id = try context.parameters.require("id", as: Int64.self)
            guard let found = try await store.bounces.find(id), let massEmailID = found.bounce.massEmailID else {
                throw HeraldError.notFound("no bounce \(id)")
            }
            let (bounce, raw) = found
            _ = try await visibleMassEmail(massEmailID, context)
            guard case .object(var object) = Self.json(bounce) else { return JSONResponse.make(Self.json(bounce)) }
            object["raw"] = raw.map(JSONValue.string) ?? .null
            return JSONResponse.make(JSONValue.object(object))
        }
        api.get("modules/:module/records/:id/replies") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let id = try context.parameters.require("id", as: Int64.self)
            guard try await store.records.find(in: module, id: id, scope: try context.user().scope) != nil else {
                throw HeraldError.notFound("no \(module.singularLabel.lowercased()) \(id) in \(module.pluralLabel)")
            }
            let replies = try await store.replies.list(module: module.id, record: id)
            return JSONResponse.make(JSONValue.object(["replies": .array(replies.map(Self.json))]))
        }
        api.get("modules/:module/records/:id/mail") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let user = try context.user()
            let record = try await delivery.records.find(try context.parameters.require("id", as: Int64.self), in: module, for: user)
            let (messages, suppressed) = try await delivery.records.mailHistory(of: record, in: module, for: user)
            func time(_ t: Int64?) -> JSONValue { t.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null }
            return JSONResponse.make(JSONValue.object([
                "messages": .array(messages.map { m in
                    .object(["id": .number(Double(m.id)), "mass_email_id": .number(Double(m.massEmailID)), "mass_email": .string(m.massEmailName),
                             "step": .number(Double(m.step)), "status": .string(m.status.rawValue), "sent_at": time(m.sentAt),
                             "opened_at": time(m.openedAt), "clicked_at": time(m.clickedAt), "unsubscribed_at": time(m.unsubscribedAt)])
                }),
                "suppressed": .array(suppressed.map { s in
                    .object(["address": .string(s.address), "reason": .string(s.reason), "created_at": time(s.createdAt)])
                }),
            ]))
        }
        api.get("mass-emails/:id/replies") { _, context in
            let massEmail = try await visibleMassEmail(context)
            let replies = try await store.replies.list(massEmail: massEmail.id)
            return JSONResponse.make(JSONValue.object(["replies": .array(replies.map(Self.json))]))
        }
    }

    private func visibleMassEmail(_ context: AppRequestContext) async throws -> MassEmail {
        try await MassEmailsAPI(store: store, delivery: delivery).fetch(context)
    }

    /// The mass email a bounce belongs to, when the user may see it (admins: all; users: their own).
    private func visibleMassEmail(_ id: Int64, _ context: AppRequestContext) async throws -> MassEmail {
        let massEmail = try await store.massEmails.find(id)
        let user = try context.user()
        guard user.role == .admin || massEmail.ownerID == user.id else { throw HeraldError.notFound("no bounce with that id") }
        return massEmail
    }

    static func json(_ bounce: Bounce) -> JSONValue {
        .object([
            "id": .number(Double(bounce.id)),
            "message_id": bounce.messageID.map { .number(Double($0)) } ?? .null,
            "mass_email_id": bounce.massEmailID.map { .number(Double($0)) } ?? .null,
            "address": .string(bounce.address),
            "kind": .string(bounce.kind.rawValue),
            "status": bounce.status.map(JSONValue.string) ?? .null,
            "action": bounce.action.map(JSONValue.string) ?? .null,
            "diagnostic": bounce.diagnostic.map(JSONValue.string) ?? .null,
            "reason": bounce.reason.map(JSONValue.string) ?? .null,
            "reason_label": BouncePages.reason(bounce.reason).map { .string($0.label) } ?? .null,
            "likely_fix": BouncePages.reason(bounce.reason)?.likelyFix.map(JSONValue.string) ?? .null,
            "suppressed_address": .bool(BouncePages.suppresses(bounce)),
            "source": .string(bounce.source),
            "received_at": .string(ISODateTime.format(epochSeconds: bounce.receivedAt)),
        ])
    }

    static func json(_ reply: Reply) -> JSONValue {
        .object([
            "id": .number(Double(reply.id)),
            "message_id": .number(Double(reply.messageID)),
            "record_id": .number(Double(reply.recordID)),
            "from": reply.fromAddress.map(JSONValue.string) ?? .null,
            "subject": reply.subject.map(JSONValue.string) ?? .null,
            "headers": .string(reply.headers),
            "text": .string(reply.text),
            "forwarded_at": reply.forwardedAt.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null,
            "received_at": .string(ISODateTime.format(epochSeconds: reply.receivedAt)),
        ])
    }
}
