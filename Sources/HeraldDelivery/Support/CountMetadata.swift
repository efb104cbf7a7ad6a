import Logging

extension Logger.Metadata {
    /// Counts by reason as log metadata under the reasons' API names (`opted_out=1`), the
    /// words a user finds in the API and the README, rather than Swift's description of a
    /// dictionary (`[HeraldCore.SkipReason.optedOut: 1]`). Reasons with no count are left out;
    /// `prefix` goes before each name.
    static func counts<Reason: RawRepresentable>(_ counts: [Reason: Int], prefix: String = "") -> Logger.Metadata
    where Reason.RawValue == String {
        var metadata: Logger.Metadata = [:]
        for (reason, count) in counts where count > 0 { metadata[prefix + reason.rawValue] = "\(count)" }
        return metadata
    }
}
