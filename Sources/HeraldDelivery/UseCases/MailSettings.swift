import Foundation
import HeraldCore
import HeraldStore
import Mail

/// The organisation's mail settings, for the settings pages and the API alike, an admin's
/// to change: where mail goes (the transport URL; `--transport` wins over it), the daily
/// quota, bounce and reply handling (the bounce domain, the soft-bounce threshold, reply
/// forwarding, the webhooks' secrets), and deliverability (only authenticated domains, the
/// complaint and spam thresholds). Every change is checked whole before anything
/// is saved, and a secret is never shown back: only whether one is set and its last four
/// characters.
public struct MailSettings: Sendable {
    let store: Store
    let delivery: Delivery
    let mail: MailTesting

    public init(store: Store, delivery: Delivery) {
        self.store = store
        self.delivery = delivery
        self.mail = MailTesting(store: store, delivery: delivery)
    }

    /// The providers whose webhooks Herald reads, by their path segment.
    public static let providers = ["ses", "postmark", "sendgrid", "mailgun"]
    /// The most messages a daily quota may allow.
    public static let quotaRange = 1...1_000_000_000

    // MARK: The transport

    public struct Transport: Sendable {
        /// Its description is redacted: no password.
        public var url: TransportURL
        public var origin: TransportSource.Origin
        /// False when `--transport` sets it.
        public var editable: Bool
    }

    public func transport(for user: User) async throws -> Transport {
        try user.requireAdmin(toChange: "the mail settings")
        let (url, origin) = try await mail.configuredTransport()
        return Transport(url: url, origin: origin, editable: delivery.transports.override == nil)
    }

    /// Checks and saves `url` (empty: back to the outbox), then makes the next send use it.
    public func saveTransport(_ url: String, by user: User) async throws {
        try user.requireAdmin(toChange: "the mail settings")
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
    public func testSender(id: Int64?, address: String?) async throws -> Sender {
        if let address, !address.trimmedWhitespace.isEmpty, id == nil {
            let from = address.trimmedWhitespace
            guard EmailAddress.isValid(from) else { throw HeraldError.invalid(field: "from", "'\(from)' is not a valid email address") }
            return Sender(id: 0, email: from, name: "", replyTo: nil, createdAt: 0)
        }
        return try await mail.sender(id, required: true)!
    }

    /// Sends the transport test message from `sender` to `to` (held to what every test send is).
    public func sendTest(from sender: Sender, to: String, by user: User) async throws -> JSONValue {
        try user.requireAdmin(toChange: "the mail settings")
        let text = "This is a test message from Herald, sent from the Mail delivery settings to check the mail transport."
        return try await mail.send(RenderedMail(subject: "Herald test message", html: "<p>\(text)</p>", text: text), from: sender, to: to, by: user)
    }

    // MARK: The daily quota

    public struct Quota: Sendable {
        /// Nil: no limit.
        public var limit: Int?
        public var usedToday: Int
        /// The organisation's, in which a day starts and ends.
        public var timeZone: TimeZone
    }

    public func quota(for user: User) async throws -> Quota {
        try user.requireAdmin(toChange: "the mail settings")
        return Quota(limit: try await store.settings.dailyQuota(), usedToday: try await store.quota.used(day: try await store.settings.today()),
                     timeZone: try await store.settings.timeZone())
    }

    /// Nil: no limit.
    public func setQuota(_ limit: Int?, by user: User) async throws {
        try user.requireAdmin(toChange: "the mail settings")
        if let limit, !Self.quotaRange.contains(limit) {
            throw HeraldError.invalid(field: "daily_quota", "\(limit) is not a number of messages from 1 to \(Self.quotaRange.upperBound) (empty for no limit)")
        }
        try await store.settings.setDailyQuota(limit)
    }

    // MARK: Bounces and replies

    public struct Bounces: Sendable {
        public struct Webhook: Sendable {
            public var provider: String
            public var configured: Bool
            /// "…" and the secret's last four characters; nil when none is set.
            public var secretHint: String?
        }

        public var domain: String?
        /// "command line", "settings" or "none".
        public var domainOrigin: String
        /// False when `--bounce-domain` sets the domain.
        public var editable: Bool
        public var softBounce: SoftBounceThreshold
        public var forwardReplies: Bool
        public var webhooks: [Webhook]
    }

    public func bounces(for user: User) async throws -> Bounces {
        try user.requireAdmin(toChange: "the mail settings")
        let override = delivery.returnPaths.override
        let domain = try await delivery.returnPaths.domain()
        var webhooks: [Bounces.Webhook] = []
        for provider in Self.providers {
            let secret = try await store.settings.value(SettingsStore.webhookSecretKey(provider)) ?? ""
            webhooks.append(.init(provider: provider, configured: !secret.isEmpty, secretHint: secret.isEmpty ? nil : "…" + secret.suffix(4)))
        }
        return Bounces(domain: domain, domainOrigin: override != nil ? "command line" : domain != nil ? "settings" : "none",
                       editable: override == nil, softBounce: try await store.settings.softBounceThreshold(),
                       forwardReplies: try await store.settings.forwardsReplies(), webhooks: webhooks)
    }

    /// The changes an admin asks for; nil leaves a setting as it is.
    public struct BounceChanges: Sendable {
        public var domain: String?
        public var softBounceCount: Int?
        public var softBounceDays: Int?
        public var forwardReplies: Bool?
        /// Provider → new secret ("" removes it).
        public var webhookSecrets: [String: String] = [:]

        public init() {}
    }

    /// Checks every change first and saves them only when all are right, so that a refused
    /// request leaves nothing half-saved. `earlier` are problems the caller found reading the
    /// request: they are reported with these, all at once.
    public func saveBounces(_ changes: BounceChanges, earlier: [Problem] = [], by user: User) async throws {
        try user.requireAdmin(toChange: "the mail settings")
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

    // MARK: Deliverability

    public struct Deliverability: Sendable, Equatable {
        /// Mass email only from senders whose domain signs with a verified DKIM key.
        public var onlyAuthenticatedDomains: Bool
        /// The complaint rate (percent) above which a mass email pauses.
        public var complaintThreshold: Double
        /// The SpamAssassin score from which the spam check warns.
        public var spamThreshold: Double
        /// Whether a mass email over the spam threshold is refused, not only warned about.
        public var refuseOverSpamThreshold: Bool
    }

    public func deliverability(for user: User) async throws -> Deliverability {
        try user.requireAdmin(toChange: "the deliverability settings")
        return Deliverability(onlyAuthenticatedDomains: try await store.settings.onlyAuthenticatedDomains(),
                              complaintThreshold: try await store.settings.complaintThreshold(),
                              spamThreshold: try await store.settings.spamThreshold(),
                              refuseOverSpamThreshold: try await store.settings.refuseOverSpamThreshold())
    }

    /// The changes an admin asks for; nil leaves a setting as it is.
    public struct DeliverabilityChanges: Sendable {
        public var onlyAuthenticatedDomains: Bool?
        public var complaintThreshold: Double?
        public var spamThreshold: Double?
        public var refuseOverSpamThreshold: Bool?

        public init() {}
    }

    /// Checks every change first, reporting every problem at once with `earlier` (the
    /// caller's, from reading the request), and saves them only when all are right.
    public func saveDeliverability(_ changes: DeliverabilityChanges, earlier: [Problem] = [], by user: User) async throws {
        try user.requireAdmin(toChange: "the deliverability settings")
        var problems = ProblemList()
        problems.add(contentsOf: earlier)
        func check(_ body: () throws -> Void) throws {
            do { try body() } catch let error as HeraldError where error.kind == .invalid { problems.add(contentsOf: error.problems) }
        }
        if let threshold = changes.complaintThreshold { try check { try SettingsStore.checkComplaintThreshold(threshold) } }
        if let score = changes.spamThreshold { try check { try SettingsStore.checkSpamThreshold(score) } }
        try problems.check()
        if let threshold = changes.complaintThreshold { try await store.settings.setComplaintThreshold(threshold) }
        if let score = changes.spamThreshold { try await store.settings.setSpamThreshold(score) }
        if let only = changes.onlyAuthenticatedDomains { try await store.settings.setOnlyAuthenticatedDomains(only) }
        if let refuse = changes.refuseOverSpamThreshold { try await store.settings.setRefuseOverSpamThreshold(refuse) }
    }
}
