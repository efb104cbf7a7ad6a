import Foundation

/// A typed value of a field. An empty field is `nil`, never an empty string.
public enum FieldValue: Sendable, Hashable {
    /// Text, long text, email, phone and picklist values.
    case text(String)
    case number(Double)
    /// A currency amount in hundredths (cents), so that sums are exact.
    case currency(Int64)
    case bool(Bool)
    case date(LocalDate)
    /// An instant, in seconds since 1970 UTC.
    case datetime(Int64)
    /// The id of a record (lookup) or of a user (user fields, the owner).
    case reference(Int64)

    /// The value as the JSON API returns it.
    public var json: JSONValue {
        switch self {
        case .text(let s): .string(s)
        case .number(let d): .number(d)
        case .currency(let c): .number(Double(c) / 100)
        case .bool(let b): .bool(b)
        case .date(let d): .string(d.description)
        case .datetime(let s): .string(ISODateTime.format(epochSeconds: s))
        case .reference(let id): .number(Double(id))
        }
    }

    /// The value as a user types it into a form or a CSV cell; parsing it back gives the same value.
    public var text: String {
        switch self {
        case .text(let s): s
        case .number(let d): FieldValue.format(number: d)
        case .currency(let c): FieldValue.format(cents: c)
        case .bool(let b): b ? "true" : "false"
        case .date(let d): d.description
        case .datetime(let s): ISODateTime.format(epochSeconds: s)
        case .reference(let id): String(id)
        }
    }

    /// A number as Herald writes it: whole numbers without ".0" (`25`, not `25.0`).
    public static func format(number d: Double) -> String {
        if d.rounded() == d, abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    static func format(cents c: Int64) -> String {
        let sign = c < 0 ? "-" : ""
        let m = c.magnitude
        let frac = m % 100
        return "\(sign)\(m / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}

/// What a user sent for one field: JSON from the API, or text from a form or a CSV cell.
public enum FieldInput: Sendable, Hashable {
    case json(JSONValue)
    case text(String)
}

extension StringProtocol {
    /// The text without leading and trailing white space and line breaks. Pure Swift: the
    /// Foundation equivalent dominated the time of a large CSV import.
    public var trimmedWhitespace: String {
        let text = String(self)
        // Ends that are ASCII and not white space (most values) leave nothing to trim, and
        // bytes tell so without forming the first and last characters.
        if let head = text.utf8.first, let tail = text.utf8.last, head > 0x20, head < 0x80, tail > 0x20, tail < 0x80 { return text }
        guard let first = text.first, let last = text.last, first.isWhitespace || last.isWhitespace else { return text }
        var view = text[...]
        while let c = view.first, c.isWhitespace { view.removeFirst() }
        while let c = view.last, c.isWhitespace { view.removeLast() }
        return String(view)
    }
}
