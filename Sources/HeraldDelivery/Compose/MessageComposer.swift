import Foundation
import HeraldCore
import Mail

/// Turns a rendered template into the bytes and envelope of one message: the one place
/// where Herald decides a message's headers, for a test send and for a mass email alike.
public struct MessageComposer: Sendable {
    public init() {}

    /// The message from `sender` to `address`.
    ///
    /// - Parameters:
    ///   - messageID: without angle brackets; a mass email passes one that is stable per
    ///     (mass email, step, recipient), so that a retry is recognisably the same message.
    ///   - headers: extra headers (`List-Unsubscribe` and friends come from `listUnsubscribe`).
    ///   - returnPath: the envelope sender (a VERP address, see ``ReturnPaths``); the sender's address when nil.
    ///   - signers: the DKIM keys of the sender's domain (``SendingDomains/signers(for:)``), RSA first.
    /// - Throws: ``MailError`` when an address or header is refused.
    public func compose(
        _ rendered: RenderedMail, from sender: Sender, to address: String, recipientName: String? = nil,
        messageID: String? = nil, date: Date = Date(), inReplyTo: [String] = [],
        listUnsubscribe: MailMessage.ListUnsubscribe? = nil, headers: [(name: String, value: String)] = [],
        returnPath: String? = nil, signers: [DKIMSigner] = []
    ) throws(MailError) -> OutgoingMessage {
        var message = MailMessage(
            from: MailAddress(sender.email, name: sender.name.isEmpty ? nil : sender.name),
            to: [MailAddress(address, name: recipientName.flatMap { $0.isEmpty ? nil : $0 })],
            subject: rendered.subject)
        if let replyTo = sender.replyTo, !replyTo.isEmpty { message.replyTo = [MailAddress(replyTo)] }
        message.date = date
        message.messageID = messageID
        message.inReplyTo = inReplyTo
        message.references = inReplyTo
        message.textBody = rendered.text
        message.htmlBody = rendered.html
        message.listUnsubscribe = listUnsubscribe
        message.headers = headers
        let envelope = try Envelope(returnPath: returnPath ?? sender.email, recipients: [address])
        return OutgoingMessage(envelope: envelope, message: try DKIMSigner.sign(try message.render(), with: signers, timestamp: date))
    }
}
