import HeraldCore

extension SettingsStore {
    public static let onlyAuthenticatedDomainsKey = "deliverability.only_authenticated_domains"
    public static let complaintThresholdKey = "deliverability.complaint_threshold"

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
        guard percent > 0, percent <= 100 else {
            throw HeraldError.invalid(field: "complaint_threshold", "must be a percentage above 0 and at most 100")
        }
        try await set(SettingsStore.complaintThresholdKey, to: String(percent))
    }
}
