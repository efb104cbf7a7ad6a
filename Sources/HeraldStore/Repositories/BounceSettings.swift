import HeraldCore

/// The settings of bounce and reply handling, set by an admin on the Mail delivery page.
extension SettingsStore {
    /// The domain of VERP return paths (`bounce+TOKEN@domain`) and tracked reply addresses.
    public static let bounceDomainKey = "bounces.domain"
    public static let softBounceCountKey = "bounces.soft_count"
    public static let softBounceDaysKey = "bounces.soft_days"
    /// "1" when replies are forwarded to the sender's reply-to (or address).
    public static let forwardRepliesKey = "replies.forward"

    /// The shared secret a provider's webhook must present (never shown back in full).
    public static func webhookSecretKey(_ provider: String) -> String { "webhooks.\(provider).secret" }

    /// The bounce domain saved on the settings page, nil when none.
    public func bounceDomain() async throws -> String? {
        guard let domain = try await value(SettingsStore.bounceDomainKey), !domain.isEmpty else { return nil }
        return domain
    }

    public func softBounceThreshold() async throws -> SoftBounceThreshold {
        let count = try await value(SettingsStore.softBounceCountKey).flatMap { Int($0) } ?? SoftBounceThreshold.standard.count
        let days = try await value(SettingsStore.softBounceDaysKey).flatMap { Int($0) } ?? SoftBounceThreshold.standard.days
        return SoftBounceThreshold(count: count, days: days)
    }

    public func setSoftBounceThreshold(_ threshold: SoftBounceThreshold) async throws {
        try await set(SettingsStore.softBounceCountKey, to: String(threshold.count))
        try await set(SettingsStore.softBounceDaysKey, to: String(threshold.days))
    }

    public func forwardsReplies() async throws -> Bool {
        try await value(SettingsStore.forwardRepliesKey) == "1"
    }
}
