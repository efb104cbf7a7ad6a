/// Who a message is from and for at the SMTP level (RFC 5321 §2.3.1), apart from its headers.
///
/// Herald puts a VERP return path here so that bounces name the recipient:
/// ```swift
/// let envelope = try Envelope(returnPath: "bounce+\(token)@example.com", recipients: ["ann@example.org"])
/// ```
public struct Envelope: Sendable, Hashable {
    /// The MAIL FROM reverse-path; empty for the null sender `<>` (bounces, RFC 5321 §4.5.5).
    public let returnPath: String
    /// The RCPT TO forward-paths, in order; results come back in the same order.
    public let recipients: [String]

    /// Checks every address: no angle brackets, spaces, control characters, and an `@`.
    public init(returnPath: String, recipients: [String]) throws(MailError) {
        if !returnPath.isEmpty { try Self.validate(returnPath, role: "returnPath") }
        guard !recipients.isEmpty else {
            throw MailError(.invalidAddress, "envelope: at least one recipient is needed")
        }
        for recipient in recipients { try Self.validate(recipient, role: "recipient") }
        self.returnPath = returnPath
        self.recipients = recipients
    }

    /// Whether any address needs RFC 6531 SMTPUTF8.
    public var needsSMTPUTF8: Bool {
        !returnPath.utf8.allSatisfy { $0 < 0x80 } || recipients.contains { !$0.utf8.allSatisfy { $0 < 0x80 } }
    }

    static func validate(_ address: String, role: String) throws(MailError) {
        // On bytes, the same test as on scalars (a non-ASCII scalar's bytes are all 0x80 and
        // above): it runs for every message's sender and recipient.
        let utf8 = address.utf8
        let bad = utf8.contains {
            $0 <= 32 || $0 == 127 || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
        }
        guard !bad, utf8.count <= 254, let at = utf8.lastIndex(of: UInt8(ascii: "@")),
              at != utf8.startIndex, utf8.index(after: at) != utf8.endIndex
        else {
            throw MailError(.invalidAddress, "envelope.\(role): '\(address.prefix(80))' is not a valid address")
        }
    }
}

/// One message handed to a ``Transport``: the caller's number for it, its envelope and its
/// RFC 5322 bytes.
public struct OutgoingMessage: Sendable {
    /// The caller's number for the message, handed back with its result
    /// (``Transport/send(_:onResult:)``), so that a result never depends on a position.
    public var id: Int64
    public var envelope: Envelope
    public var message: [UInt8]

    public init(id: Int64 = 0, envelope: Envelope, message: [UInt8]) {
        self.id = id
        self.envelope = envelope
        self.message = message
    }
}
