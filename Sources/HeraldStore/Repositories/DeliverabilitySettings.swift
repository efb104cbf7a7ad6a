import HeraldCore

extension SettingsStore {
    public static let onlyAuthenticatedDomainsKey = "deliverability.only_authenticated_domains"
    public static let complaintThresholdKey = "deliverability.complaint_threshold"
    public static let spamThresholdKey = "deliverability.spam_threshold"
    public static let refuseOverSpamThresholdKey = "deliverability.refuse_over_spam_threshold"
    /// SpamAssassin's own line between ham and spam.
    public static let defaultSpamThreshold = 5.0

    /// "Only send from authenticated domains": a mass email whose sender is not signed by a
    /// verified key of its domain is refused.
    public func onlyAuthenticatedDomains() async throws -> Bool {
        try await value(SettingsStore.onlyAuthenticatedDomainsKey) == "1"
    }

    public func setOnlyAuthenticatedDomains(_ on: Bool) async throws {
        try await set(SettingsStore.onlyAuthenticatedDomainsKey, to: on ? "1" : "0")
    }

    /// The share of delivered messages that complaints may reach before a mass email pauses:
    /// 0.3 % by default, Gmail's and Yahoo's line for bulk senders (since February 2024).
    public func complaintThreshold() async throws -> Double {
        try await value(SettingsStore.complaintThresholdKey).flatMap(Double.init) ?? ComplaintRule.defaultThreshold
    }

    public func setComplaintThreshold(_ percent: Double) async throws {
        try Self.checkComplaintThreshold(percent)
        try await set(SettingsStore.complaintThresholdKey, to: String(percent))
    }

    /// Refuses a complaint threshold out of range, before anything is saved.
    public static func checkComplaintThreshold(_ percent: Double) throws {
        guard percent > 0, percent <= 100 else {
            throw HeraldError.invalid(field: "complaint_threshold", "must be a percentage above 0 and at most 100")
        }
    }

    /// Refuses a spam threshold out of range, before anything is saved.
    public static func checkSpamThreshold(_ score: Double) throws {
        guard score.isFinite, score >= 0, score <= 100 else {
            throw HeraldError.invalid(field: "spam_threshold", "must be a SpamAssassin score from 0 to 100 (5.0 is SpamAssassin's own)")
        }
    }

    /// The SpamAssassin score from which the spam check warns (5.0 by default).
    public func spamThreshold() async throws -> Double {
        try await value(SettingsStore.spamThresholdKey).flatMap(Double.init) ?? SettingsStore.defaultSpamThreshold
    }

    public func setSpamThreshold(_ score: Double) async throws {
        try Self.checkSpamThreshold(score)
        try await set(SettingsStore.spamThresholdKey, to: String(score))
    }

    /// "Refuse mass email over the threshold": a mass email is neither sent nor scheduled
    /// while its message scores at or over ``spamThreshold()``.
    public func refuseOverSpamThreshold() async throws -> Bool {
        try await value(SettingsStore.refuseOverSpamThresholdKey) == "1"
    }

    public func setRefuseOverSpamThreshold(_ on: Bool) async throws {
        try await set(SettingsStore.refuseOverSpamThresholdKey, to: on ? "1" : "0")
    }
}
