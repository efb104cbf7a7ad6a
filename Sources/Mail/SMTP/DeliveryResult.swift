/// What happened to each recipient of one message.
public struct DeliveryResult: Sendable, Hashable {
    /// One entry per envelope recipient, in envelope order.
    public var recipients: [RecipientResult]

    /// True when the connection failed after the message data was sent but before the
    /// server's reply: it may or may not have been delivered (RFC 1047). Retrying risks
    /// a duplicate; not retrying risks a loss.
    public var deliveryUncertain: Bool

    public init(recipients: [RecipientResult], deliveryUncertain: Bool = false) {
        self.recipients = recipients
        self.deliveryUncertain = deliveryUncertain
    }

    /// Whether every recipient was accepted.
    public var allAccepted: Bool { recipients.allSatisfy { $0.status == .accepted } }
    /// The recipients with the given status.
    public func recipients(_ status: RecipientResult.Status) -> [RecipientResult] {
        recipients.filter { $0.status == status }
    }
}

/// The outcome for one recipient.
public struct RecipientResult: Sendable, Hashable, CustomStringConvertible {
    public enum Status: String, Sendable, Hashable {
        /// The server took responsibility for delivery (RFC 5321 §4.1.1.4, 250 after the data).
        case accepted
        /// A 4yz reply, a lost connection or a timeout: try again later.
        case transientFailure
        /// A 5yz reply: do not try again (Herald counts it as a hard bounce).
        case permanentFailure
    }

    public var recipient: String
    public var status: Status
    /// The reply that decided this recipient's fate; nil when it was decided locally.
    public var reply: SMTPReply?
    /// The local cause (timeout, lost connection, …) when there was no decisive reply.
    public var error: MailError?

    public init(recipient: String, status: Status, reply: SMTPReply? = nil, error: MailError? = nil) {
        self.recipient = recipient
        self.status = status
        self.reply = reply
        self.error = error
    }

    /// The reply code, if a reply decided the outcome.
    public var code: Int? { reply?.code }
    /// The enhanced status code, if the server sent one.
    public var enhancedCode: EnhancedStatusCode? { reply?.enhancedCode }
    /// The server's text, or the local error's message.
    public var text: String { reply?.text ?? error?.message ?? "" }

    public var description: String {
        "\(recipient): \(status.rawValue)" + (reply.map { " \($0)" } ?? "") + (error.map { " (\($0.message))" } ?? "")
    }
}
