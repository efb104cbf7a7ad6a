import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore
import Mail

/// `/api/v1/settings/transport`: where Herald's mail goes, for admins. The URL is shown
/// redacted and never logged; `--transport` on the command line wins over it.
struct TransportSettingsAPI {
    let store: Store
    let delivery: Delivery
    let mail: MailTesting

    func register(on api: RouterGroup<AppRequestContext>) {
        let admin = api.group("settings/transport").add(middleware: RequireAdminMiddleware())
        admin.get { _, _ in
            JSONResponse.make(try await TransportSettings(delivery: delivery, mail: mail).current())
        }
        admin.put { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let url = body.string("url", required: true, maxLength: 2000)
            try body.finish()
            try await TransportSettings(delivery: delivery, mail: mail).save(url!, in: store)
            return JSONResponse.make(try await TransportSettings(delivery: delivery, mail: mail).current())
        }
        let quota = api.group("settings/quota").add(middleware: RequireAdminMiddleware())
        quota.get { _, _ in try await TransportSettingsAPI.quota(store) }
        quota.put { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let limit = body.int("daily_quota", range: 1...1_000_000_000)
            try body.finish()
            try await store.settings.setDailyQuota(limit.map(Int.init))
            return try await TransportSettingsAPI.quota(store)
        }
        admin.post("test") { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let to = body.string("to", required: true, maxLength: 254)
            let senderID = body.int("sender_id")
            let from = body.string("from", maxLength: 254)
            try body.finish()
            let sender = try await TransportSettings(delivery: delivery, mail: mail).testSender(id: senderID, address: from)
            return JSONResponse.make(try await mail.send(TransportSettings.testMessage(), from: sender, to: to!, by: try context.user()))
        }
    }
}

extension TransportSettingsAPI {
    static func quota(_ store: Store) async throws -> Response {
        JSONResponse.make(JSONValue.object([
            "daily_quota": try await store.settings.dailyQuota().map { .number(Double($0)) } ?? .null,
            "used_today": .number(Double(try await store.quota.used(day: try await store.settings.today()))),
            "time_zone": .string(try await store.settings.timeZone().identifier),
        ]))
    }
}

/// Reading and saving the transport URL, for the API and the settings page alike.
struct TransportSettings {
    let delivery: Delivery
    let mail: MailTesting

    /// `{url (redacted), origin, editable}`.
    func current() async throws -> JSONValue {
        let (url, origin) = try await mail.configuredTransport()
        return .object(["url": .string(url.description), "origin": .string(origin.rawValue),
                        "editable": .bool(delivery.transports.override == nil)])
    }

    /// Checks and saves `url` (empty: back to the outbox), then makes the next send use it.
    func save(_ url: String, in store: Store) async throws {
        if delivery.transports.override != nil {
            throw HeraldError.conflict("the transport is set on the command line (--transport or HERALD_TRANSPORT), which wins over this setting; change it there")
        }
        let trimmed = url.trimmedWhitespace
        if !trimmed.isEmpty {
            do {
                _ = try TransportURL(trimmed)
            } catch {
                throw HeraldError.invalid(field: "url", error.message)
            }
        }
        try await store.settings.set(TransportSource.settingsKey, to: trimmed)
        await delivery.transports.reload()
    }

    /// The sender of a transport test: a saved sender, or a bare address.
    func testSender(id: Int64?, address: String?) async throws -> Sender {
        if let address, !address.trimmedWhitespace.isEmpty, id == nil {
            let from = address.trimmedWhitespace
            guard EmailAddress.isValid(from) else { throw HeraldError.invalid(field: "from", "'\(from)' is not a valid email address") }
            return Sender(id: 0, email: from, name: "", replyTo: nil, createdAt: 0)
        }
        return try await mail.sender(id, required: true)!
    }

    static func testMessage() -> RenderedMail {
        let text = "This is a test message from Herald, sent from the Mail delivery settings to check the mail transport."
        return RenderedMail(subject: "Herald test message", html: "<p>\(text)</p>", text: text)
    }
}
