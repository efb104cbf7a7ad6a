import HeraldCore
import HeraldDelivery
import HeraldStore

/// Reading and saving bounce and reply handling, for the API and the settings page alike:
/// the bounce domain, the soft-bounce threshold, reply forwarding and the webhooks' secrets.
/// Secrets are never shown back: only whether one is set and its last four characters.
struct BounceSettings {
    let store: Store
    let delivery: Delivery

    /// The providers whose webhooks Herald reads, by their path segment.
    static let providers = ["ses", "postmark", "sendgrid", "mailgun"]

    /// The changes an admin asks for; nil leaves a setting as it is.
    struct Changes {
        var domain: String?
        var softBounceCount: Int?
        var softBounceDays: Int?
        var forwardReplies: Bool?
        /// Provider → new secret ("" removes it).
        var webhookSecrets: [String: String] = [:]
    }

    func current() async throws -> JSONValue {
        let override = delivery.returnPaths.override
        let domain = try await delivery.returnPaths.domain()
        let threshold = try await store.settings.softBounceThreshold()
        var webhooks: [String: JSONValue] = [:]
        for provider in Self.providers {
            let secret = try await store.settings.value(SettingsStore.webhookSecretKey(provider)) ?? ""
            webhooks[provider] = .object([
                "configured": .bool(!secret.isEmpty),
                "secret_hint": secret.isEmpty ? .null : .string("…" + secret.suffix(4)),
                "path": .string("/webhooks/\(provider)"),
            ])
        }
        return .object([
            "domain": domain.map(JSONValue.string) ?? .null,
            "domain_origin": .string(override != nil ? "command line" : domain != nil ? "settings" : "none"),
            "editable": .bool(override == nil),
            "soft_bounce_count": .number(Double(threshold.count)),
            "soft_bounce_days": .number(Double(threshold.days)),
            "forward_replies": .bool(try await store.settings.forwardsReplies()),
            "webhooks": .object(webhooks),
        ])
    }

    /// Checks every change first and saves them only when all are right, so that a refused
    /// request leaves nothing half-saved. `earlier` are problems the caller found reading the
    /// request: they are reported with these, all at once.
    func save(_ changes: Changes, earlier: [Problem] = []) async throws {
        var problems = ProblemList()
        problems.add(contentsOf: earlier)
        if let domain = changes.domain?.trimmedWhitespace.lowercased() {
            if delivery.returnPaths.override != nil {
                throw HeraldError.conflict("the bounce domain is set on the command line (--bounce-domain or HERALD_BOUNCE_DOMAIN), which wins over this setting; change it there")
            }
            if !domain.isEmpty, let problem = ReturnPaths.problem(withDomain: domain) { problems.add("domain", problem) }
        }
        if let count = changes.softBounceCount, !(1...100).contains(count) {
            problems.add("soft_bounce_count", "\(count) is not from 1 to 100")
        }
        if let days = changes.softBounceDays, !(1...365).contains(days) {
            problems.add("soft_bounce_days", "\(days) is not from 1 to 365 days")
        }
        for (provider, secret) in changes.webhookSecrets {
            guard Self.providers.contains(provider) else {
                problems.add("webhook_secrets.\(provider)", "no such provider; use one of \(Self.providers.joined(separator: ", "))")
                continue
            }
            if !secret.isEmpty && (secret.utf8.count < 16 || secret.utf8.count > 200 || secret.contains(where: { $0 == " " || $0 == ":" || $0 == "@" || $0 == "/" })) {
                problems.add("webhook_secrets.\(provider)", "a secret is 16 to 200 characters with no spaces, ':', '@' or '/' (it goes into a URL)")
            }
        }
        try problems.check()
        let current = try await store.settings.softBounceThreshold()
        if let domain = changes.domain?.trimmedWhitespace.lowercased() { try await store.settings.set(SettingsStore.bounceDomainKey, to: domain) }
        if changes.softBounceCount != nil || changes.softBounceDays != nil {
            try await store.settings.setSoftBounceThreshold(SoftBounceThreshold(count: changes.softBounceCount ?? current.count,
                                                                                days: changes.softBounceDays ?? current.days))
        }
        if let forward = changes.forwardReplies { try await store.settings.set(SettingsStore.forwardRepliesKey, to: forward ? "1" : "0") }
        for (provider, secret) in changes.webhookSecrets {
            try await store.settings.set(SettingsStore.webhookSecretKey(provider), to: secret)
        }
    }
}
