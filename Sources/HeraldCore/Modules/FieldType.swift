/// The types a field can have (SPEC §1). The raw value is the name used in the API.
public enum FieldType: String, Sendable, Codable, CaseIterable, Hashable {
    case text
    case longText = "long_text"
    case email
    case phone
    case number
    case currency
    case boolean
    case date
    case datetime
    case picklist
    case lookup
    case user
    /// An IANA time zone (`Europe/Berlin`), chosen from a list: where mass emails sent "at
    /// 09:00 in each recipient's time zone" take the zone from.
    case timeZone = "time_zone"

    /// The longest value a field of this type holds, in characters, where that applies.
    public var maxLength: Int? {
        switch self {
        case .text: 255
        case .longText: 32_000
        case .email: 254
        case .phone: 40
        case .picklist: 100
        case .timeZone: 64
        default: nil
        }
    }

    /// Whether the value is stored as text (and so can be searched and matched with `contains`).
    public var isTextual: Bool {
        switch self {
        case .text, .longText, .email, .phone, .picklist, .timeZone: true
        default: false
        }
    }

    /// Whether values are ordered, so `greater_than`, `less_than` and `between` apply.
    public var isOrdered: Bool {
        switch self {
        case .number, .currency, .date, .datetime: true
        default: false
        }
    }

    /// Whether the value is a point in time or a calendar day.
    public var isTemporal: Bool { self == .date || self == .datetime }

    /// A label for pickers and error messages.
    public var label: String {
        switch self {
        case .text: "Text"
        case .longText: "Long text"
        case .email: "Email"
        case .phone: "Phone"
        case .number: "Number"
        case .currency: "Currency"
        case .boolean: "Boolean"
        case .date: "Date"
        case .datetime: "Date and time"
        case .picklist: "Picklist"
        case .lookup: "Lookup"
        case .user: "User"
        case .timeZone: "Time zone"
        }
    }
}
