import Foundation

/// The IANA time zone names Herald offers in pickers and accepts in time-zone fields.
public enum TimeZoneNames {
    /// Every known zone name, sorted (`Africa/Abidjan` … `Pacific/Wallis`, then `UTC`):
    /// Foundation's list, which keeps some old spellings (`Asia/Calcutta`), and the current
    /// names of ``CountryTimeZones`` (`Asia/Kolkata`), which it leaves out but understands.
    public static let all: [String] = Set(TimeZone.knownTimeZoneIdentifiers + CountryTimeZones.table.map(\.zone))
        .filter { TimeZone(identifier: $0) != nil }.sorted()

    private static let byLowercased: [String: String] = Dictionary(all.map { ($0.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })

    /// `text` spelled as the zone's name (`europe/berlin` → `Europe/Berlin`), or nil when it
    /// names no zone (offsets such as `GMT+2` are not names).
    public static func canonical(_ text: String) -> String? {
        if let name = byLowercased[text.lowercased()] { return name }
        // Another alias Foundation understands (`US/Eastern`), as written.
        return text.contains("/") ? TimeZone(identifier: text).map(\.identifier) : nil
    }
}
