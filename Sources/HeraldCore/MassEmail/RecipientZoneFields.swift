import Foundation

/// The fields a recipient's time zone is read from: the module's first time-zone field, and
/// its country field (`country`, or one whose API name ends in `_country`, such as
/// `mailing_country`), either of which may be missing. A module that has neither and reaches
/// people through a lookup (a deal's contact) reads them from the record the lookup names.
public struct RecipientZoneFields: Sendable, Hashable {
    public var zone: Field?
    public var country: Field?
    /// Set when the fields are the looked-up record's.
    public var via: Lookup?

    /// The lookup field the fields are read through, and the module it points to.
    public struct Lookup: Sendable, Hashable {
        public var field: Field
        public var target: Module
    }

    /// The fields for a mass email to `module`'s records, reached as `source` says.
    public init(_ module: Module, source: RecipientAddressSource? = nil) {
        (zone, country) = Self.fields(of: module)
        if zone == nil, country == nil, case .lookup(let field, let target, _, _)? = source {
            (zone, country) = Self.fields(of: target)
            if zone != nil || country != nil { via = Lookup(field: field, target: target) }
        }
    }

    private static func fields(of module: Module) -> (zone: Field?, country: Field?) {
        let countries = module.fields.filter { $0.type.isTextual && $0.type != .timeZone }
        return (module.fields.first { $0.type == .timeZone },
                countries.first { $0.apiName == "country" } ?? countries.first { $0.apiName.hasSuffix("_country") })
    }

    /// "the Time Zone field, else the country in the Mailing Country field, else the
    /// organisation's time zone" (of the Contact, through a lookup).
    public var summary: String {
        let of = via.map { " of the \($0.target.singularLabel)" } ?? ""
        let parts = [zone.map { "the \($0.label) field\(of)" }, country.map { "the country in the \($0.label) field\(of)" }].compactMap { $0 }
        return (parts + ["the organisation's time zone"]).joined(separator: ", else ")
    }
}
