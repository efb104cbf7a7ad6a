/// A report that a message did not reach its recipient, or that the recipient complained:
/// from the SMTP reply at send time, a delivery status notification, or a provider's webhook.
public struct Bounce: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        /// For good (a 5.x.x status): the message is bounced and the address suppressed.
        case hard
        /// For now (a 4.x.x status, a delay): counted; repeated ones suppress the address.
        case soft
        /// The recipient marked it as spam (a provider's feedback loop): the address is suppressed.
        case complaint
        /// A provider confirms delivery: kept, changes nothing.
        case delivery
    }

    public var id: Int64
    /// The `mail_messages` row, when the report could be matched to one.
    public var messageID: Int64?
    public var massEmailID: Int64?
    /// The recipient's address, lower case.
    public var address: String
    public var kind: Kind
    /// The enhanced status code (`5.1.1`), when the report gives one.
    public var status: String?
    /// RFC 3464 action (`failed`, `delayed`) or the provider's event name.
    public var action: String?
    public var diagnostic: String?
    /// `smtp` (at send time), `dsn` (the inbound listener), or the provider (`ses`, `postmark`, `sendgrid`, `mailgun`).
    public var source: String
    /// Seconds since 1970.
    public var receivedAt: Int64

    public init(id: Int64, messageID: Int64?, massEmailID: Int64?, address: String, kind: Kind, status: String?,
                action: String?, diagnostic: String?, source: String, receivedAt: Int64) {
        self.id = id
        self.messageID = messageID
        self.massEmailID = massEmailID
        self.address = address
        self.kind = kind
        self.status = status
        self.action = action
        self.diagnostic = diagnostic
        self.source = source
        self.receivedAt = receivedAt
    }

    /// Hard for a 5.x.x status, soft for 4.x.x; without a status, what the action says
    /// (`delayed` is soft, anything else that failed is hard).
    public static func kind(status: String?, action: String?) -> Kind {
        switch status?.first {
        case "5": return .hard
        case "4": return .soft
        default: return action?.lowercased() == "delayed" ? .soft : .hard
        }
    }
}
