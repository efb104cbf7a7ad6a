import Foundation
import HeraldCore
import HeraldStore
import Logging
import Mail
import ServiceLifecycle

/// What Herald does with mail that arrives at its bounce domain: bounces to a VERP address
/// are read as delivery status notifications and recorded; mail to a message's
/// `unsubscribe+TOKEN` address (its `List-Unsubscribe` mailto) unsubscribes; replies (to a tracked reply
/// address, or matched by In-Reply-To / References against Herald's Message-IDs) are kept on
/// the record, forwarded to the sender when an admin turned that on, and reported as
/// `.replied` events.
///
/// Mail for any other domain is refused at RCPT (550), so the listener is no open relay.
/// A `bounce+` or `reply+` address with a bad token is accepted and dropped (logged): refusing
/// it would make the reporting server send a bounce of the bounce to its postmaster, and a
/// token of a message whose mass email was deleted since is not bad enough for that.
public struct InboundMail: Sendable {
    let store: Store
    let returnPaths: ReturnPathSource
    let recorder: BounceRecorder
    let transports: TransportSource?
    /// Signs the replies it forwards.
    let domains: SendingDomains?
    let logger: Logger
    let now: @Sendable () -> Int64

    public init(store: Store, returnPaths: ReturnPathSource, recorder: BounceRecorder, transports: TransportSource?,
                domains: SendingDomains? = nil, logger: Logger, now: @escaping @Sendable () -> Int64 = { WallClock.epochSeconds() }) {
        self.store = store
        self.returnPaths = returnPaths
        self.recorder = recorder
        self.transports = transports
        self.domains = domains
        self.logger = logger
        self.now = now
    }

    /// The SMTP listener (a `Service`) that hands its mail to this. Messages over
    /// `maximumMessageSize` bytes are refused with 552: a bounce with its returned copy, or a
    /// reply with a few attachments, fits in the default 10 MB.
    public func listener(host: String, port: Int, serverName: String, maximumMessageSize: Int = 10_000_000,
                         onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> Listener {
        Listener(server: SMTPServer(
            configuration: SMTPServerConfiguration(host: host, port: port, serverName: serverName,
                                                   maximumMessageSize: maximumMessageSize, maximumRecipients: 20),
            logger: logger, acceptRecipient: { await check(recipient: $0) }, handler: { try await receive(data: $0.data, from: $0.envelope.reversePath, to: $0.envelope.recipients) }),
            onListening: onListening)
    }

    /// The inbound SMTP server as a `Service` that says which port it listens on.
    public struct Listener: Service {
        public let server: SMTPServer
        let onListening: @Sendable (Int) -> Void

        public func run() async throws {
            let port = try await server.start()
            onListening(port)
            try? await gracefulShutdown()
            await server.stop()
        }
    }

    /// nil to accept `recipient`, else the refusal.
    public func check(recipient: String) async -> SMTPReply? {
        let domain: String?
        do {
            domain = try await returnPaths.domain()
        } catch {
            return SMTPReply(code: 451, enhancedCode: EnhancedStatusCode(statusClass: 4, subject: 3, detail: 0), lines: ["temporary failure, try again later"])
        }
        guard let domain else {
            return SMTPReply(code: 550, enhancedCode: EnhancedStatusCode(statusClass: 5, subject: 7, detail: 1), lines: ["no bounce domain is configured here; relaying denied"])
        }
        let at = recipient.lastIndex(of: "@")
        guard let at, recipient[recipient.index(after: at)...].lowercased() == domain else {
            return SMTPReply(code: 550, enhancedCode: EnhancedStatusCode(statusClass: 5, subject: 7, detail: 1), lines: ["relaying denied: only mail for \(domain) is accepted"])
        }
        return nil
    }

    /// Handles one received message. Throws (the client then gets 451 and retries) only when
    /// storing failed.
    ///
    /// - Parameters:
    ///   - reversePath: MAIL FROM, empty for the null sender.
    ///   - recipients: the accepted RCPT TO addresses.
    public func receive(data: [UInt8], from reversePath: String, to recipients: [String]) async throws {
        guard let paths = try await returnPaths.current() else { return }
        let message = MIMEPart(parsing: data)
        // A feedback report may come to any address at the bounce domain (the abuse desk's
        // loop is set up once, for the domain); it names its message itself.
        if let feedback = FeedbackReport(message: message) {
            try await complaint(feedback, raw: data, paths: paths)
            return
        }
        let received = Received(data: data, reversePath: reversePath)
        var seen = Set<ReturnPaths.Target>()
        for recipient in recipients {
            guard let target = paths.target(of: recipient), seen.insert(target).inserted else { continue }
            switch target {
            case .bounce(let id):
                try await bounce(message, raw: data, messageID: id, nullSender: reversePath.isEmpty)
            case .reply(let id):
                try await reply(message, raw: received, messageID: id)
            case .unsubscribe(let id):
                // Whatever the mail says: sending it is the request (RFC 2369 `List-Unsubscribe`).
                if let target = try await store.engagement.unsubscribeTarget(message: id) {
                    try await store.engagement.unsubscribe(target, how: "mail to the List-Unsubscribe address", modules: store.modules)
                }
            case .other:
                try await reply(message, raw: received, messageID: nil)
            case .badToken:
                logger.info("inbound mail to a bounce or reply address with a bad token dropped")
            }
        }
    }

    /// Records what a bounce says about message `messageID` (from the VERP address), or, with
    /// none, about the message its returned headers name.
    func bounce(_ message: MIMEPart, raw: [UInt8], messageID: Int64?, nullSender: Bool) async throws {
        // RFC 3834: an out-of-office or vacation reply comes to the return path too, often from
        // the null sender; it says the address works.
        if BounceReport.isAutomaticReply(message) {
            logger.info("automatic reply to a return path dropped")
            return
        }
        let report = BounceReport(message: message)
        let bodyHash = BounceRecorder.fingerprint(String(decoding: MIMEPart.split(raw).body, as: UTF8.self))
        let reportKey = report?.reportMessageID ?? bodyHash
        let rawText = String(decoding: raw, as: UTF8.self)
        if report == nil || report?.recipients.isEmpty == true {
            // RFC 3464 §2: a DSN comes from the null sender. One we cannot read, or a mail
            // system's report that names no recipient ("delivery report unavailable"), is
            // kept against the message its VERP address names, as a soft bounce whose raw
            // report is there to be read; anything else sent to a return path (spam) is no bounce.
            guard report != nil || nullSender, let messageID, let message = try await store.bounces.message(messageID) else {
                logger.info("mail to a return path that is not a bounce dropped")
                return
            }
            try await recorder.record([BounceStore.Report(
                messageID: message.id, address: message.address, kind: .soft, action: "unknown",
                diagnostic: report == nil ? "the report could not be read" : "the report names no recipient",
                reason: BounceReason.other.rawValue, source: "dsn", raw: rawText,
                fingerprint: BounceRecorder.fingerprint("dsn", reportKey), receivedAt: now())])
            return
        }
        guard let report else { return }
        let failing = report.recipients.filter { $0.severity != .success }
        guard !failing.isEmpty else { return }
        var target: SentMessage? = if let messageID { try await store.bounces.message(messageID) } else { nil }
        if target == nil, let original = report.originalMessageID {
            target = try await recorder.message(matching: [original], addresses: failing.compactMap(\.address))
        }
        guard let target else {
            logger.info("bounce for no known message dropped", metadata: ["format": "\(report.format.rawValue)"])
            return
        }
        // VERP names one message, so one recipient: the one whose address is the message's,
        // else the report's first.
        let recipient = failing.first { $0.address == target.address } ?? failing[0]
        let verdict = BouncePolicy.verdict(recipient)
        try await recorder.record([BounceStore.Report(
            messageID: target.id, address: target.address, kind: verdict.kind, status: recipient.status, action: recipient.action?.rawValue,
            diagnostic: recipient.diagnostic, reason: verdict.reason.rawValue, suppression: verdict.suppression, source: "dsn", raw: rawText,
            fingerprint: BounceRecorder.fingerprint("dsn", reportKey, target.address, recipient.status ?? "", recipient.action?.rawValue ?? ""),
            receivedAt: now())])
    }

    /// Records a complaint (an ARF report, or the older forms of Microsoft's and AOL's
    /// feedback loops): the address is suppressed, and nothing else fires. The message is the
    /// one its returned copy's VERP return path names, else its keyed Message-ID (providers
    /// often redact the address, never those). A report that names neither is dropped: anyone
    /// can write an ARF report naming an address, and it must not suppress a good one.
    func complaint(_ report: FeedbackReport, raw: [UInt8], paths: ReturnPaths) async throws {
        switch report.feedbackType {
        case .notSpam, .authFailure:
            // "Not spam" is good news and a DMARC failure report is about us, not the person.
            logger.info("feedback report that is no complaint dropped", metadata: ["type": "\(report.feedbackType.rawValue)"])
            return
        case .abuse, .fraud, .virus, .other:
            break
        }
        var target: SentMessage?
        if let returnPath = report.returnPath.flatMap(Self.address), case .bounce(let id)? = paths.target(of: returnPath) {
            target = try await store.bounces.message(id)
        }
        let complainant = report.complainant.flatMap(Self.address)
        if target == nil, let original = report.originalMessageID {
            target = try await recorder.message(matching: [original], addresses: [complainant].compactMap { $0 })
        }
        guard let target else {
            logger.info("complaint that names no message of ours dropped")
            return
        }
        let address = target.address
        let key = report.reportMessageID ?? BounceRecorder.fingerprint(String(decoding: MIMEPart.split(raw).body, as: UTF8.self))
        try await recorder.record([BounceStore.Report(
            messageID: target.id, address: address, kind: .complaint, action: report.feedbackType.rawValue,
            diagnostic: "reported as \(report.feedbackType.rawValue) by \(report.userAgent ?? report.reportingMTA ?? "a mailbox provider")",
            source: "arf", raw: String(decoding: raw, as: UTF8.self), fingerprint: BounceRecorder.fingerprint("arf", key, address),
            receivedAt: now())])
    }

    /// Keeps a reply to message `messageID` (from the tracked reply address) or to the
    /// message its In-Reply-To / References name.
    struct Received {
        var data: [UInt8]
        var reversePath: String
    }

    func reply(_ message: MIMEPart, raw received: Received, messageID: Int64?) async throws {
        // A bounce sent to the reply address (the remote server took Reply-To for the sender).
        if received.reversePath.isEmpty, BounceReport(message: message) != nil {
            try await bounce(message, raw: received.data, messageID: nil, nullSender: true)
            return
        }
        // RFC 3834 §5: automatic responses (out of office, vacation) say so, or their
        // subjects do; they are no reply.
        if BounceReport.isAutomaticReply(message) {
            logger.info("automatic reply dropped")
            return
        }
        let from = message.header("From").flatMap(Self.address)
        var target: SentMessage? = if let messageID { try await store.bounces.message(messageID) } else { nil }
        if target == nil {
            let ids = (message.headers("In-Reply-To") + message.headers("References")).flatMap(Self.messageIDs)
            let addresses = [from, message.header("Reply-To").flatMap(Self.address), message.header("Sender").flatMap(Self.address)].compactMap { $0 }
            target = try await recorder.message(matching: ids, addresses: addresses)
        }
        guard let target else {
            logger.info("inbound mail that answers no message of ours dropped")
            return
        }
        let head = MIMEPart.split(received.data).header
        let text = Self.replyText(message)
        let key = message.header("Message-ID") ?? BounceRecorder.fingerprint(String(decoding: received.data, as: UTF8.self))
        guard let reply = try await store.replies.record(
            target, from: from, subject: message.header("Subject"), headers: String(decoding: head, as: UTF8.self),
            text: String(text.prefix(100_000)), fingerprint: BounceRecorder.fingerprint("reply", key, String(target.id)), receivedAt: now())
        else { return }
        logger.info("reply recorded", metadata: ["message": "\(target.id)", "mass_email": "\(target.massEmailID)"])
        try await forward(received.data, reply: reply)
        try await recorder.reactor.react(to: [EngagementEvent(
            kind: .replied, messageID: target.id, massEmailID: target.massEmailID, step: target.step,
            recordID: target.recordID, address: target.address, at: reply.receivedAt)])
    }

    /// Sends the reply on to the sender's reply-to (else its address), when an admin turned
    /// forwarding on: as a new message from the sender's own address, DKIM-signed by its
    /// domain, with the reply as it came attached and Reply-To its writer. Sent on unchanged,
    /// it would carry the writer's From, which our relay may not send for (their DMARC fails)
    /// and our keys cannot sign. From the null sender, so that a failure to forward cannot
    /// bounce back into the listener and loop.
    func forward(_ data: [UInt8], reply: Reply) async throws {
        guard let transports, try await store.settings.forwardsReplies() else { return }
        let massEmail = try await store.massEmails.find(reply.massEmailID)
        let sender = try await store.senders.find(massEmail.senderID)
        // A reply-to at the bounce domain is how replies reach the listener: forwarding there would loop.
        let domain = try await returnPaths.domain()
        let to = sender.replyTo.flatMap { $0.isEmpty || $0.lowercased().hasSuffix("@" + (domain ?? "")) ? nil : $0 } ?? sender.email
        let writer = reply.fromAddress ?? "a recipient"
        var message = MailMessage(from: MailAddress(sender.email, name: sender.name.isEmpty ? nil : sender.name), to: [MailAddress(to)],
                                  subject: "Reply from \(writer): \(reply.subject ?? massEmail.name)")
        if let from = reply.fromAddress { message.replyTo = [MailAddress(from)] }
        message.textBody = "\(writer) replied to \"\(massEmail.name)\":\n\n\(reply.text)\n\nThe reply as it came is attached; answering this message answers \(writer)."
        message.attachments = [MailMessage.Attachment(filename: "reply.eml", contentType: "message/rfc822", data: data)]
        // RFC 3834 §5: generated by a program; an out-of-office must not answer it.
        message.headers = [(name: "Auto-Submitted", value: "auto-generated")]
        do {
            let signed = try DKIMSigner.sign(try message.render(), with: await domains?.signers(for: sender.email) ?? [])
            let result = try await transports.transport().send(try Envelope(returnPath: "", recipients: [to]), message: signed)
            if result.allAccepted {
                try await store.replies.markForwarded(reply.id, at: now())
            } else {
                logger.warning("reply not forwarded: the relay refused it", metadata: ["reply": "\(reply.id)"])
            }
        } catch let error as MailError {
            // The reply is kept; forwarding is best effort and says why it failed.
            logger.warning("reply not forwarded", metadata: ["reply": "\(reply.id)", "error": "\(error.message)"])
        }
    }

    /// The address in `Name <a@b>` or `a@b`, lower case.
    static func address(_ value: String) -> String? {
        var text = Substring(value)
        if let open = text.lastIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = text[text.index(after: open)..<close]
        }
        let address = text.trimmingCharacters(in: .whitespaces).lowercased()
        return address.contains("@") && !address.contains(" ") ? address : nil
    }

    /// The `<id>`s in an In-Reply-To or References value.
    static func messageIDs(_ value: String) -> [String] {
        value.split(separator: "<").compactMap { piece in
            guard let close = piece.firstIndex(of: ">") else { return nil }
            return String(piece[..<close])
        }
    }

    /// The text a person wrote: the first text/plain part, else the first HTML part as text
    /// (its markup shown as such read as code on the record's page).
    static func replyText(_ message: MIMEPart) -> String {
        let parts = message.allParts.filter { $0.parts.isEmpty }
        if let plain = parts.first(where: { $0.contentType == "text/plain" }) { return plain.text }
        return parts.first(where: { $0.contentType == "text/html" }).map { HTMLText.plainText(fromHTML: $0.text, wrapping: false) } ?? ""
    }
}
