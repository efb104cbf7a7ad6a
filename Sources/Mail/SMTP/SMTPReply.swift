/// A complete SMTP reply: a three-digit code and one or more text lines (RFC 5321 §4.2).
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    /// The three-digit reply code, e.g. 250.
    public var code: Int
    /// The RFC 3463 enhanced status code from the first line, when the server sent one.
    public var enhancedCode: EnhancedStatusCode?
    /// The text of each line, after the code, the separator and the enhanced code.
    public var lines: [String]

    public init(code: Int, enhancedCode: EnhancedStatusCode? = nil, lines: [String]) {
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines
    }

    /// All lines joined by a space.
    public var text: String { lines.joined(separator: " ") }
    /// 2yz: the command was carried out (RFC 5321 §4.2.1).
    public var isPositiveCompletion: Bool { (200..<300).contains(code) }
    /// 3yz: the server waits for more (354 after DATA, 334 during AUTH).
    public var isPositiveIntermediate: Bool { (300..<400).contains(code) }
    /// 4yz: a temporary failure; the same command may succeed later.
    public var isTransientFailure: Bool { (400..<500).contains(code) }
    /// 5yz: a permanent failure.
    public var isPermanentFailure: Bool { code >= 500 }

    public var description: String {
        var text = String(code)
        if let enhancedCode { text += " \(enhancedCode)" }
        if !lines.isEmpty { text += " " + self.text }
        return text
    }
}

/// An RFC 3463 enhanced mail system status code, `class.subject.detail`, e.g. `5.1.1`.
public struct EnhancedStatusCode: Sendable, Hashable, CustomStringConvertible {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    public var statusClass: Int
    public var subject: Int
    public var detail: Int

    public init(statusClass: Int, subject: Int, detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Parses `2.1.5`; RFC 3463 §2 limits subject and detail to 1–3 digits.
    public init?(_ text: Substring) {
        self.init(ArraySlice(text.utf8))
    }

    /// Parses `2.1.5` from bytes: one digit, then 1–3 digits twice, separated by dots.
    init?(_ bytes: ArraySlice<UInt8>) {
        var parts = (0, 0, 0)
        var part = 0, digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, part < 2 else { return nil }
                part += 1
                digits = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < (part == 0 ? 1 : 3) else { return nil }
            let digit = Int(byte - UInt8(ascii: "0"))
            switch part {
            case 0: parts.0 = digit
            case 1: parts.1 = parts.1 * 10 + digit
            default: parts.2 = parts.2 * 10 + digit
            }
            digits += 1
        }
        guard part == 2, digits > 0, [2, 4, 5].contains(parts.0) else { return nil }
        self.init(statusClass: parts.0, subject: parts.1, detail: parts.2)
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }
}
