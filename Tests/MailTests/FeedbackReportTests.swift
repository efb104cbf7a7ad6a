import Foundation
import Testing
@testable import Mail

@Suite struct FeedbackReportTests {
    @Test func yahoo() throws {
        let report = try #require(FeedbackReport(parsing: Array(ReasonFixtures.yahooComplaint.utf8)))
        #expect(report.feedbackType == .abuse)
        #expect(report.userAgent == "Yahoo!-Mail-Feedback/2.0")
        #expect(report.version == "0.1")
        #expect(report.originalMailFrom == "bounce+t14@bounces.example.com")
        #expect(report.originalRecipients.isEmpty)
        #expect(report.arrivalDate == "Fri, 27 Nov 2026 09:12:02 +0000")
        #expect(report.reportedDomains == ["example.com"])
        #expect(report.originalMessageID == "herald.14.0.abc@example.com")
        #expect(report.originalTo == ["redacted@yahoo.example"])
        #expect(report.listUnsubscribe == "<https://example.com/u/T14>, <mailto:unsubscribe+t14@bounces.example.com>")
        #expect(report.returnPath == "bounce+t14@bounces.example.com")
        #expect(report.reportMessageID == "cfl.1@yahoo.example")
    }

    @Test func microsoftJMRP() throws {
        let report = try #require(FeedbackReport(parsing: Array(ReasonFixtures.microsoftComplaint.utf8)))
        #expect(report.feedbackType == .abuse)
        #expect(report.sourceIP == "192.0.2.1")
        #expect(report.originalRecipients == ["rob@hotmail.example"])
        #expect(report.complainant == "rob@hotmail.example")
        #expect(report.originalMessageID == "herald.15.0.abc@example.com")
        #expect(report.returnPath == "bounce+t15@bounces.example.com")

        let legacy = try #require(FeedbackReport(parsing: Array(ReasonFixtures.microsoftLegacyComplaint.utf8)))
        #expect(legacy.feedbackType == .abuse)
        #expect(legacy.complainant == "sue@hotmail.example")
        #expect(legacy.originalMessageID == "herald.16.0.abc@example.com")
    }

    @Test func aol() throws {
        let report = try #require(FeedbackReport(parsing: Array(ReasonFixtures.aolComplaint.utf8)))
        #expect(report.userAgent == "AOL SComp")
        #expect(report.arrivalDate == "Fri, 27 Nov 2026 09:12:02 +0000")
        #expect(report.reportingMTA == "mail.aol.example")
        #expect(report.complainant == "tom@aol.example")
        #expect(report.returnPath == "bounce+t17@bounces.example.com")
    }

    @Test func notSpamAndSeveralRecipients() throws {
        let report = try #require(FeedbackReport(parsing: Array(ReasonFixtures.notSpam.utf8)))
        #expect(report.feedbackType == .notSpam)
        #expect(report.originalRecipients == ["una@isp.example", "una.alias@isp.example"])
    }

    @Test func aComplaintIsNeverABounce() {
        for text in [ReasonFixtures.yahooComplaint, ReasonFixtures.microsoftComplaint, ReasonFixtures.microsoftLegacyComplaint, ReasonFixtures.aolComplaint] {
            let message = MIMEPart(parsing: Array(text.utf8))
            #expect(BounceReport(message: message) == nil)
            #expect(!BounceReport.isAutomaticReply(message))
        }
        for text in [BounceFixtures.postfixReport, BounceFixtures.qmail, ReasonFixtures.outOfOffice, BounceFixtures.reply] {
            #expect(FeedbackReport(parsing: Array(text.utf8)) == nil)
        }
    }
}
