import Foundation
import Testing
@testable import Mail

@Suite struct MIMEParserTests {
    @Test func headersUnfoldAndDecodeEncodedWords() {
        let part = MIMEPart(parsing: Array("Subject: =?UTF-8?B?R3LDvMOfZQ==?= =?ISO-8859-1?Q?_aus_K=F6ln?=\r\n and more\r\nX-Odd line without colon\r\nTo: a@b.c\r\n\r\nbody".utf8))
        #expect(part.header("subject") == "Grüße aus Köln and more")
        #expect(part.header("TO") == "a@b.c")
        #expect(part.text == "body")
        #expect(part.contentType == "text/plain")
    }

    @Test func multipartNestedAndTransferEncodings() {
        let raw = """
            Content-Type: multipart/mixed; boundary="outer"

            preamble
            --outer
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: quoted-printable

            Gr=C3=BC=C3=9Fe, a long=
             line
            --outer
            Content-Type: multipart/alternative; boundary=inner

            --inner
            Content-Type: text/html
            Content-Transfer-Encoding: base64

            PHA+SGk8L3A+
            --inner--
            --outer--
            epilogue
            """
        let part = MIMEPart(parsing: Array(raw.utf8))
        #expect(part.parts.count == 2)
        #expect(part.parts[0].text == "Grüße, a long line")
        #expect(part.parts[1].parts.first?.text == "<p>Hi</p>")
        #expect(part.allParts.count == 4)
    }

    @Test func malformedInputIsReadAsFarAsItGoes() {
        // No closing delimiter, broken base64, a boundary that never appears, binary junk.
        let cases: [[UInt8]] = [
            Array("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nunfinished".utf8),
            Array("Content-Transfer-Encoding: base64\n\n!!!SGVsbG8=?".utf8),
            Array("Content-Type: multipart/mixed; boundary=never\n\njust text".utf8),
            Array("Content-Type: multipart/mixed; boundary=\"\"\n\n--\n".utf8),
            (0..<2000).map { UInt8(truncatingIfNeeded: $0 &* 37) },
            [],
            Array("Subject: =?UTF-8?B?broken?= =?X?Q?=ZZ?= =?".utf8),
            Array("Content-Transfer-Encoding: quoted-printable\n\n=\n=4=G=".utf8),
        ]
        #expect(MIMEPart(parsing: cases[0]).parts.first?.text == "unfinished")
        #expect(MIMEPart(parsing: cases[1]).text == "Hello")
        #expect(MIMEPart(parsing: cases[2]).parts.isEmpty)
        for bytes in cases {
            let part = MIMEPart(parsing: bytes)
            _ = part.text
            _ = BounceReport(message: part)
        }
    }

    @Test func longRunsOfWhiteSpaceAndEncodedWordStarts() {
        // Found while fuzzing, by timing hostile inputs: a Content-Type with thousands of
        // spaces in a parameter took seconds (each space looked ahead over the whole run), and
        // a Subject full of "=?x" re-read up to 400 characters from every "=?". The readings
        // stay what they were.
        let spaces = String(repeating: " ", count: 3000)
        let (type, parameters) = MIMEParser.contentType("multipart/mixed; boundary=x" + spaces + "y;" + spaces + "charset=utf-8")
        #expect(type == "multipart/mixed")
        #expect(parameters["boundary"] == "x" + spaces + "y")
        #expect(parameters["charset"] == "utf-8")
        #expect(MIMEParser.contentType("text/plain; a=b" + spaces + "c=d").parameters == ["a": "b", "c": "d"])
        #expect(MIMEParser.decodeEncodedWords("=?x=?utf-8?q?caf=C3=A9?= =?x") == "=?xcafé =?x")
        #expect(MIMEParser.decodeEncodedWords("=?utf-8?q?a?=" + spaces + "=?utf-8*en?b?Yg==?= c") == "ab c")
        let hostile = String(repeating: "=?x", count: 3000)
        #expect(MIMEParser.decodeEncodedWords(hostile) == hostile)
    }

    @Test func aSlashOrAtSignJoinedToAMarkSeparatesNothing() {
        // Found by reading what the fuzz targets check: a "/" or "@" that a combining mark
        // follows is one Character with it, so the type and the address had no "/" or "@"
        // to Swift's string comparisons (and to `hasPrefix("multipart/")`).
        #expect(MIMEPart(parsing: Array("Content-Type: text/\u{301}plain\n\nx".utf8)).contentType == "text/plain")
        #expect(BounceText.address("rfc822; c@\u{301}example.org") == nil)
        #expect(BounceText.address("rfc822; Ann@Example.ORG (Ann)") == "ann@example.org")
        #expect(BounceText.address("rfc822; ann@例子.广告") == "ann@例子.广告")
        let raw = "Content-Type: multipart/report; report-type=feedback-report; boundary=F\n\n--F\nContent-Type: message/feedback-report\n\n"
            + "Feedback-Type: abuse\nOriginal-Rcpt-To: <c@\u{301}example.org>\nOriginal-Rcpt-To: <d@example.org>\n\n--F--\n"
        #expect(FeedbackReport(parsing: Array(raw.utf8))?.originalRecipients == ["d@example.org"])
    }

    @Test func deepNestingStops() {
        var raw = "Content-Type: message/rfc822\n\n"
        raw = String(repeating: raw, count: 100) + "Subject: deep\n\nx"
        let part = MIMEPart(parsing: Array(raw.utf8))
        #expect(part.allParts.count <= MIMEPart.maximumDepth + 1)
    }
}

@Suite struct BounceParserTests {
    @Test func rfc3464FromPostfix() throws {
        let report = try #require(BounceReport(parsing: Array(BounceFixtures.postfixReport.utf8)))
        #expect(report.format == .deliveryStatus)
        #expect(report.reportingMTA == "mail.example.net")
        #expect(report.reportMessageID == "20261127091203.4F1A2@mail.example.net")
        #expect(report.originalMessageID == "herald.12.0.0123456789abcdef@example.com")
        let recipient = try #require(report.recipients.first)
        #expect(report.recipients.count == 1)
        #expect(recipient.finalRecipient == "ann@example.org")
        #expect(recipient.address == "ann@example.org")
        #expect(recipient.action == .failed)
        #expect(recipient.status == "5.1.1")
        #expect(recipient.severity == .permanent)
        #expect(recipient.remoteMTA == "mx.example.org")
        #expect(recipient.diagnostic == "550 5.1.1 <ann@example.org>: Recipient address rejected: User unknown in virtual mailbox table")
    }

    @Test func rfc3464WithCRLFBase64StatusAndTwoRecipients() throws {
        let crlf = BounceFixtures.delayedTwoRecipients.replacingOccurrences(of: "\n", with: "\r\n")
        let report = try #require(BounceReport(parsing: Array(crlf.utf8)))
        #expect(report.format == .deliveryStatus)
        #expect(report.originalMessageID == "herald.3.1.feedfacefeedface@example.com")
        #expect(report.recipients.map(\.address) == ["bob@example.org", "carol@example.org"])
        #expect(report.recipients.map(\.severity) == [.transient, .permanent])
        #expect(report.recipients[0].action == .delayed)
        #expect(report.recipients[1].diagnostic == "552 5.2.2 Mailbox full")
    }

    @Test func qmail() throws {
        let report = try #require(BounceReport(parsing: Array(BounceFixtures.qmail.utf8)))
        #expect(report.format == .qmail)
        #expect(report.recipients.map(\.address) == ["dave@example.org"])
        #expect(report.recipients[0].status == "5.1.1")
        #expect(report.recipients[0].severity == .permanent)
        #expect(report.recipients[0].diagnostic?.contains("No such user") == true)
        #expect(report.originalMessageID == "herald.7.0.1111222233334444@example.com")
    }

    @Test func exim() throws {
        let report = try #require(BounceReport(parsing: Array(BounceFixtures.exim.utf8)))
        #expect(report.format == .exim)
        #expect(report.recipients.map(\.address) == ["erin@example.org"])
        #expect(report.recipients[0].status == "5.7.1")
        #expect(report.recipients[0].diagnostic == "550 5.7.1 Message rejected as spam")
        #expect(report.originalMessageID == "herald.7.0.5555666677778888@example.com")
    }

    @Test func exchange() throws {
        let report = try #require(BounceReport(parsing: Array(BounceFixtures.exchange.utf8)))
        #expect(report.format == .exchange)
        #expect(report.recipients.map(\.address) == ["frank@contoso.com"])
        #expect(report.recipients[0].status == "5.1.10")
        #expect(report.recipients[0].diagnostic?.contains("RecipientNotFound; Recipient not found") == true)
        #expect(report.originalMessageID == "herald.9.0.aaaabbbbccccdddd@example.com")
    }

    @Test func gmail() throws {
        let report = try #require(BounceReport(parsing: Array(BounceFixtures.gmail.utf8)))
        #expect(report.format == .gmail)
        #expect(report.recipients.map(\.address) == ["grace@example.org"])
        #expect(report.recipients[0].status == "5.1.1")
        #expect(report.recipients[0].severity == .permanent)
        #expect(report.originalMessageID == nil)
    }

    @Test func aReplyIsNotABounce() {
        #expect(BounceReport(parsing: Array(BounceFixtures.reply.utf8)) == nil)
    }

    @Test func truncatedReportKeepsWhatIsThere() throws {
        let text = BounceFixtures.postfixReport
        let cut = String(text[..<text.range(of: "Remote-MTA")!.lowerBound])
        let report = try #require(BounceReport(parsing: Array(cut.utf8)))
        #expect(report.recipients.first?.status == "5.1.1")
        #expect(report.originalMessageID == nil)
    }

    @Test func statusCodes() {
        #expect(BounceText.enhancedStatus(in: "smtp; 550 5.1.1 user unknown") == "5.1.1")
        #expect(BounceText.enhancedStatus(in: "version 1.2.3.4 only") == nil)
        #expect(BounceText.enhancedStatus(in: "at 192.0.2.1") == nil)
        #expect(BounceText.basicStatus(in: "said: 451 try later") == "4.0.0")
    }
}
