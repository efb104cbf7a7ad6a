import Foundation

/// Turns user input into typed field values, with a reason when it cannot.
public enum FieldValueParser {
    /// The largest magnitude a number field holds exactly enough to be useful.
    public static let numberLimit = 1e15
    /// The largest currency amount, in whole units.
    public static let currencyLimit: Int64 = 10_000_000_000_000

    /// Parses `input` for `field`. Returns `.success(nil)` for an empty value (null or blank text).
    public static func parse(_ input: FieldInput, for field: Field) -> Result<FieldValue?, Problem> {
        func fail(_ reason: String) -> Result<FieldValue?, Problem> { .failure(Problem(field: field.apiName, reason: reason)) }
        let text: String
        switch input {
        case .json(.null): return .success(nil)
        case .json(.string(let s)): text = s
        case .text(let s): text = s
        case .json(.number(let d)):
            switch field.type {
            case .number:
                guard d.isFinite, abs(d) < numberLimit else { return fail("must be a number between -10^15 and 10^15") }
                return .success(.number(d))
            case .currency: return currency(fromText: String(d), field: field)
            case .lookup, .user:
                guard d.rounded() == d, d > 0, d < 9e15 else { return fail("must be the id of a \(field.type == .user ? "user" : "record")") }
                return .success(.reference(Int64(d)))
            default: return fail("must be \(expectation(field)), not a number")
            }
        case .json(.bool(let b)):
            guard field.type == .boolean else { return fail("must be \(expectation(field)), not a boolean") }
            return .success(.bool(b))
        case .json(let other):
            return fail("must be \(expectation(field)), not \(other.typeName)")
        }
        return parse(text: text, for: field)
    }

    static func parse(text raw: String, for field: Field) -> Result<FieldValue?, Problem> {
        func fail(_ reason: String) -> Result<FieldValue?, Problem> { .failure(Problem(field: field.apiName, reason: reason)) }
        // Long text keeps its inner line breaks and spaces; everything else is trimmed.
        let trimmed = raw.trimmedWhitespace
        if trimmed.isEmpty { return .success(nil) }
        let text = field.type == .longText ? raw : trimmed
        // Counting characters walks graphemes; a text no longer in bytes than the limit is within it.
        if let max = field.type.maxLength, text.utf8.count > max, text.count > max {
            return fail("is \(text.count) characters long; the limit is \(max)")
        }
        // On the string's own bytes where it has them (a native string does): a million-row
        // import checks a few million values.
        if text.utf8.withContiguousStorageIfAvailable({ $0.contains(0) }) ?? text.utf8.contains(0) {
            return fail("must not contain NUL characters")
        }
        switch field.type {
        case .text, .longText:
            if field.type == .text, Self.hasLineBreak(text) { return fail("must be a single line") }
            return .success(.text(text))
        case .email:
            guard EmailAddress.isValid(text) else { return fail("'\(text)' is not a valid email address") }
            return .success(.text(text))
        case .phone:
            guard text.utf8.allSatisfy({ FieldValueParser.phoneBytes.contains($0) }), text.contains(where: \.isNumber) else {
                return fail("'\(text)' is not a phone number (digits, spaces and + - ( ) . / x # * only)")
            }
            return .success(.text(text))
        case .number:
            guard let d = Double(text), d.isFinite, !text.lowercased().contains("n") else {
                return fail("'\(text)' is not a number")
            }
            guard abs(d) < numberLimit else { return fail("must be between -10^15 and 10^15") }
            return .success(.number(d))
        case .currency:
            return currency(fromText: text, field: field)
        case .boolean:
            switch text.lowercased() {
            case "true", "yes", "1", "on", "y": return .success(.bool(true))
            case "false", "no", "0", "off", "n": return .success(.bool(false))
            default: return fail("'\(text)' is not a boolean (true or false)")
            }
        case .date:
            guard let d = LocalDate(iso: text) else { return fail("'\(text)' is not a date (YYYY-MM-DD)") }
            return .success(.date(d))
        case .datetime:
            guard let d = ISODateTime.parse(text) else {
                return fail("'\(text)' is not a date and time (ISO 8601 with a zone, e.g. 2026-11-27T09:30:00Z)")
            }
            return .success(.datetime(Int64(d.timeIntervalSince1970.rounded(.down))))
        case .picklist:
            // Most files spell the values as the picklist does; the case-insensitive search
            // (Foundation's, slow in a million-row import) is for the rest.
            guard let canonical = field.picklistValues.contains(text) ? text
                    : field.picklistValues.first(where: { $0.caseInsensitiveCompare(text) == .orderedSame }) else {
                return fail("'\(text)' is not one of: \(field.picklistValues.joined(separator: ", "))")
            }
            return .success(.text(canonical))
        case .timeZone:
            guard let name = TimeZoneNames.canonical(text) else {
                return fail("'\(text)' is not a time zone (an IANA name such as Europe/Berlin or America/New_York)")
            }
            return .success(.text(name))
        case .lookup, .user:
            guard let id = Int64(text), id > 0 else {
                return fail("'\(text)' is not the id of a \(field.type == .user ? "user" : "record")")
            }
            return .success(.reference(id))
        }
    }

    static let phoneBytes = Set("0123456789+-() ./x#*".utf8)

    /// Whether `text` breaks a line: by bytes for ASCII text, by `Character.isNewline` otherwise.
    static func hasLineBreak(_ text: String) -> Bool {
        func scan(_ bytes: some Sequence<UInt8>) -> Bool? {
            for byte in bytes {
                if byte >= 0x80 { return nil }
                if byte >= 0x0A && byte <= 0x0D { return true }
            }
            return false
        }
        let ascii = text.utf8.withContiguousStorageIfAvailable(scan) ?? scan(text.utf8)
        return ascii ?? text.contains(where: \.isNewline)
    }

    static func currency(fromText text: String, field: Field) -> Result<FieldValue?, Problem> {
        let fail = Result<FieldValue?, Problem>.failure(
            Problem(field: field.apiName, reason: "'\(text)' is not an amount (digits with at most two decimals)"))
        var s = Substring(text)
        var negative = false
        if s.hasPrefix("-") { negative = true; s = s.dropFirst() }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }) else { return fail }
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        // Doubles printed by JSON may carry a trailing ".0"; extra zeros are harmless, other digits are not.
        while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
        guard fraction.count <= 2, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return fail }
        guard parts[0].count <= 14, let whole = Int64(parts[0]), whole < currencyLimit else {
            return .failure(Problem(field: field.apiName, reason: "must be less than 10^13"))
        }
        let cents = whole * 100 + Int64(fraction.padding(toLength: 2, withPad: "0", startingAt: 0))!
        return .success(.currency(negative ? -cents : cents))
    }

    static func expectation(_ field: Field) -> String {
        switch field.type {
        case .text, .longText: "text"
        case .email: "an email address"
        case .phone: "a phone number"
        case .number: "a number"
        case .currency: "an amount"
        case .boolean: "true or false"
        case .date: "a date (YYYY-MM-DD)"
        case .datetime: "a date and time (ISO 8601)"
        case .picklist: "one of: \(field.picklistValues.joined(separator: ", "))"
        case .lookup: "the id of a record"
        case .user: "the id of a user"
        case .timeZone: "a time zone (an IANA name such as Europe/Berlin)"
        }
    }
}
