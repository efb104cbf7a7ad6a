/// What a delivery status notification says about the recipients of a message it returns:
/// read from an RFC 3464 `multipart/report; report-type=delivery-status`, or, best effort,
/// from the plain-text bounces of Exchange and Office 365, Gmail, qmail, Postfix and Exim.
///
/// ```swift
/// let report = BounceReport(parsing: receivedBytes)
/// for recipient in report.recipients where recipient.severity == .permanent {
///     print(recipient.address ?? "?", recipient.status ?? "", recipient.diagnostic ?? "")
/// }
/// report.originalMessageID   // "herald.12.0.ab12…@example.com", from the returned headers
/// ```
public struct BounceReport: Sendable, Hashable {
    /// Where the report came from.
    public enum Format: String, Sendable, Hashable {
        case deliveryStatus = "rfc3464"
        case exchange, gmail, qmail, postfix, exim
        /// Plain text in no known form; the recipients were guessed from status codes and addresses.
        case text
    }

    /// RFC 3464 §2.3.3 actions.
    public enum Action: String, Sendable, Hashable {
        case failed, delayed, delivered, relayed, expanded
    }

    /// Whether a recipient's failure is for good.
    public enum Severity: String, Sendable, Hashable {
        /// A 5.x.x status, or failed with no status: a hard bounce.
        case permanent
        /// A 4.x.x status, or delayed: a soft bounce.
        case transient
        /// Delivered, relayed or expanded: not a bounce at all.
        case success
    }

    /// One recipient's part of the report (RFC 3464 §2.3).
    public struct Recipient: Sendable, Hashable {
        /// Final-Recipient, without its `rfc822;` type, lower case.
        public var finalRecipient: String?
        /// Original-Recipient, without its type, lower case.
        public var originalRecipient: String?
        public var action: Action?
        /// The enhanced status code (RFC 3463), `5.1.1`.
        public var status: String?
        /// Diagnostic-Code without its `smtp;` type, or the remote server's words.
        public var diagnostic: String?
        /// Remote-MTA without its `dns;` type.
        public var remoteMTA: String?

        public init(finalRecipient: String? = nil, originalRecipient: String? = nil, action: Action? = nil,
                    status: String? = nil, diagnostic: String? = nil, remoteMTA: String? = nil) {
            self.finalRecipient = finalRecipient
            self.originalRecipient = originalRecipient
            self.action = action
            self.status = status
            self.diagnostic = diagnostic
            self.remoteMTA = remoteMTA
        }

        /// The address the message was sent to: the original recipient when the report
        /// gives it (Final-Recipient may be an alias it was forwarded to), else the final one.
        public var address: String? { originalRecipient ?? finalRecipient }

        /// The status decides; without one, the action (RFC 3464 §2.3.4: a status is
        /// required, but not every MTA gives one).
        public var severity: Severity {
            switch status?.first {
            case "5": return .permanent
            case "4": return .transient
            case "2": return .success
            default: break
            }
            switch action {
            case .delayed: return .transient
            case .delivered, .relayed, .expanded: return .success
            case .failed, nil: return .permanent
            }
        }
    }

    public var format: Format
    public var recipients: [Recipient]
    /// The Message-ID of the message that bounced, without angle brackets, from the returned
    /// message or headers when the report includes them.
    public var originalMessageID: String?
    /// The Message-ID of the report itself, without angle brackets: the same report
    /// delivered twice has the same one.
    public var reportMessageID: String?
    /// Reporting-MTA without its `dns;` type.
    public var reportingMTA: String?

    public init(format: Format, recipients: [Recipient], originalMessageID: String? = nil,
                reportMessageID: String? = nil, reportingMTA: String? = nil) {
        self.format = format
        self.recipients = recipients
        self.originalMessageID = originalMessageID
        self.reportMessageID = reportMessageID
        self.reportingMTA = reportingMTA
    }
}
