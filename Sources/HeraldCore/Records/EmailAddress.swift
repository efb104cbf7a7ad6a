import Foundation

/// Email address syntax, checked the way a mail server would accept it.
public enum EmailAddress {
    /// Whether `text` is an address like `local@example.com` (RFC 5321 dot-atom form).
    public static func isValid(_ text: String) -> Bool {
        // On bytes: every character an address may hold is ASCII, and a million-row import
        // checks a million addresses.
        let bytes = text.utf8
        guard bytes.count <= 254, let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return false }
        let local = bytes[..<at]
        let domain = bytes[bytes.index(after: at)...]
        let dot = UInt8(ascii: "."), hyphen = UInt8(ascii: "-")
        guard !local.isEmpty, local.count <= 64, !domain.isEmpty else { return false }
        guard local.allSatisfy({ atext[Int($0)] }), local.first != dot, local.last != dot else { return false }
        var previous: UInt8 = 0
        for byte in local {
            if byte == dot, previous == dot { return false }
            previous = byte
        }
        // Labels: at least two, each 1–63 letters, digits and inner hyphens; the last has a letter.
        var labels = 0, length = 0, first: UInt8 = 0, last: UInt8 = 0, hasLetter = false
        for byte in domain {
            if byte == dot {
                guard length > 0, first != hyphen, last != hyphen else { return false }
                labels += 1
                length = 0
                hasLetter = false
                continue
            }
            guard isLetterDigitHyphen(byte) else { return false }
            if length == 0 { first = byte }
            last = byte
            length += 1
            guard length <= 63 else { return false }
            if byte > 0x40 { hasLetter = true }  // letters are the only bytes above '@' a label may hold
        }
        guard length > 0, first != hyphen, last != hyphen else { return false }
        return labels + 1 >= 2 && hasLetter
    }

    // RFC 5322 §3.2.3 atext, plus the dots of dot-atom, by byte: only ASCII qualifies.
    private static let atext: [Bool] = (0..<256).map { byte in
        let b = UInt8(byte)
        return isLetterDigit(b) || "!#$%&'*+-/=?^_`{|}~.".utf8.contains(b)
    }

    /// The form Herald compares addresses in: trimmed and lowercased.
    public static func normalized(_ text: String) -> String {
        let trimmed = text.trimmedWhitespace
        // Most addresses are lower-case ASCII already; told so by their bytes, they are kept,
        // not copied (a CSV import normalizes every row's).
        if trimmed.utf8.allSatisfy({ $0 < 0x80 && !($0 >= 0x41 && $0 <= 0x5A) }) { return trimmed }
        return trimmed.lowercased()
    }

    private static func isLetterDigitHyphen(_ b: UInt8) -> Bool { isLetterDigit(b) || b == UInt8(ascii: "-") }

    private static func isLetterDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }
}
