import Foundation
@testable import Mail
import Testing

/// spamd's answers read without a socket, then the client against a real spamd.
@Suite struct SpamReportTests {
    static let report = """
        SPAMD/1.1 0 EX_OK\r
        Content-length: 900\r
        Spam: True ; 7.8 / 5.0\r
        \r
        Spam detection software, running on the system "vm",
        has identified this incoming email as possible spam.

        Content preview:  

        Content analysis details:   (7.8 points, 5.0 required)

         pts rule name              description
        ---- ---------------------- --------------------------------------------------
        -0.0 NO_RECEIVED            Informational: message has no Received headers
         2.2 EMPTY_MESSAGE          Message appears to have no textual parts
         0.5 SUBJ_ALL_CAPS          Subject is all capitals
         1.7 HTML_IMAGE_ONLY_04     BODY: HTML: images with 0-400 bytes of words
         2.2 HTML_SHORT_LINK_IMG_1  HTML is very short with a linked image
         1.2 URIBL_LIKE_RULE        Contains a URL listed somewhere
                                    [URIs: example.com]
                                    2 images and more
        
        """

    @Test func theScoreTheLineAndEachRuleWithItsDescription() throws {
        let r = try SpamReport(spamdAnswer: Array(Self.report.utf8))
        #expect(r.score == 7.8 && r.required == 5.0 && r.isSpam)
        #expect(r.rules.map(\.name) == ["EMPTY_MESSAGE", "HTML_SHORT_LINK_IMG_1", "HTML_IMAGE_ONLY_04", "URIBL_LIKE_RULE",
                                        "SUBJ_ALL_CAPS", "NO_RECEIVED"], "highest first, spamd's order among equals")
        #expect(r.rules.first { $0.name == "SUBJ_ALL_CAPS" }?.description == "Subject is all capitals")
        #expect(r.rules.first { $0.name == "URIBL_LIKE_RULE" }?.description
                == "Contains a URL listed somewhere [URIs: example.com] 2 images and more",
                "continued descriptions join, even one that starts with a number")
        #expect(r.rules.first { $0.name == "NO_RECEIVED" }?.score == 0)
    }

    @Test(arguments: [
        // (answer, score, spam, rules)
        ("SPAMD/1.1 0 EX_OK\r\nSpam: False ; 1.3 / 5.0\r\n\r\n", 1.3, false, 0),
        ("SPAMD/1.1 0 EX_OK\nSpam: Yes ; 12.0 / 6.5\n\nno table in a rewritten report\n", 12.0, true, 0),
        ("SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nspam: false ; -0.4 / 5.0\r\n\r\n", -0.4, false, 0),
    ])
    func theScoreComesFromTheHeaderWhateverTheReport(answer: String, score: Double, spam: Bool, rules: Int) throws {
        let r = try SpamReport(spamdAnswer: Array(answer.utf8))
        #expect(r.score == score && r.isSpam == spam && r.rules.count == rules)
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\n\r\n", MailError.Code.protocolViolation),
        ("SPAMD/1.1 76 Bad header line: Content-length: x\r\n\r\n", .serviceNotAvailable),
        ("SPAMD/1.1 0 EX_OK\r\n\r\n", .protocolViolation),
        ("SPAMD/1.1 0 EX_OK\r\nSpam: True ; lots / 5.0\r\n\r\n", .protocolViolation),
        ("SPAMD/1.1 x EX_OK\r\n\r\n", .protocolViolation),
        ("", .protocolViolation),
    ])
    func whatIsNotAReportIsRefusedWithWhy(answer: String, code: MailError.Code) {
        #expect(throws: MailError.self) { try SpamReport(spamdAnswer: Array(answer.utf8)) }
        do { _ = try SpamReport(spamdAnswer: Array(answer.utf8)) } catch { #expect(error.code == code) }
    }

    @Test func addressesAreReadWithTheDefaultPort() throws {
        #expect(try SpamAssassinClient(address: "127.0.0.1").port == 783)
        #expect(try SpamAssassinClient(address: "spam.example:7830").address == "spam.example:7830")
        #expect(try SpamAssassinClient(address: "[::1]:7830").host == "::1")
        for bad in ["", ":783", "host:x", "host:0", "[::1]x"] {
            #expect(throws: MailError.self, "\(bad)") { try SpamAssassinClient(address: bad) }
        }
        #expect(SpamAssassinClient.request(Array("ab\r\n".utf8)) == Array("REPORT SPAMC/1.5\r\nContent-length: 4\r\n\r\nab\r\n".utf8))
        #expect(SpamAssassinClient.request(Array("ab".utf8)) == Array("REPORT SPAMC/1.5\r\nContent-length: 4\r\n\r\nab\r\n".utf8),
                "a last line gets its CRLF, or spamd waits for it")
    }

    @Test func noSpamdSaysHowToEnableIt() async throws {
        let client = try SpamAssassinClient(address: "127.0.0.1:\(Peers.freePort())")
        do {
            _ = try await client.report(Array("Subject: x\r\n\r\nhi\r\n".utf8))
            Issue.record("a report from nobody")
        } catch {
            #expect(error.code == .connectionFailed)
            #expect(error.hint?.contains("spamd") == true && error.hint?.contains("--spamd") == true)
        }
    }

    /// The spamd the test command starts (HERALD_TEST_SPAMD, network rules off).
    static var spamd: String? { ProcessInfo.processInfo.environment["HERALD_TEST_SPAMD"].flatMap { $0.isEmpty ? nil : $0 } }

    @Test func aRealSpamdScoresCleanMailLowAndShoutingMailHigh() async throws {
        guard Peers.available(Self.spamd != nil, "spamd (HERALD_TEST_SPAMD)"), let address = Self.spamd else { return }
        let client = try SpamAssassinClient(address: address)
        let clean = try await client.report(Array("""
            From: Ann Example <ann@example.com>\r
            To: Bob Example <bob@example.org>\r
            Subject: Notes from Tuesday's meeting\r
            Date: Wed, 02 Dec 2026 10:00:00 +0000\r
            Message-ID: <notes.20261202.1@example.com>\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            Hi Bob,\r
            \r
            here are the notes from Tuesday. We agreed to move the review to Friday and to\r
            ask the design team for the new drawings before then.\r
            \r
            Best,\r
            Ann\r
            """.utf8))
        #expect(clean.score < 5 && !clean.isSpam)
        let shouting = try await client.report(Array("""
            From: Deals <deals@example.com>\r
            To: bob@example.org\r
            Subject: FREE MONEY!!! ACT NOW!!!\r
            Date: Wed, 02 Dec 2026 10:00:00 +0000\r
            Message-ID: <x1@example.com>\r
            MIME-Version: 1.0\r
            Content-Type: text/html; charset=utf-8\r
            \r
            <html><body><a href="http://example.com/x"><img src="http://example.com/big.png"></a></body></html>\r
            """.utf8))
        #expect(shouting.score >= 5 && shouting.isSpam)
        #expect(shouting.rules.contains { $0.name == "SUBJ_ALL_CAPS" && !$0.description.isEmpty })
        #expect(shouting.rules.contains { $0.name.hasPrefix("HTML_IMAGE_ONLY") })
    }
}
