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
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              parts[0].count == 1, let c = Int(parts[0]), [2, 4, 5].contains(c),
              (1...3).contains(parts[1].count), parts[1].allSatisfy(\.isASCIIDigit), let s = Int(parts[1]),
              (1...3).contains(parts[2].count), parts[2].allSatisfy(\.isASCIIDigit), let d = Int(parts[2])
        else { return nil }
        self.init(statusClass: c, subject: s, detail: d)
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }
}

extension Character {
    var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}
