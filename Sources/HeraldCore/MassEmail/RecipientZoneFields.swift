import Foundation

/// The fields of a module a recipient's time zone is read from: its first time-zone field,
/// and its country field (`country`, or one whose API name ends in `_country`, such as
/// `mailing_country`), either of which may be missing.
public struct RecipientZoneFields: Sendable, Hashable {
    public var zone: Field?
    public var country: Field?

    public init(_ module: Module) {
        zone = module.fields.first { $0.type == .timeZone }
        let countries = module.fields.filter { $0.type.isTextual && $0.type != .timeZone }
        country = countries.first { $0.apiName == "country" } ?? countries.first { $0.apiName.hasSuffix("_country") }
    }

    /// "the Time Zone field, else the Mailing Country field, else the organisation's zone".
    public var summary: String {
        let parts = [zone.map { "the \($0.label) field" }, country.map { "the country in the \($0.label) field" }].compactMap { $0 }
        return (parts + ["the organisation's time zone"]).joined(separator: ", else ")
    }
}
