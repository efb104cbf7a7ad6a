import Foundation
import Testing
@testable import Mail

/// A hard bounce for a reason about the address suppresses it at once; nothing else does.
private func suppresses(_ recipient: BounceReport.Recipient) -> Bool {
    recipient.severity == .permanent && recipient.reason.isAddressLevel
}

@Suite struct BounceReasonTests {
    @Test func casesAndRawValues() {
        #expect(BounceReason.allCases.map(\.rawValue) == [
            "user_unknown", "host_unknown", "mailbox_full", "message_too_large", "expired", "blocked", "spam", "policy",
            "authentication", "rate_limited", "account_suspended", "has_moved", "network_error", "other",
        ])
        #expect(BounceReason.allCases.filter(\.isAddressLevel) == [.userUnknown, .hostUnknown, .accountSuspended, .hasMoved])
        #expect(BounceReason.allCases.filter(\.isReceiverRefusal) == [.blocked, .spam, .policy, .authentication])
        // What we can fix on our side: the receiver's refusals, a message too large, throttling.
        #expect(BounceReason.allCases.filter { $0.likelyFix != nil } == [.messageTooLarge, .blocked, .spam, .policy, .authentication, .rateLimited])
        #expect(BounceReason.authentication.likelyFix == "Publish SPF and DKIM for the From domain and align them (Admin → Sending domains)")
        #expect(BounceReason.blocked.likelyFix?.contains("block list") == true)
        #expect(Set(BounceReason.allCases.map(\.label)).count == BounceReason.allCases.count)
    }

    @Test func repliesOfWellKnownServers() {
        for reply in ReasonFixtures.replies {
            let reason = BounceReason.classify(status: reply.status, diagnostic: reply.diagnostic)
            #expect(reason.rawValue == reply.reason, "\(reply.server): \(reply.diagnostic ?? "-")")
        }
    }

    @Test func theMorePreciseCodeWins() {
        // Status 5.0.0 says nothing; the reply says 5.1.1.
        #expect(BounceReason.classify(status: "5.0.0", diagnostic: "550 5.1.1 user unknown") == .userUnknown)
        #expect(BounceReason.classify(status: "5.0.0", diagnostic: "550 5.2.2 sorry") == .mailboxFull)
        // The class stays the Status field's: a transient reply, then the MTA gave up.
        let code = BounceRules.preferred(EnhancedStatusCode(statusClass: 5, subject: 0, detail: 0), EnhancedStatusCode(statusClass: 4, subject: 2, detail: 2))
        #expect(code?.description == "5.2.2")
        #expect(BounceRules.preferred(EnhancedStatusCode(statusClass: 5, subject: 1, detail: 1), EnhancedStatusCode(statusClass: 5, subject: 7, detail: 1))?.description == "5.1.1")
    }

    @Test func decisiveCodesAndWords() {
        // Gmail explains a DMARC rejection with "blocked": the code decides.
        #expect(BounceReason.classify(status: "5.7.26", diagnostic: "550 5.7.26 This message has been blocked.") == .authentication)
        // X.7.1 is whatever the words say.
        #expect(BounceReason.classify(status: "5.7.1", diagnostic: "550 5.7.1 No such user") == .userUnknown)
        #expect(BounceReason.classify(status: "5.7.1", diagnostic: "550 5.7.1 Message blocked") == .blocked)
        #expect(BounceReason.classify(status: "5.7.1", diagnostic: nil) == .policy)
        #expect(BounceReason.classify(status: "4.7.1", diagnostic: nil) == .rateLimited)
        // An address is no word of the server's.
        #expect(BounceReason.classify(status: "5.1.1", diagnostic: "550 5.1.1 <dmarc-spam@example.org>: Recipient address rejected: User unknown") == .userUnknown)
        // Postfix suspends delivery to a host, not an account.
        #expect(BounceReason.classify(status: "4.4.1", diagnostic: "delivery temporarily suspended: connect to mx.example.org[192.0.2.7]:25: Connection timed out") == .networkError)
        // A domain that is missing for a while is DNS failing, not the domain gone.
        #expect(BounceReason.classify(status: "4.1.2", diagnostic: "Host not found") == .networkError)
        #expect(BounceReason.classify(status: "5.1.2", diagnostic: "Host not found") == .hostUnknown)
    }

    @Test func anSMTPReplyAtSendTime() {
        let reply = SMTPReply(code: 550, enhancedCode: EnhancedStatusCode(statusClass: 5, subject: 1, detail: 1), lines: ["<ann@example.org>: Recipient address rejected: User unknown"])
        let reason = BounceReason.classify(status: reply.enhancedCode?.description, diagnostic: "\(reply.code) \(reply.enhancedCode?.description ?? "") \(reply.text)")
        #expect(reason == .userUnknown)
        #expect(BounceReason.classify(status: nil, diagnostic: "421 4.7.0 Try again later, closing connection.") == .rateLimited)
    }

    @Test func expiredAndDelayed() {
        // Action failed with a 4.x.x status: the MTA gave up retrying.
        var recipient = BounceReport.Recipient(finalRecipient: "a@example.org", action: .failed, status: "4.4.1", diagnostic: "Connection refused")
        #expect(recipient.reason == .expired)
        // A delay is not yet an expiry, whatever Exchange writes.
        recipient = BounceReport.Recipient(finalRecipient: "a@example.org", action: .delayed, status: "4.4.7", diagnostic: "400 4.4.7 Message delayed")
        #expect(recipient.reason == .networkError)
        recipient = BounceReport.Recipient(finalRecipient: "a@example.org", action: .failed, status: "4.2.2", diagnostic: "452 4.2.2 Mailbox full")
        #expect(recipient.reason == .mailboxFull)
    }
}

@Suite struct BounceReasonFixtureTests {
    /// Each fixture names one recipient: its address, reason, severity and whether it suppresses.
    static let cases: [(name: String, text: String, address: String, reason: BounceReason, severity: BounceReport.Severity, suppresses: Bool)] = [
        ("Postfix DSN", BounceFixtures.postfixReport, "ann@example.org", .userUnknown, .permanent, true),
        ("qmail", BounceFixtures.qmail, "dave@example.org", .userUnknown, .permanent, true),
        ("Exim spam", BounceFixtures.exim, "erin@example.org", .spam, .permanent, false),
        ("Office 365", BounceFixtures.exchange, "frank@contoso.com", .userUnknown, .permanent, true),
        ("Gmail", BounceFixtures.gmail, "grace@example.org", .userUnknown, .permanent, true),
        ("Gmail disabled", ReasonFixtures.gmailDisabled, "bob@gmail.example", .accountSuspended, .permanent, true),
        ("Yandex", ReasonFixtures.yandexNoSuchUser, "ivan@yandex.example", .userUnknown, .permanent, true),
        ("Sendmail 5.0.0", ReasonFixtures.sendmailUnspecific, "carl@example.org", .userUnknown, .permanent, true),
        ("Postfix no domain", ReasonFixtures.postfixNoDomain, "dan@nonexistent.example", .hostUnknown, .permanent, true),
        ("Orange full", ReasonFixtures.orangeFull, "elise@orange.example", .mailboxFull, .permanent, false),
        ("Exchange too large", ReasonFixtures.exchangeTooLarge, "fay@contoso.example", .messageTooLarge, .permanent, false),
        ("Exchange expired", ReasonFixtures.exchangeExpired, "gus@contoso.example", .expired, .transient, false),
        ("Postfix gave up", ReasonFixtures.postfixGaveUp, "hal@example.org", .expired, .transient, false),
        ("Barracuda", ReasonFixtures.barracudaBlocked, "ida@example.org", .blocked, .permanent, false),
        ("Outlook S3150", ReasonFixtures.outlookBlockList, "jo@outlook.example", .blocked, .permanent, false),
        ("Gmail spam", ReasonFixtures.gmailSpam, "kim@gmail.example", .spam, .permanent, false),
        ("relay denied", ReasonFixtures.relayDenied, "lee@example.org", .policy, .permanent, false),
        ("Gmail DMARC", ReasonFixtures.gmailDMARC, "mo@gmail.example", .authentication, .permanent, false),
        ("Exchange DMARC", ReasonFixtures.exchangeDMARC, "ned@contoso.example", .authentication, .permanent, false),
        ("Yahoo TSS04", ReasonFixtures.yahooDeferred, "ola@yahoo.example", .rateLimited, .transient, false),
        ("moved", ReasonFixtures.moved, "pat@example.org", .hasMoved, .permanent, true),
        ("connection refused", ReasonFixtures.connectionRefused, "quinn@example.org", .networkError, .transient, false),
        ("system error", ReasonFixtures.systemError, "ray@example.org", .other, .permanent, false),
        ("QQ deactivated", ReasonFixtures.qqDeactivated, "12345@qq.example", .accountSuspended, .permanent, true),
        ("Exim unrouteable", ReasonFixtures.eximUnrouteable, "sam@nowhere.example", .hostUnknown, .permanent, true),
        ("Exim retry timeout", ReasonFixtures.eximRetryTimeout, "tess@slow.example", .expired, .permanent, false),
        ("GMX full", ReasonFixtures.gmxFull, "uwe@gmx.example", .mailboxFull, .permanent, false),
        ("boundary never appears", ReasonFixtures.boundaryNeverAppears, "vera@example.org", .userUnknown, .permanent, true),
        ("parameters continued", ReasonFixtures.continuedParameters, "walt@example.org", .mailboxFull, .permanent, false),
        ("copy after no marker", ReasonFixtures.unknownMarkerCopy, "xena@example.org", .userUnknown, .permanent, true),
        ("Exchange delay", ReasonFixtures.exchangeDelay, "nora@contoso.example", .networkError, .transient, false),
    ]

    @Test func everyReasonHasAFixture() {
        #expect(Set(Self.cases.map(\.reason)) == Set(BounceReason.allCases))
    }

    @Test func eachFixture() throws {
        for item in Self.cases {
            let report = try #require(BounceReport(parsing: Array(item.text.utf8)), "\(item.name)")
            #expect(report.recipients.count == 1, "\(item.name)")
            let recipient = try #require(report.recipients.first, "\(item.name)")
            #expect(recipient.address == item.address, "\(item.name)")
            #expect(recipient.reason == item.reason, "\(item.name)")
            #expect(recipient.severity == item.severity, "\(item.name)")
            #expect(suppresses(recipient) == item.suppresses, "\(item.name)")
            #expect(!BounceReport.isAutomaticReply(MIMEPart(parsing: Array(item.text.utf8))), "\(item.name)")
        }
    }

    @Test func twoRecipientsTwoReasons() throws {
        let crlf = BounceFixtures.delayedTwoRecipients.replacingOccurrences(of: "\n", with: "\r\n")
        let report = try #require(BounceReport(parsing: Array(crlf.utf8)))
        #expect(report.recipients.map(\.reason) == [.networkError, .mailboxFull])
        #expect(report.recipients.map(suppresses) == [false, false])
    }
}
