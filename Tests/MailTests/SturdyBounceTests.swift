import Foundation
import Testing
@testable import Mail

@Suite struct SturdyBounceTests {
    @Test func aBoundaryThatNeverAppearsLeavesText() throws {
        let message = MIMEPart(parsing: Array(ReasonFixtures.boundaryNeverAppears.utf8))
        #expect(message.parts.isEmpty)
        #expect(message.text.contains("Final-Recipient: rfc822; vera@example.org"))
        let report = try #require(BounceReport(message: message))
        #expect(report.format == .deliveryStatus)
        #expect(report.reportingMTA == "mx.example.net")
        #expect(report.originalMessageID == "herald.5.0.abc@example.com")
        #expect(report.recipients.map(\.status) == ["5.1.1"])
    }

    @Test func contentTypeParametersWithoutSemicolons() {
        let message = MIMEPart(parsing: Array(ReasonFixtures.continuedParameters.utf8))
        #expect(message.contentType == "multipart/report")
        #expect(message.contentTypeParameter("report-type") == "delivery-status")
        #expect(message.contentTypeParameter("boundary") == "XYZ")
        #expect(message.parts.count == 2)

        let cases: [(String, String, [String: String])] = [
            ("multipart/mixed boundary=abc", "multipart/mixed", ["boundary": "abc"]),
            ("text/plain; charset=utf-8 format=flowed", "text/plain", ["charset": "utf-8", "format": "flowed"]),
            ("multipart/mixed; boundary=\"a; b\\\"c\"; charset=x", "multipart/mixed", ["boundary": "a; b\"c", "charset": "x"]),
            ("multipart/mixed; boundary*0=\"ab\"; boundary*1=\"cd\"", "multipart/mixed", ["boundary": "abcd"]),
            ("text/plain; name*=utf-8''Gr%C3%BC%C3%9Fe.txt", "text/plain", ["name": "Grüße.txt"]),
            ("TEXT/HTML;;; =x; junk; Charset = \"latin1\"", "text/html", ["charset": "latin1"]),
            ("nonsense", "text/plain", [:]),
            ("multipart/mixed; boundary=Part 1 of 2", "multipart/mixed", ["boundary": "Part 1 of 2"]),
        ]
        for (value, type, parameters) in cases {
            let parsed = MIMEParser.contentType(value)
            #expect(parsed.type == type, "\(value)")
            #expect(parsed.parameters == parameters, "\(value)")
        }
    }

    @Test func theReturnedCopyAfterNoKnownMarker() throws {
        let report = try #require(BounceReport(parsing: Array(ReasonFixtures.unknownMarkerCopy.utf8)))
        // Not the report's sender, the returned From, Reply-To, Cc or body, nor a Message-ID.
        #expect(report.recipients.map(\.address) == ["xena@example.org"])
        // Not Mailman's 2.0.8, Sendmail's v4.6.1, the subject's 4.5.6, a date or an IP.
        #expect(report.recipients.map(\.status) == ["5.1.1"])
        #expect(report.originalMessageID == "20261127.abc@example.com")
    }

    @Test func messageIDsAndSendersAreNoRecipients() throws {
        let text = """
            Return-Path: <>
            From: Mail Administrator <admin@mx.example.net>
            To: bounce+t20@bounces.example.com
            Subject: Undeliverable mail
            References: <ref.1@example.com>

            Your message (ID abc.123@relay.example.com) to yan@example.org could not be delivered:
            550 5.1.1 Mailbox unavailable
            Sent by admin@mx.example.net about ref.1@example.com, Message-ID: <herald.20.0.abc@example.com>

            Message-ID: bare.20@example.com
            In-Reply-To: inreply@example.com
            """
        let report = try #require(BounceReport(parsing: Array(text.utf8)))
        #expect(report.recipients.map(\.address) == ["yan@example.org"])
        #expect(report.recipients.map(\.reason) == [.userUnknown])
    }

    @Test func reportsWithoutRecipientLines() throws {
        let unavailable = try #require(BounceReport(parsing: Array(ReasonFixtures.deliveryReportUnavailable.utf8)))
        #expect(unavailable.recipients.isEmpty)
        let empty = try #require(BounceReport(parsing: Array(ReasonFixtures.dsnWithoutRecipients.utf8)))
        #expect(empty.format == .deliveryStatus)
        #expect(empty.recipients.isEmpty)
        #expect(empty.reportingMTA == "mx.example.net")
        // A person's mail that names no failed recipient is no report.
        #expect(BounceReport(parsing: Array("From: ann@example.org\nSubject: Undeliverable?\n\nWhat happened?".utf8)) == nil)
    }

    @Test func blocksWithoutEmptyLines() throws {
        let report = try #require(BounceReport(parsing: Array(ReasonFixtures.recipientsWithoutSeparator.utf8)))
        #expect(report.recipients.map(\.address) == ["amy@example.org", "ben@example.org"])
        #expect(report.recipients.map(\.severity) == [.permanent, .transient])
        #expect(report.recipients.map(\.reason) == [.userUnknown, .mailboxFull])
    }

    @Test func statusesInText() {
        #expect(BounceText.enhancedStatus(in: "Received: by mx (Sendmail v4.6.1)") == nil)
        #expect(BounceText.enhancedStatus(in: "X-Mailman-Version: 2.0.8") == "2.0.8")
        #expect(BounceText.enhancedStatus(in: Array("X-Mailman-Version: 2.0.8".utf8), classes: [4, 5]) == nil)
        #expect(BounceText.enhancedStatus(in: "4.16.55.1") == nil)
        #expect(BounceText.enhancedStatus(in: "on 5.1.2026") == nil)
        #expect(BounceText.enhancedStatus(in: "(#5.1.1)") == "5.1.1")
        #expect(BounceText.enhancedStatus(in: "550-5.7.606 banned") == "5.7.606")
        #expect(BounceText.enhancedStatus(in: "5.1.1.") == "5.1.1")
        #expect(BounceText.basicStatus(in: "port 12:450 x") == nil)
        #expect(BounceText.messageIDLine(in: "x\n  Message-Id: <a@b.example>\n") == "a@b.example")
        #expect(BounceText.messageIDLine(in: "Message-ID: bare@host.example") == "bare@host.example")
    }

    @Test func addressesAroundAtSigns() {
        let found = BounceText.addressMatches(in: Array("<Ann@Example.ORG>: x, bob@b.example. @@ a@b c@.d e@f..g h@i.j-".utf8)).map(\.address)
        #expect(found == ["ann@example.org", "bob@b.example", "h@i.j"])
    }
}

@Suite struct BounceReaderScalingTests {
    /// Inputs that a backtracking or rescanning reader takes quadratic time on; a linear one
    /// reads each in well under a second.
    @Test func hostileInputsStayLinear() {
        let size = 60_000
        let inputs: [String] = [
            "From: MAILER-DAEMON@x.example\n\n" + String(repeating: "a", count: size),
            "From: MAILER-DAEMON@x.example\n\n" + String(repeating: "a@", count: size / 2),
            "From: MAILER-DAEMON@x.example\n\n" + String(repeating: "a@b.c ", count: size / 6),
            "From: MAILER-DAEMON@x.example\n\n" + String(repeating: "5.", count: size / 2),
            "From: MAILER-DAEMON@x.example\n\n" + String(repeating: "550 ", count: size / 4),
            "Subject: " + String(repeating: "=?", count: size / 2) + "\n\nx",
            "Subject: " + String(repeating: "=?utf-8?q?", count: size / 10) + "\n\nx",
            "Content-Type: multipart/mixed; " + String(repeating: "a=b ", count: size / 4) + "\n\nx",
            "Content-Type: multipart/mixed; boundary=x" + String(repeating: " ", count: size) + "y\n\nx",
            "Subject: " + String(repeating: "=?x", count: size / 3) + "\n\nx",
            "Content-Type: multipart/mixed; boundary=x\n\n" + String(repeating: "--x\n", count: size / 4),
            "Content-Type: message/delivery-status\n\n" + String(repeating: "Final-Recipient: rfc822; a@b.c\n", count: size / 31),
            "From: MAILER-DAEMON@x.example\n\n" + String(repeating: "Received: x\n", count: size / 12),
            "From: MAILER-DAEMON@x.example\n\n" + String(repeating: "x", count: size) + "@" + String(repeating: "y", count: size),
        ]
        for input in inputs {
            let start = ContinuousClock.now
            let message = MIMEPart(parsing: Array(input.utf8))
            _ = BounceReport(message: message)
            _ = FeedbackReport(message: message)
            _ = BounceReport.isAutomaticReply(message)
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(10), "\(input.prefix(60))…: \(elapsed)")
        }
        _ = BounceReason.classify(status: "5.1.1", diagnostic: String(repeating: "mailbox ", count: size / 8))
    }

    /// Exim's X-Failed-Recipients naming thousands, each also in the text: every failed address
    /// was looked for among all the text's addresses (quadratic); now it is looked up.
    @Test func manyFailedRecipientsAreLookedUp() {
        let names = (0..<4000).map { "user\($0)@example.org" }
        let raw = "From: Mail Delivery System <Mailer-Daemon@exim.example.net>\nX-Failed-Recipients: " + names.reversed().joined(separator: ", ")
            + "\nSubject: Mail delivery failed\n\n" + names.map { "  \($0)\n    550 5.1.1 no such user\n" }.joined()
        let start = ContinuousClock.now
        let report = BounceReport(parsing: Array(raw.utf8))
        #expect(ContinuousClock.now - start < .seconds(10))
        // In X-Failed-Recipients' order, each with the words under its own mention, at most 20.
        #expect(report?.recipients.count == 20)
        #expect(report?.recipients.first?.address == "user3999@example.org")
        #expect(report?.recipients.first?.status == "5.1.1")
        #expect(report?.recipients.first?.diagnostic == "550 5.1.1 no such user")
        #expect(report?.recipients.last?.address == "user3980@example.org")
    }
}
