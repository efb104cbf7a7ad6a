import Crypto
import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Logging
import Mail
import Synchronization
import Testing

/// Remembers the events it is handed.
final class RecordingReactor: EngagementReactor {
    private let seen = Mutex<[EngagementEvent]>([])
    var events: [EngagementEvent] { seen.withLock { $0 } }
    func react(to events: [EngagementEvent]) async throws { seen.withLock { $0 += events } }
}

/// A delivery status notification as a reporting MTA writes it (RFC 3464).
func dsn(to returnPath: String, recipient: String, status: String, action: String, originalMessageID: String?, reportID: String,
         diagnostic: String? = nil) -> [UInt8] {
    let headers = originalMessageID.map { "Message-ID: <\($0)>\r\n" } ?? ""
    return Array("""
        From: MAILER-DAEMON@mx.example.org\r
        To: \(returnPath)\r
        Subject: Undelivered Mail Returned to Sender\r
        Message-ID: <\(reportID)>\r
        MIME-Version: 1.0\r
        Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r
        \r
        --b\r
        Content-Type: text/plain\r
        \r
        Your message could not be delivered.\r
        --b\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns; mx.example.org\r
        \r
        Final-Recipient: rfc822; \(recipient)\r
        Action: \(action)\r
        Status: \(status)\r
        Diagnostic-Code: smtp; \(diagnostic ?? "\(status.hasPrefix("5") ? "550" : "451") \(status) mailbox says no")\r
        \r
        --b\r
        Content-Type: text/rfc822-headers\r
        \r
        \(headers)Subject: Hi\r
        \r
        --b--\r

        """.utf8)
}

@Suite(.serialized) struct BounceIntakeTests {
    static let domain = "bounces.example.com"

    static func inbound(_ h: EngineHarness, reactor: RecordingReactor) -> InboundMail {
        var logger = Logger(label: "inbound-test")
        logger.logLevel = .warning
        return InboundMail(store: h.store, returnPaths: ReturnPathSource(override: domain, settings: h.store.settings, signer: h.delivery.links.signer),
                           recorder: BounceRecorder(store: h.store, reactor: reactor, signer: h.delivery.links.signer, logger: logger),
                           transports: h.delivery.transports, logger: logger, now: h.clock.now)
    }

    @Test(arguments: TestDatabase.kinds)
    func aDSNToTheVERPAddressBouncesItsMessageOnce(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind, bounceDomain: Self.domain) { h in
            let ids = [try await h.contact("ann@example.org"), try await h.contact("bob@example.org")]
            let m = try await h.sendNow(ids)
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            let ann = try #require(h.inbox.messages.first { $0.envelope.recipients == ["ann@example.org"] })
            let verp = ann.envelope.reversePath
            #expect(verp.hasPrefix("bounce+") && verp.hasSuffix("@" + Self.domain))
            #expect(h.inbox.messages.allSatisfy { $0.envelope.reversePath != "news@example.com" })

            let reactor = RecordingReactor()
            let inbound = Self.inbound(h, reactor: reactor)
            #expect(await inbound.check(recipient: verp) == nil)
            #expect(await inbound.check(recipient: "someone@example.net")?.code == 550)

            let report = dsn(to: verp, recipient: "ann@example.org", status: "5.1.1", action: "failed", originalMessageID: nil, reportID: "r1@mx")
            try await inbound.receive(data: report, from: "", to: [verp])
            try await inbound.receive(data: report, from: "", to: [verp])   // delivered twice: counted once

            let message = try #require(try await h.store.messages.page(massEmail: m.id).first { $0.address == "ann@example.org" })
            #expect(message.status == .bounced)
            let bounces = try await h.store.bounces.list(massEmail: m.id)
            #expect(bounces.count == 1)
            #expect(bounces.first?.kind == .hard)
            #expect(bounces.first?.status == "5.1.1")
            #expect(bounces.first?.diagnostic == "550 5.1.1 mailbox says no")
            #expect(bounces.first?.source == "dsn")
            #expect(try await h.store.bounces.find(bounces[0].id)?.raw?.contains("Reporting-MTA") == true)
            #expect(try await h.store.suppressions.suppressed(among: ["ann@example.org", "bob@example.org"]) == ["ann@example.org"])
            #expect(reactor.events.map(\.kind) == [.bounced])
            #expect(reactor.events.first?.messageID == message.id)
            #expect(reactor.events.first?.recordID == ids[0])

            // A forged token is accepted and dropped: nothing changes.
            try await inbound.receive(data: report, from: "", to: ["bounce+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@" + Self.domain])
            #expect(try await h.store.bounces.list(massEmail: m.id).count == 1)
        }
    }

    @Test func mailToTheListUnsubscribeAddressUnsubscribes() async throws {
        try await EngineHarness.with(.sqlite, bounceDomain: Self.domain) { h in
            let dee = try await h.contact("dee@example.org")
            let m = try await h.sendNow([dee])
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            let sent = String(decoding: try #require(h.inbox.messages.first).data, as: UTF8.self)
                .replacingOccurrences(of: "\r\n ", with: " ")   // unfolded
            let header = try #require(sent.split(separator: "\r\n").first { $0.hasPrefix("List-Unsubscribe:") })
            let mailto = try #require(header.firstMatch(of: /<mailto:([^?>]+)\?subject=unsubscribe>/)).1
            #expect(mailto.hasPrefix("unsubscribe+") && mailto.hasSuffix("@" + Self.domain))
            #expect(header.contains("<http://herald.test/u/"))

            let inbound = Self.inbound(h, reactor: RecordingReactor())
            #expect(await inbound.check(recipient: String(mailto)) == nil)
            let request = Array("From: dee@example.org\r\nTo: \(mailto)\r\nSubject: unsubscribe\r\n\r\n\r\n".utf8)
            try await inbound.receive(data: request, from: "dee@example.org", to: [String(mailto)])
            #expect(try await h.store.suppressions.suppressed(among: ["dee@example.org"]) == ["dee@example.org"])
            #expect(try await h.store.records.find(in: h.contacts, id: dee, scope: .all)?["email_opt_out"] == .bool(true))
            #expect(try await h.store.massEmails.figures([m.id])[m.id]?.unsubscribed == 1)
            // A token for another purpose at that local part is not an unsubscribe.
            let message = try #require(try await h.store.messages.page(massEmail: m.id).first)
            let signer = MessageTokenSigner(secret: try await h.store.settings.engagementSecret())
            let wrong = "unsubscribe+\(signer.sign(MessageToken(.bounce, message: message.id)))@\(Self.domain)"
            #expect(ReturnPaths(domain: Self.domain, signer: signer).target(of: wrong) == .badToken)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func softBouncesSuppressAtTheThreshold(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind, bounceDomain: Self.domain) { h in
            try await h.store.settings.setSoftBounceThreshold(SoftBounceThreshold(count: 2, days: 7))
            let m = try await h.sendNow([try await h.contact("carol@example.org")])
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            let verp = try #require(h.inbox.messages.first).envelope.reversePath
            let reactor = RecordingReactor()
            let inbound = Self.inbound(h, reactor: reactor)
            try await inbound.receive(data: dsn(to: verp, recipient: "carol@example.org", status: "4.2.2", action: "delayed",
                                                originalMessageID: nil, reportID: "d1@mx"), from: "", to: [verp])
            #expect(try await h.store.suppressions.suppressed(among: ["carol@example.org"]).isEmpty)
            try await inbound.receive(data: dsn(to: verp, recipient: "carol@example.org", status: "4.2.2", action: "delayed",
                                                originalMessageID: nil, reportID: "d2@mx"), from: "", to: [verp])
            #expect(try await h.store.suppressions.suppressed(among: ["carol@example.org"]) == ["carol@example.org"])
            let bounces = try await h.store.bounces.list(massEmail: m.id)
            #expect(bounces.map(\.kind) == [.soft, .soft])
            // Soft bounces leave the message sent and make no event.
            #expect(try await h.store.messages.page(massEmail: m.id).first?.status == .sent)
            #expect(reactor.events.isEmpty)
            let figures = try #require(try await h.store.massEmails.figures([m.id])[m.id])
            #expect(figures.softBounced == 1, "one recipient, however many soft bounces")
            #expect(figures[.bounced] == 0)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aReplyIsMatchedByInReplyToKeptAndForwarded(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind, bounceDomain: Self.domain) { h in
            try await h.store.settings.set(SettingsStore.forwardRepliesKey, to: "1")
            let recordID = try await h.contact("dora@example.org")
            let m = try await h.sendNow([recordID])
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            let sentID = try #require(h.inbox.deliveries.first).messageID
            let reactor = RecordingReactor()
            let inbound = Self.inbound(h, reactor: reactor)
            let reply = Array("""
                From: Dora <Dora@Example.org>\r
                To: replies@\(Self.domain)\r
                Subject: Re: Hi\r
                Message-ID: <reply.1@example.org>\r
                In-Reply-To: \(sentID)\r
                References: <other@example.org> \(sentID)\r
                Content-Type: text/plain; charset=utf-8\r
                \r
                Yes please, call me.\r

                """.utf8)
            try await inbound.receive(data: reply, from: "dora@example.org", to: ["replies@" + Self.domain])
            try await inbound.receive(data: reply, from: "dora@example.org", to: ["replies@" + Self.domain])
            let replies = try await h.store.replies.list(module: h.contacts.id, record: recordID)
            #expect(replies.count == 1)
            #expect(replies.first?.text.contains("Yes please") == true)
            #expect(replies.first?.fromAddress == "dora@example.org")
            #expect(reactor.events.map(\.kind) == [.replied])
            try await h.eventually("the reply is forwarded to the sender") {
                h.inbox.messages.contains { $0.envelope.recipients == ["news@example.com"] && $0.envelope.reversePath.isEmpty }
            }
            #expect(try await h.store.replies.list(module: h.contacts.id, record: recordID).first?.forwardedAt != nil)

            // An out-of-office answer is no reply.
            let auto = Array("From: dora@example.org\r\nAuto-Submitted: auto-replied\r\nIn-Reply-To: \(sentID)\r\nMessage-ID: <ooo@x>\r\n\r\nAway\r\n".utf8)
            try await inbound.receive(data: auto, from: "dora@example.org", to: ["replies@" + Self.domain])
            #expect(try await h.store.replies.list(module: h.contacts.id, record: recordID).count == 1)

            // From another address (a forward): found by the address hash among the mass email's.
            let forwarded = Array("From: d.alias@example.net\r\nReferences: <x@y> \(sentID)\r\nMessage-ID: <reply.2@example.net>\r\n\r\nAgain\r\n".utf8)
            try await inbound.receive(data: forwarded, from: "d.alias@example.net", to: ["replies@" + Self.domain])
            #expect(try await h.store.replies.list(module: h.contacts.id, record: recordID).count == 2)
            // A forged Message-ID of ours that names nobody is dropped.
            let forged = Array("From: x@example.net\r\nIn-Reply-To: <herald.\(m.id).0.0000000000000000@example.com>\r\nMessage-ID: <f@x>\r\n\r\nhi\r\n".utf8)
            try await inbound.receive(data: forged, from: "x@example.net", to: ["replies@" + Self.domain])
            #expect(try await h.store.replies.list(massEmail: m.id).count == 2)
            #expect(try await h.store.massEmails.figures([m.id])[m.id]?.replied == 1, "two replies, one recipient")
            // A reply in HTML alone is kept as the text it reads, not its markup.
            let html = Array("""
                From: dora@example.org\r\nIn-Reply-To: \(sentID)\r\nMessage-ID: <reply.3@example.org>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
                <div dir="ltr"><p>Call <b>me</b> &amp; soon</p><style>p{}</style></div>\r\n
                """.utf8)
            try await inbound.receive(data: html, from: "dora@example.org", to: ["replies@" + Self.domain])
            let texts = try await h.store.replies.list(module: h.contacts.id, record: recordID).map(\.text)
            #expect(texts.contains { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "Call me & soon" }, "\(texts)")
        }
    }

    @Test func ourMessageIDsAreKeyedAndRecognised() throws {
        let signer = MessageTokenSigner(secret: String(repeating: "s", count: 40))
        let id = HeraldMessageID.make(massEmail: 12, step: 1, address: "Ann@Example.org", domain: "example.com", signer: signer)
        let parsed = try #require(HeraldMessageID(parsing: "<\(id)>"))
        #expect(parsed.massEmail == 12 && parsed.step == 1 && parsed.code.count == 16)
        #expect(parsed.names("ann@example.org", signer: signer))
        // The code is keyed: the plain SHA-256 of the address (what anyone can compute) is not
        // it, another key gives another, and another mass email or step another.
        #expect(!parsed.names("bob@example.org", signer: signer))
        #expect(!parsed.names("ann@example.org", signer: MessageTokenSigner(secret: String(repeating: "t", count: 40))))
        #expect(HeraldMessageID.make(massEmail: 13, step: 1, address: "ann@example.org", domain: "example.com", signer: signer) != id)
        let unkeyed = SHA256.hash(data: Data("ann@example.org".utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        #expect(parsed.code != unkeyed)
        #expect(HeraldMessageID(parsing: "herald.x.1.0123456789abcdef@example.com") == nil)
        #expect(HeraldMessageID(parsing: "other.12.1.0123456789abcdef@example.com") == nil)
        #expect(HeraldMessageID(parsing: "herald.12.1.0123@example.com") == nil)
    }

    @Test func returnPathsRoundTrip() {
        let paths = ReturnPaths(domain: "Bounces.Example.com", signer: MessageTokenSigner(secret: String(repeating: "s", count: 40)))
        let address = paths.bounceAddress(for: 42)
        #expect(paths.target(of: address) == .bounce(42))
        #expect(paths.target(of: address.uppercased()) == .bounce(42))
        #expect(paths.target(of: paths.replyAddress(for: 7)) == .reply(7))
        #expect(paths.target(of: "bounce+abc@bounces.example.com") == .badToken)
        #expect(paths.target(of: "replies@bounces.example.com") == .other)
        #expect(paths.target(of: address.replacingOccurrences(of: "bounces.example.com", with: "example.net")) == nil)
        #expect(ReturnPaths.problem(withDomain: "bounces.example.com") == nil)
        #expect(ReturnPaths.problem(withDomain: "localhost") != nil)
        #expect(ReturnPaths.problem(withDomain: "a..b") != nil)
        #expect(ReturnPaths.problem(withDomain: "bad domain.com") != nil)
    }
}
