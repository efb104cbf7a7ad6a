import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Mail
import Testing

/// What each bounce reason does to the address, the message and the mass email, from a DSN at
/// the inbound listener, an SMTP refusal at send time, and a complaint (ARF).
@Suite(.serialized) struct BounceReasonIntakeTests {
    static let domain = BounceIntakeTests.domain

    @Test func thePolicyTable() {
        typealias V = (Bounce.Kind, Bounce.Suppression)
        let table: [(BounceReason, permanent: V, temporary: V)] = [
            (.userUnknown, (.hard, .now), (.soft, .atThreshold)),
            (.hostUnknown, (.hard, .now), (.soft, .atThreshold)),
            (.hasMoved, (.hard, .now), (.soft, .atThreshold)),
            (.accountSuspended, (.hard, .now), (.soft, .atThreshold)),
            (.mailboxFull, (.soft, .atThreshold), (.soft, .atThreshold)),
            (.messageTooLarge, (.refused, .never), (.refused, .never)),
            (.blocked, (.refused, .never), (.refused, .never)),
            (.spam, (.refused, .never), (.refused, .never)),
            (.policy, (.refused, .never), (.refused, .never)),
            (.authentication, (.refused, .never), (.refused, .never)),
            (.rateLimited, (.refused, .never), (.refused, .never)),
            (.expired, (.hard, .atThreshold), (.soft, .atThreshold)),
            (.networkError, (.hard, .atThreshold), (.soft, .atThreshold)),
            (.other, (.hard, .atThreshold), (.soft, .atThreshold)),
        ]
        #expect(Set(table.map(\.0)) == Set(BounceReason.allCases), "every reason has a row")
        for (reason, permanent, temporary) in table {
            let p = BouncePolicy.verdict(permanent: true, reason: reason)
            let t = BouncePolicy.verdict(permanent: false, reason: reason)
            #expect(p.kind == permanent.0 && p.suppression == permanent.1, "\(reason) permanent")
            #expect(t.kind == temporary.0 && t.suppression == temporary.1, "\(reason) temporary")
            // Only a reason about the address suppresses at once.
            #expect((p.suppression == .now) == reason.isAddressLevel)
        }
    }

    /// One DSN per case through the inbound listener: the reason read, the kind recorded,
    /// whether the address is suppressed and whether "bounced" fired.
    @Test(arguments: TestDatabase.kinds)
    func eachReasonDoesWhatItsTableSays(kind: DatabaseKind) async throws {
        struct Case {
            var status: String, action = "failed", diagnostic: String
            var reason: BounceReason, kind: Bounce.Kind, suppressed: Bool
        }
        let cases: [Case] = [
            Case(status: "5.1.1", diagnostic: "550 5.1.1 <x@example.org>: Recipient address rejected: User unknown in virtual mailbox table",
                 reason: .userUnknown, kind: .hard, suppressed: true),
            // Status says less than the diagnostic: the more precise code wins.
            Case(status: "5.0.0", diagnostic: "550 5.1.1 user unknown", reason: .userUnknown, kind: .hard, suppressed: true),
            Case(status: "5.1.2", diagnostic: "Host or domain name not found. Name service error for name=example.invalid type=MX: Host not found",
                 reason: .hostUnknown, kind: .hard, suppressed: true),
            Case(status: "5.1.6", diagnostic: "550 5.1.6 Recipient mailbox has moved, no forwarding address", reason: .hasMoved, kind: .hard, suppressed: true),
            Case(status: "5.2.1", diagnostic: "550-5.2.1 The email account that you tried to reach is inactive.",
                 reason: .accountSuspended, kind: .hard, suppressed: true),
            Case(status: "5.2.2", diagnostic: "552 5.2.2 Mailbox full", reason: .mailboxFull, kind: .soft, suppressed: false),
            Case(status: "5.3.4", diagnostic: "552 5.3.4 Message size exceeds fixed limit", reason: .messageTooLarge, kind: .refused, suppressed: false),
            Case(status: "4.4.7", diagnostic: "Delivery time expired", reason: .expired, kind: .soft, suppressed: false),
            Case(status: "5.7.1", diagnostic: "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
                 reason: .blocked, kind: .refused, suppressed: false),
            Case(status: "5.7.1", diagnostic: "550 5.7.1 Message rejected as spam by Content Filtering", reason: .spam, kind: .refused, suppressed: false),
            Case(status: "5.7.1", diagnostic: "554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
                 reason: .policy, kind: .refused, suppressed: false),
            Case(status: "5.7.26", diagnostic: "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy.",
                 reason: .authentication, kind: .refused, suppressed: false),
            Case(status: "4.7.0", action: "delayed", diagnostic: "421 4.7.0 Too many messages from your IP, try again later",
                 reason: .rateLimited, kind: .refused, suppressed: false),
        ]
        try await EngineHarness.with(kind, bounceDomain: Self.domain) { h in
            var ids: [Int64] = []
            for index in cases.indices { ids.append(try await h.contact("r\(index)@example.org")) }
            let m = try await h.sendNow(ids)
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            let reactor = RecordingReactor()
            let inbound = BounceIntakeTests.inbound(h, reactor: reactor)
            for (index, c) in cases.enumerated() {
                let address = "r\(index)@example.org"
                let verp = try #require(h.inbox.messages.first { $0.envelope.recipients == [address] }).envelope.reversePath
                try await inbound.receive(data: dsn(to: verp, recipient: address, status: c.status, action: c.action, originalMessageID: nil,
                                                    reportID: "r\(index)@mx", diagnostic: c.diagnostic), from: "", to: [verp])
            }
            let bounces = try await h.store.bounces.list(massEmail: m.id)
            let suppressed = try await h.store.suppressions.suppressed(among: cases.indices.map { "r\($0)@example.org" })
            for (index, c) in cases.enumerated() {
                let address = "r\(index)@example.org"
                let bounce = try #require(bounces.first { $0.address == address })
                #expect(bounce.reason == c.reason.rawValue, "\(c.diagnostic)")
                #expect(bounce.kind == c.kind, "\(c.diagnostic)")
                #expect(suppressed.contains(address) == c.suppressed, "\(c.diagnostic)")
            }
            // "Bounced" fires for hard bounces only: never for a refusal or a full mailbox.
            let hard = Set(cases.indices.filter { cases[$0].kind == .hard }.map { ids[$0] })
            #expect(Set(reactor.events.map(\.recordID)) == hard)
            #expect(reactor.events.allSatisfy { $0.kind == .bounced })
            // The suppression list says which reason put the address there.
            let listed = try await h.store.suppressions.page(search: "r0@example.org")
            #expect(listed.first?.detail?.hasPrefix("user unknown — dsn: 5.1.1") == true, "\(String(describing: listed.first?.detail))")
            // Refusals are counted by reason on the mass email.
            let figures = try #require(try await h.store.massEmails.figures([m.id])[m.id])
            #expect(figures.refusedByReason == ["message_too_large": 1, "blocked": 1, "spam": 1, "policy": 1, "authentication": 1, "rate_limited": 1])
        }
    }

    @Test func anAutomaticReplyOrAReportWithoutRecipientsIsNoHardBounce() async throws {
        try await EngineHarness.with(.sqlite, bounceDomain: Self.domain) { h in
            let m = try await h.sendNow([try await h.contact("vic@example.org")])
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            let verp = try #require(h.inbox.messages.first).envelope.reversePath
            let reactor = RecordingReactor()
            let inbound = BounceIntakeTests.inbound(h, reactor: reactor)
            // An out-of-office reply from the null sender, as some servers send them.
            let away = Array("From: Vic <vic@example.org>\r\nTo: \(verp)\r\nSubject: Out of Office: Hello\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n".utf8)
            try await inbound.receive(data: away, from: "", to: [verp])
            #expect(try await h.store.bounces.list(massEmail: m.id).isEmpty)
            // A mail system's report that names nobody: kept against the VERP message, soft.
            let unavailable = Array("""
                From: MAILER-DAEMON@mx.example.org\r
                To: \(verp)\r
                Subject: Delivery Status Notification (Failure)\r
                Message-ID: <none.1@mx.example.org>\r
                \r
                Delivery report unavailable.\r

                """.utf8)
            try await inbound.receive(data: unavailable, from: "", to: [verp])
            let bounces = try await h.store.bounces.list(massEmail: m.id)
            #expect(bounces.map(\.kind) == [.soft])
            #expect(bounces.first?.address == "vic@example.org")
            #expect(try await h.store.suppressions.suppressed(among: ["vic@example.org"]).isEmpty)
            #expect(reactor.events.isEmpty)
        }
    }

    /// A refusal at send time: blocked is listed as refused and suppresses nobody; an unknown
    /// address is suppressed; only the latter fires "bounced".
    @Test func refusalsAtSendTimeKeepTheAddress() async throws {
        try await EngineHarness.with(.sqlite, acceptRecipient: { address in
            if address.hasPrefix("blocked") {
                return SMTPReply(code: 554, enhancedCode: EnhancedStatusCode(statusClass: 5, subject: 7, detail: 1),
                                 lines: ["Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"])
            }
            if address.hasPrefix("gone") {
                return SMTPReply(code: 550, enhancedCode: EnhancedStatusCode(statusClass: 5, subject: 1, detail: 1), lines: ["user unknown"])
            }
            return nil
        }) { h in
            let m = try await h.sendNow([try await h.contact("blocked@example.org"), try await h.contact("gone@example.org")])
            try await h.eventually("the mass email is done") { try await h.status(m.id) != .sending }
            // A hard bounce's suppression is an after-effect of its written outcome, and the end
            // of the batch may mark the mass email sent a moment before it runs.
            try await h.eventually("the unknown user is suppressed") {
                try await !h.store.suppressions.suppressed(among: ["gone@example.org"]).isEmpty
            }
            let bounces = try await h.store.bounces.list(massEmail: m.id)
            #expect(bounces.first { $0.address == "blocked@example.org" }?.kind == .refused)
            #expect(bounces.first { $0.address == "blocked@example.org" }?.reason == "blocked")
            #expect(bounces.first { $0.address == "gone@example.org" }?.kind == .hard)
            #expect(bounces.first { $0.address == "gone@example.org" }?.reason == "user_unknown")
            #expect(try await h.store.suppressions.suppressed(among: ["blocked@example.org", "gone@example.org"]) == ["gone@example.org"])
            #expect(try await h.store.massEmails.figures([m.id])[m.id]?.refusedByReason == ["blocked": 1])
        }
    }

    /// An ARF report in Yahoo's style (the address redacted, our VERP return path kept) and one
    /// in Microsoft's (the complainant named, a return path that is not ours).
    static func complaint(returnPath: String, to: String, rcptTo: String?, agent: String, id: String, messageID: String? = nil) -> [UInt8] {
        Array("""
            From: feedback@mailbox.example\r
            To: fbl@\(domain)\r
            Subject: Email Feedback Report\r
            Message-ID: <\(id)>\r
            MIME-Version: 1.0\r
            Content-Type: multipart/report; report-type=feedback-report; boundary="F"\r
            \r
            --F\r
            Content-Type: text/plain\r
            \r
            This is an email abuse report.\r
            --F\r
            Content-Type: message/feedback-report\r
            \r
            Feedback-Type: abuse\r
            User-Agent: \(agent)\r
            Version: 1\r
            \(rcptTo.map { "Original-Rcpt-To: \($0)\r\n" } ?? "")\r
            --F\r
            Content-Type: message/rfc822\r
            \r
            Return-Path: <\(returnPath)>\r
            From: News <news@example.com>\r
            To: \(to)\r
            Subject: Hello\r
            \(messageID.map { "Message-ID: \($0)\r\n" } ?? "")\r
            Hello\r
            --F--\r

            """.utf8)
    }

    @Test(arguments: TestDatabase.kinds)
    func complaintsSuppressAndPauseOverTheThreshold(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind, bounceDomain: Self.domain) { h in
            // 1,000 go out today; the rest wait for tomorrow, so the mass email is still sending.
            try await h.store.settings.setDailyQuota(1000)
            var ids: [Int64] = []
            for i in 0..<1010 { ids.append(try await h.contact("c\(i)@example.org")) }
            let m = try await h.sendNow(ids)
            try await h.eventually("the quota is used up", timeout: .seconds(120)) {
                try await h.store.massEmails.figures([m.id])[m.id]?[.sent] == 1000
            }
            let reactor = RecordingReactor()
            let inbound = BounceIntakeTests.inbound(h, reactor: reactor)
            func verp(_ address: String) throws -> String {
                try #require(h.inbox.messages.first { $0.envelope.recipients == [address] }).envelope.reversePath
            }
            // Yahoo's: found by the VERP return path alone.
            let yahoo = Self.complaint(returnPath: try verp("c0@example.org"), to: "redacted@mailbox.example", rcptTo: nil,
                                       agent: "Yahoo!-Mail-Feedback/2.0", id: "y1@mailbox.example")
            try await inbound.receive(data: yahoo, from: "", to: ["fbl@" + Self.domain])
            try await inbound.receive(data: yahoo, from: "", to: ["fbl@" + Self.domain])  // twice: one complaint
            // Microsoft's: the return path is not ours, the keyed Message-ID is.
            let c1 = try #require(h.inbox.deliveries.first { $0.to == "c1@example.org" }).messageID
            try await inbound.receive(data: Self.complaint(returnPath: "someone@else.example", to: "c1@example.org", rcptTo: "c1@example.org",
                                                           agent: "Microsoft Junk Mail Reporting Program", id: "j1@mailbox.example",
                                                           messageID: c1),
                                      from: "", to: ["fbl@" + Self.domain])
            // A report that names an address but no message of ours (anyone can write one) is dropped.
            try await inbound.receive(data: Self.complaint(returnPath: "someone@else.example", to: "c9@example.org", rcptTo: "c9@example.org",
                                                           agent: "Forger", id: "forged@x.example"), from: "", to: ["fbl@" + Self.domain])
            try await inbound.receive(data: Self.complaint(returnPath: "someone@else.example", to: "c9@example.org", rcptTo: "c9@example.org",
                                                           agent: "Forger", id: "forged2@x.example",
                                                           messageID: "<herald.\(m.id).0.0123456789abcdef@example.com>"),
                                      from: "", to: ["fbl@" + Self.domain])
            #expect(try await h.store.suppressions.suppressed(among: ["c9@example.org"]).isEmpty)
            try await inbound.receive(data: Self.complaint(returnPath: try verp("c2@example.org"), to: "c2@example.org", rcptTo: nil,
                                                           agent: "X", id: "x2@mailbox.example"), from: "", to: ["abuse@" + Self.domain])
            #expect(try await h.store.suppressions.suppressed(among: ["c0@example.org", "c1@example.org", "c2@example.org", "c3@example.org"])
                    == ["c0@example.org", "c1@example.org", "c2@example.org"])
            let listed = try await h.store.suppressions.page(search: "c0@example.org")
            #expect(listed.first?.reason == "complaint")
            // Nothing fires but the complaint itself; no "bounced".
            #expect(reactor.events.map(\.kind) == [.complained, .complained, .complained])
            var figures = try #require(try await h.store.massEmails.figures([m.id])[m.id])
            #expect(figures.complained == 3)
            #expect(figures.complaintRate == 0.3)
            // 0.3 % is the threshold, not over it: still sending.
            #expect(try await h.status(m.id) == .sending)
            try await inbound.receive(data: Self.complaint(returnPath: try verp("c3@example.org"), to: "c3@example.org", rcptTo: nil,
                                                           agent: "X", id: "x3@mailbox.example"), from: "", to: ["fbl@" + Self.domain])
            figures = try #require(try await h.store.massEmails.figures([m.id])[m.id])
            #expect(figures.complained == 4)
            let paused = try await h.store.massEmails.find(m.id)
            #expect(paused.status == .paused)
            #expect(paused.statusReason?.contains("spam complaints: 4 of 1000 delivered (0.4%), over the threshold of 0.3%") == true,
                    "\(paused.statusReason ?? "")")
        }
    }
}
