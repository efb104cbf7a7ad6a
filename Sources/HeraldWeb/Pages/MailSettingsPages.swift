import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// "Mail delivery", for admins: where mail goes (redacted), a form to set the SMTP relay's
/// URL, and a test send. The URL's password is never put back into the page.
struct MailSettingsPages {
    let store: Store
    let pages: PageRenderer
    let delivery: Delivery
    let settings: MailSettings

    func register(on app: RouterGroup<AppRequestContext>) {
        let admin = app.group("admin").add(middleware: RequireAdminMiddleware())
        let settings = self.settings
        admin.get("mail") { _, context in
            try await page(context: context)
        }
        admin.post("mail") { request, context in
            let form = try await FormData.read(request, context: context)
            do {
                let url = form["url"] ?? ""
                try await settings.saveTransport(url, by: try context.user())
                return context.redirect(to: "/admin/mail", flash: url.trimmedWhitespace.isEmpty
                                        ? "Saved: with no transport set, mail goes to the .eml outbox."
                                        : "Saved: mail now goes through the new transport.")
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await page(urlError: error.problems.first?.reason ?? error.message,
                                      status: error.kind == .conflict ? .conflict : .unprocessableContent, context: context)
            }
        }
        admin.post("mail/quota") { request, context in
            let form = try await FormData.read(request, context: context)
            do {
                try await settings.setQuota(try MailSettingsPages.quota(form["daily_quota"]), by: try context.user())
                return Response.redirect(to: "/admin/mail", type: .found)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(quotaError: error.problems.first?.reason ?? error.message, status: .unprocessableContent, context: context)
            }
        }
        admin.post("mail/bounces") { request, context in
            let form = try await FormData.read(request, context: context)
            var changes = MailSettings.BounceChanges()
            if delivery.returnPaths.override == nil { changes.domain = form["domain"] ?? "" }
            // A number field that is not a number is reported, not taken for "unchanged".
            func number(_ name: String) throws -> Int? {
                guard let text = form[name]?.trimmedWhitespace, !text.isEmpty else { return nil }
                guard let n = Int(text) else { throw HeraldError.invalid(field: name, "'\(text)' is not a whole number") }
                return n
            }
            do {
                changes.softBounceCount = try number("soft_bounce_count")
                changes.softBounceDays = try number("soft_bounce_days")
                changes.forwardReplies = form["forward_replies"] == "1"
                // An empty secret field keeps the secret; "remove" clears it.
                for provider in MailSettings.providers {
                    if form["remove_\(provider)"] == "1" { changes.webhookSecrets[provider] = "" }
                    else if let secret = form["secret_\(provider)"]?.trimmedWhitespace, !secret.isEmpty { changes.webhookSecrets[provider] = secret }
                }
                try await settings.saveBounces(changes, by: try context.user())
                return Response.redirect(to: "/admin/mail#bounce-settings", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                let problems = error.problems.map { "\($0.field): \($0.reason)" }.joined(separator: "; ")
                return try await page(bounceError: problems.isEmpty ? error.message : problems,
                                      status: .unprocessableContent, context: context)
            }
        }
        admin.post("mail/test") { request, context in
            let form = try await FormData.read(request, context: context)
            do {
                let sender = try await settings.testSender(id: form["sender_id"].flatMap { Int64($0) }, address: form["from"])
                let result = try await settings.sendTest(from: sender, to: form["to"] ?? "", by: try context.user())
                return try await page(testResult: result, form: form, context: context)
            } catch let error as HeraldError where [.invalid, .upstream, .tooManyRequests].contains(error.kind) {
                return try await page(testError: error.message, form: form, status: ErrorMiddleware.status(for: error.kind), context: context)
            }
        }
    }

    /// The quota field: empty for no limit, else a whole number (its range is the use case's to check).
    static func quota(_ text: String?) throws -> Int? {
        guard let text = text?.trimmedWhitespace, !text.isEmpty else { return nil }
        guard let n = Int(text) else {
            throw HeraldError.invalid(field: "daily_quota", "'\(text)' is not a number of messages (1 or more; empty for no limit)")
        }
        return n
    }

    func page(urlError: String? = nil, quotaError: String? = nil, bounceError: String? = nil, testResult: JSONValue? = nil, testError: String? = nil,
              form: FormData = FormData(""), status: HTTPResponse.Status = .ok, context: AppRequestContext) async throws -> Response {
        let user = try context.user()
        let quota = try await settings.quota(for: user)
        let senders = try await store.senders.all()
        let chosen = form["sender_id"].flatMap { Int64($0) }
        let transport = try await settings.transport(for: user)
        let model = Page(
            current: Present.transport(transport), outbox: delivery.transports.outbox,
            // Said only while it is so: it read beside a configured relay too.
            writesOutbox: transport.origin == .outbox,
            urlError: urlError, quotaError: quotaError,
            dailyQuota: quota.limit.map(String.init) ?? "", usedToday: quota.usedToday, orgZone: quota.timeZone.identifier,
            senders: senders.map { Page.SenderOption(id: $0.id, label: "\($0.name) <\($0.email)>", selected: $0.id == chosen) },
            hasSenders: !senders.isEmpty,
            from: form["from"] ?? "", to: form["to"] ?? (context.identity?.email ?? ""),
            testResult: testResult, testError: testError,
            bounces: Present.bounceSettings(try await settings.bounces(for: user)), bounceError: bounceError,
            sesSubscribeURL: try await store.settings.value("webhooks.ses.subscribe_url"))
        let html = pages.render("admin_mail", title: "Mail delivery", context: context, page: model,
                                modules: try await store.modules.all())
        return HTMLResponse(html: html, status: status).response
    }

    /// Mail delivery for admins (`admin_mail.mustache`): the transport and bounce settings as
    /// the API shows them, the quota, and the test message's form and result.
    struct Page: PageModel {
        struct SenderOption: PageModel { let id: Int64, label: String, selected: Bool }

        let current: JSONValue
        let outbox: String
        let writesOutbox: Bool
        let urlError: String?, quotaError: String?
        let dailyQuota: String
        let usedToday: Int
        let orgZone: String
        let senders: [SenderOption]
        let hasSenders: Bool
        let from: String, to: String
        let testResult: JSONValue?
        let testError: String?
        let bounces: JSONValue
        let bounceError: String?
        let sesSubscribeURL: String?
    }
}
