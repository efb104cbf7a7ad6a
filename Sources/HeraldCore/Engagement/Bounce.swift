/// A report that a message did not reach its recipient, or that the recipient complained:
/// from the SMTP reply at send time, a delivery status notification, or a provider's webhook.
public struct Bounce: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        /// For good (a 5.x.x status): the message is bounced; the address is suppressed at
        /// once when the reason is about the address (user unknown, host unknown, moved,
        /// suspended), else counted like a soft bounce.
        case hard
        /// For now (a 4.x.x status, a delay), or a full mailbox: counted; repeated ones
        /// suppress the address.
        case soft
        /// The receiver refused us, not the address (a block list, a spam filter, a policy,
        /// SPF/DKIM/DMARC): counted per mass email with the likely fix, never suppressing
        /// anyone and firing no "bounced" action, since the address is good.
        case refused
        /// The recipient marked it as spam (an ARF report or a provider's feedback loop): the
        /// address is suppressed.
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
    /// Why it failed, a stable name (`user_unknown`, `mailbox_full`, `blocked`, …; see the
    /// Mail library's `BounceReason`); nil for complaints, deliveries and bounces recorded
    /// before reasons were read.
    public var reason: String?
    /// `smtp` (at send time), `dsn` (the inbound listener), or the provider (`ses`, `postmark`, `sendgrid`, `mailgun`).
    public var source: String
    /// Seconds since 1970.
    public var receivedAt: Int64

    public init(id: Int64, messageID: Int64?, massEmailID: Int64?, address: String, kind: Kind, status: String?,
                action: String?, diagnostic: String?, reason: String? = nil, source: String, receivedAt: Int64) {
        self.id = id
        self.messageID = messageID
        self.massEmailID = massEmailID
        self.address = address
        self.kind = kind
        self.status = status
        self.action = action
        self.diagnostic = diagnostic
        self.reason = reason
        self.source = source
        self.receivedAt = receivedAt
    }

    /// What the address is put on the suppression list for, when a bounce says so.
    public enum Suppression: String, Sendable, Hashable {
        /// At once: the address itself is bad.
        case now
        /// When the soft bounces (this one among them) reach the threshold.
        case atThreshold
        /// Never: the bounce says nothing about the address.
        case never
    }

    /// What a suppression a bounce caused says: the reason first (`user unknown — dsn: 5.1.1 …`),
    /// so that the suppression list tells which reason put the address there.
    public static func suppressionDetail(reason: String?, source: String, text: String) -> String {
        (reason.map { $0.replacingOccurrences(of: "_", with: " ") + " — " } ?? "") + source + ": " + text
    }

    /// Severity alone: hard for a 5.x.x status, soft for 4.x.x; without a status, what the
    /// action says (`delayed` is soft, anything else that failed is hard). The reason then
    /// refines it (see `BouncePolicy` in HeraldDelivery).
    public static func kind(status: String?, action: String?) -> Kind {
        switch status?.first {
        case "5": return .hard
        case "4": return .soft
        default: return action?.lowercased() == "delayed" ? .soft : .hard
        }
    }
}
