/// A complaint: a recipient marked a message as spam (or reported it otherwise) and their
/// provider's feedback loop sent it back in the Abuse Reporting Format (RFC 5965,
/// `multipart/report; report-type=feedback-report`), as Yahoo's Complaint Feedback Loop,
/// Microsoft's JMRP, AOL and most others do.
///
/// A complaint is never a bounce (``BounceReport/init(message:)`` returns nil for one): the
/// address works, and its owner does not want our mail. The caller finds the message it is
/// about from ``returnPath`` (our VERP return path) or ``originalMessageID``.
///
/// ```swift
/// if let complaint = FeedbackReport(parsing: receivedBytes) {
///     complaint.feedbackType          // .abuse
///     complaint.complainant           // "ann@example.org", when the provider does not redact it
///     complaint.returnPath            // "bounce+…@bounces.example.com"
/// }
/// ```
public struct FeedbackReport: Sendable, Hashable {
    /// RFC 5965 §7.3 and its registry: what is reported.
    public enum FeedbackType: String, Sendable, Hashable, CaseIterable {
        /// Unsolicited mail: the "this is spam" button.
        case abuse
        /// Phishing or another fraud.
        case fraud
        /// The message carried a virus.
        case virus
        /// Anything else, and any type not registered.
        case other
        /// The recipient took the message out of the spam folder (RFC 6430).
        case notSpam = "not-spam"
        /// A DMARC failure report (RFC 6591), not a person's complaint.
        case authFailure = "auth-failure"
    }

    public var feedbackType: FeedbackType
    /// The software that wrote the report (`Yahoo!-Mail-Feedback/2.0`).
    public var userAgent: String?
    /// `1` per RFC 5965; `0.1` from the older drafts many loops still follow.
    public var version: String?
    /// The envelope sender of the reported message: our VERP return path, lower case.
    public var originalMailFrom: String?
    /// Who complained: `Original-Rcpt-To` (any number), the draft's `Removal-Recipient`, or
    /// Microsoft's `X-HmXmrOriginalRecipient` on the returned message; lower case.
    public var originalRecipients: [String]
    /// `Arrival-Date` (or the drafts' `Received-Date`) as written.
    public var arrivalDate: String?
    /// The IP address the reported message came from.
    public var sourceIP: String?
    /// `Reported-Domain` values, lower case.
    public var reportedDomains: [String]
    /// `Reporting-MTA` without its `dns;` type.
    public var reportingMTA: String?
    /// The Message-ID of the reported message, without angle brackets.
    public var originalMessageID: String?
    /// The addresses of the reported message's To (providers that redact the recipient
    /// elsewhere sometimes leave it there), lower case.
    public var originalTo: [String]
    /// The reported message's `List-Unsubscribe`, as written.
    public var listUnsubscribe: String?
    /// The reported message's `Return-Path`, lower case, when the returned headers have one.
    public var originalReturnPath: String?
    /// The Message-ID of the report itself: the same complaint delivered twice has the same one.
    public var reportMessageID: String?

    public init(feedbackType: FeedbackType, userAgent: String? = nil, version: String? = nil, originalMailFrom: String? = nil,
                originalRecipients: [String] = [], arrivalDate: String? = nil, sourceIP: String? = nil, reportedDomains: [String] = [],
                reportingMTA: String? = nil, originalMessageID: String? = nil, originalTo: [String] = [], listUnsubscribe: String? = nil,
                originalReturnPath: String? = nil, reportMessageID: String? = nil) {
        self.feedbackType = feedbackType
        self.userAgent = userAgent
        self.version = version
        self.originalMailFrom = originalMailFrom
        self.originalRecipients = originalRecipients
        self.arrivalDate = arrivalDate
        self.sourceIP = sourceIP
        self.reportedDomains = reportedDomains
        self.reportingMTA = reportingMTA
        self.originalMessageID = originalMessageID
        self.originalTo = originalTo
        self.listUnsubscribe = listUnsubscribe
        self.originalReturnPath = originalReturnPath
        self.reportMessageID = reportMessageID
    }

    /// The address that complained, as far as the report tells: the first of
    /// ``originalRecipients``, else of ``originalTo``.
    public var complainant: String? { originalRecipients.first ?? originalTo.first }

    /// Our return path on the reported message, which names the message when it is a VERP
    /// address: the returned `Return-Path`, else `Original-Mail-From`.
    public var returnPath: String? { originalReturnPath ?? originalMailFrom }

    /// Reads a received message as a complaint; nil when it is not one.
    public init?(parsing bytes: some Collection<UInt8>) {
        self.init(message: MIMEPart(parsing: bytes))
    }

    /// Reads an already parsed message as a complaint; nil when it is not one: neither an ARF
    /// report nor one of the older forms that Microsoft's JMRP (`complaint about message from`,
    /// the original attached) and AOL (`X-Loop: scomp`) sent before it.
    public init?(message: MIMEPart) {
        let all = message.allParts
        guard Self.isFeedbackReport(message, all: all) else { return nil }
        let fields = all.first { $0.contentType == "message/feedback-report" }.map { MIMEParser.headers($0.body[...]) } ?? []
        func values(_ name: String) -> [String] { fields.filter { $0.name.caseInsensitiveEquals(name) }.map { $0.value.trimmingSpaces } }
        func value(_ name: String) -> String? { values(name).first { !$0.isEmpty } }
        let returned = Self.returnedHeaders(in: all)
        func returnedValue(_ name: String) -> String? { returned.first { $0.name.caseInsensitiveEquals(name) }?.value }

        // The older forms carry no type: they were all spam complaints.
        let typeName = value("Feedback-Type")?.lowercased() ?? "abuse"
        feedbackType = FeedbackType(rawValue: typeName) ?? .other
        userAgent = value("User-Agent")
        version = value("Version")
        originalMailFrom = value("Original-Mail-From").flatMap(BounceText.address)
        originalRecipients = (values("Original-Rcpt-To") + values("Removal-Recipient")).compactMap(BounceText.address)
        if let microsoft = returnedValue("X-HmXmrOriginalRecipient").flatMap(BounceText.address), !originalRecipients.contains(microsoft) {
            originalRecipients.append(microsoft)
        }
        arrivalDate = value("Arrival-Date") ?? value("Received-Date")
        sourceIP = value("Source-IP")
        reportedDomains = values("Reported-Domain").map { $0.lowercased() }.filter { !$0.isEmpty }
        reportingMTA = value("Reporting-MTA").map(BounceText.typed)
        originalMessageID = returnedValue("Message-ID").flatMap(BounceText.messageID)
        originalTo = returned.filter { $0.name.caseInsensitiveEquals("To") }.flatMap { BounceText.addresses(inHeader: $0.value) }
        listUnsubscribe = returnedValue("List-Unsubscribe")
        originalReturnPath = returnedValue("Return-Path").flatMap(BounceText.address)
        reportMessageID = message.header("Message-ID").flatMap(BounceText.messageID)
    }

    /// Whether `message` is a complaint; cheaper than reading it.
    static func isFeedbackReport(_ message: MIMEPart, all: [MIMEPart]) -> Bool {
        for part in all {
            if part.contentType == "message/feedback-report" { return true }
            if part.contentType == "multipart/report", part.contentTypeParameter("report-type")?.lowercased() == "feedback-report" { return true }
        }
        let returned = all.contains { BounceText.returnedMessageTypes.contains($0.contentType) || BounceText.returnedHeaderTypes.contains($0.contentType) }
        guard returned else { return false }
        // Microsoft's JMRP before ARF: "complaint about message from 192.0.2.1", the original
        // attached with the complainant in X-HmXmrOriginalRecipient.
        if message.header("Subject")?.lowercased().hasPrefix("complaint about message from") == true { return true }
        if returnedHeaders(in: all).contains(where: { $0.name.caseInsensitiveEquals("X-HmXmrOriginalRecipient") }) { return true }
        // AOL's loop before ARF marked its reports X-Loop: scomp.
        return message.headers("X-Loop").contains { $0.lowercased().containsBytes("scomp") }
    }

    /// The header fields of the reported message: a `message/rfc822` part's, or a
    /// `text/rfc822-headers` part (RFC 5965 allows either).
    static func returnedHeaders(in all: [MIMEPart]) -> [(name: String, value: String)] {
        for part in all.dropFirst() {
            if BounceText.returnedMessageTypes.contains(part.contentType), let inner = part.parts.first { return inner.headers }
            if BounceText.returnedHeaderTypes.contains(part.contentType) { return MIMEPart(parsingHeaders: part.body).headers }
        }
        return []
    }
}
