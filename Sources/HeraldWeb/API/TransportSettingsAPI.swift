import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore
import Mail

/// `/api/v1/settings/transport`: where Herald's mail goes, for admins. The URL is shown
/// redacted and never logged; `--transport` on the command line wins over it.
struct TransportSettingsAPI {
    let settings: MailSettings

    func register(on api: RouterGroup<AppRequestContext>) {
        let settings = self.settings
        let admin = api.group("settings/transport").add(middleware: RequireAdminMiddleware())
        admin.get { _, context in
            JSONResponse.make(Present.transport(try await settings.transport(for: try context.user())))
        }
        admin.put { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let url = body.string("url", required: true, maxLength: 2000)
            try body.finish()
            try await settings.saveTransport(url!, by: try context.user())
            return JSONResponse.make(Present.transport(try await settings.transport(for: try context.user())))
        }
        let quota = api.group("settings/quota").add(middleware: RequireAdminMiddleware())
        quota.get { _, context in JSONResponse.make(Present.quota(try await settings.quota(for: try context.user()))) }
        quota.put { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let limit = body.int("daily_quota", range: Int64(MailSettings.quotaRange.lowerBound)...Int64(MailSettings.quotaRange.upperBound))
            try body.finish()
            try await settings.setQuota(limit.map(Int.init), by: try context.user())
            return JSONResponse.make(Present.quota(try await settings.quota(for: try context.user())))
        }
        admin.post("test") { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let to = body.string("to", required: true, maxLength: 254)
            let senderID = body.int("sender_id")
            let from = body.string("from", maxLength: 254)
            try body.finish()
            let sender = try await settings.testSender(id: senderID, address: from)
            return JSONResponse.make(try await settings.sendTest(from: sender, to: to!, by: try context.user()))
        }
    }
}
