/// Something a recipient (or a machine acting for them) did with a message Herald sent:
/// what tracking, unsubscribe, bounce and reply handling record, and what trigger actions
/// react to.
public struct EngagementEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        case opened, clicked, bounced, unsubscribed, replied, complained
    }

    public var kind: Kind
    /// The `mail_messages` row the event is about.
    public var messageID: Int64
    public var massEmailID: Int64
    /// 0 for the mass email itself, k for its k-th follow-up.
    public var step: Int
    public var recordID: Int64
    public var address: String
    /// When it happened, in seconds since 1970.
    public var at: Int64
    /// Whether a machine did it (a privacy proxy, a link scanner, a prefetch); see the
    /// classification rules where events are recorded.
    public var isMachine: Bool

    public init(kind: Kind, messageID: Int64, massEmailID: Int64, step: Int, recordID: Int64, address: String,
                at: Int64, isMachine: Bool = false) {
        self.kind = kind
        self.messageID = messageID
        self.massEmailID = massEmailID
        self.step = step
        self.recordID = recordID
        self.address = address
        self.at = at
        self.isMachine = isMachine
    }
}
