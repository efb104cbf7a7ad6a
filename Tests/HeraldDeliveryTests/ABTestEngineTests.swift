import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Mail
import SQLKit
import Testing

/// An A/B test through the scheduler and the engine with the test's clock: the test share
/// split evenly, people's clicks (not machines') choosing the winner when the wait is over,
/// and the winner sent to exactly the rest, once, with two processes deciding at once.
@Suite(.serialized) struct ABTestEngineTests {
    static let person = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    static let scanner = "Mozilla/5.0 (compatible; Barracuda LinkScanner)"

    /// The tracked click links in a received message, as the recipient's mail program shows them.
    static func clickLinks(_ message: ReceivedMessage) -> [String] {
        let text = String(decoding: message.data, as: UTF8.self).replacingOccurrences(of: "=\r\n", with: "")
            .replacingOccurrences(of: "=3D", with: "=")
        return text.matches(of: /http:\/\/herald\.test\/t\/c\/([A-Za-z0-9_\-.=]+)/).map { String($0.1) }
    }

    /// What the click route does with a request for `token`: where it leads, and the hit noted.
    static func click(_ h: EngineHarness, _ token: String, userAgent: String) async throws -> String? {
        guard let verified = h.delivery.links.signer.verify(token), case .click(let link) = verified.purpose,
              let url = try await h.store.engagement.clickTarget(message: verified.messageID, link: link) else { return nil }
        h.delivery.engagement.note(TrackingHit(.click(link: link), message: verified.messageID, at: h.clock.now(), userAgent: userAgent))
        return url
    }

    static func tick(_ scheduler: MassEmailScheduler) async throws {
        try await scheduler.tick()
        await scheduler.settle()
    }

    @Test(arguments: TestDatabase.kinds)
    func theWinnerByPeoplesClicksGoesToExactlyTheRestOnce(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind, processes: 2) { h in
            let a = try await h.store.templates.create(in: h.contacts, name: "Plain", subject: "News for {{first_name}}",
                                                       html: "<p>Hello {{first_name}}, <a href=\"https://example.com/a\">read on</a></p>", text: nil, by: h.admin.id)
            let b = try await h.store.templates.create(in: h.contacts, name: "Bold", subject: "News",
                                                       html: "<p><a href=\"https://example.com/b-top\">Top</a> and <a href=\"https://example.com/b\">more</a></p>",
                                                       text: nil, by: h.admin.id)
            var ids: [Int64] = []
            for i in 1...1000 { ids.append(try await h.contact("ab\(i)@example.org", first: "Reader\(i)")) }
            let test = ABTest(variants: [ABTest.Variant(), ABTest.Variant(templateID: b.id, subject: "Big news, {{first_name}}")],
                              testPercent: 20, measure: .clicks, wait: .hours(4))
            // A trigger action works as without a test: people's clicks fire it, whatever their variant.
            let draft = MassEmailDraft(name: "Which one", recipients: .list(try await list(h, ids)), templateID: a.id, senderID: h.sender.id,
                                       schedule: .now,
                                       triggerActions: [TriggerAction(event: .clicked, effect: .updateField(field: "mailing_city", value: .string("Clicked")))],
                                       abTest: test)
            let m = try await h.store.massEmails.create(draft, in: h.contacts, owner: h.admin.id, now: Date(timeIntervalSince1970: TimeInterval(h.clock.now())))
            try await Self.tick(h.delivery.scheduler)
            await h.delivery.engine.wake()

            // The test share: 200, 100 of each variant; the other 800 wait.
            try await h.eventually("the test share arrives") {
                let sent = try await h.store.massEmails.figures([m.id])[m.id]?[.sent] ?? 0
                return h.inbox.count >= 200 && sent >= 200
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.inbox.count == 200)
            let tested = h.inbox.messages
            let bMessages = tested.filter { String(decoding: $0.data, as: UTF8.self).contains("Subject: Big news, Reader") }
            let aMessages = tested.filter { String(decoding: $0.data, as: UTF8.self).contains("Subject: News for Reader") }
            #expect(bMessages.count == 100)
            #expect(aMessages.count == 100)
            let figures = try #require(try await h.store.massEmails.figures([m.id])[m.id])
            #expect(figures[.held] == 800)
            #expect(try await h.status(m.id) == .sending)
            let decideAt = try #require(try await h.store.massEmails.find(m.id).abDecideAt)
            #expect(decideAt == h.clock.now() + 4 * 3600)

            h.clock.advance(by: 600)
            // Ten minutes later (a click within seconds of delivery is a scanner's, whoever it says it is),
            // people click 15 of B's messages (its second link), 5 of A's; a link scanner clicks
            // 60 of A's, which must not count. Each link leads to its own variant's address.
            for message in bMessages.prefix(15) {
                let links = Self.clickLinks(message)
                #expect(links.count == 2)
                #expect(try await Self.click(h, links[1], userAgent: Self.person) == "https://example.com/b")
            }
            for (n, message) in aMessages.prefix(65).enumerated() {
                let links = Self.clickLinks(message)
                #expect(links.count == 1)
                #expect(try await Self.click(h, links[0], userAgent: n < 5 ? Self.person : Self.scanner) == "https://example.com/a")
            }
            await h.delivery.engagement.flush()
            let results = try await h.store.abTests.results(m.id, variants: 2)
            #expect(results.map(\.clicked) == [5, 15])
            let table = h.contacts.table
            try await h.eventually("the trigger action ran for the 20 people who clicked") {
                try await h.store.database.read { db in
                    try await db.raw("SELECT COUNT(*) AS n FROM \(ident: table) WHERE f_mailing_city = 'Clicked'").first()!.decode(column: "n", as: Int.self)
                } == 20
            }

            // Not before the wait is over; then both processes' schedulers decide at once.
            h.clock.advance(by: decideAt - h.clock.now() - 1)
            try await Self.tick(h.delivery.scheduler)
            #expect(try await h.store.massEmails.find(m.id).abDecision == nil)
            h.clock.advance(by: 1)
            async let first: Void = Self.tick(h.delivery.scheduler)
            async let second: Void = Self.tick(h.others[0].scheduler)
            _ = try await (first, second)
            let decided = try await h.store.massEmails.find(m.id)
            #expect(decided.abDecision?.winner == 1)
            #expect(decided.abDecision?.byHand == false)
            #expect(decided.abDecision?.note.contains("variant B had the most clicks") == true)
            await h.delivery.engine.wake()
            await h.others[0].engine.wake()

            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            #expect(h.inbox.count == 1000)
            let recipients = h.inbox.deliveries.map(\.to)
            #expect(Set(recipients).count == 1000)  // none twice
            let rest = h.inbox.messages.dropFirst(200)
            #expect(Set(rest.compactMap(\.envelope.recipients.first)).isDisjoint(with: Set(tested.compactMap(\.envelope.recipients.first))))
            #expect(rest.allSatisfy { String(decoding: $0.data, as: UTF8.self).contains("Subject: Big news, Reader") })
            #expect(try await h.store.massEmails.figures([m.id])[m.id]?[.sent] == 1000)
            // The variants' figures stay the test share's.
            #expect(try await h.store.abTests.results(m.id, variants: 2).map(\.sent) == [100, 100])
            #expect(try await h.store.abTests.results(m.id, variants: 2).map(\.clicked) == [5, 15])
            // Picking by hand now is refused: the winner is chosen.
            await #expect(throws: HeraldError.self) { try await h.delivery.scheduler.pickWinner(m.id, variant: 0, by: "Ann") }
        }
    }

    @Test func aPersonPicksTheWinnerBeforeTheWaitAndFollowUpsReplyToEachVariant() async throws {
        try await EngineHarness.with(.sqlite) { h in
            let reminder = try await h.store.templates.create(in: h.contacts, name: "Reminder", subject: "Reminder",
                                                              html: "<p>Still there?</p>", text: nil, by: h.admin.id)
            var ids: [Int64] = []
            for i in 1...20 { ids.append(try await h.contact("p\(i)@example.org", first: "P\(i)")) }
            let test = ABTest(variants: [ABTest.Variant(subject: "First idea"), ABTest.Variant(subject: "Second idea")],
                              testPercent: 50, measure: .opens, wait: .days(2))
            let draft = MassEmailDraft(name: "By hand", recipients: .records(ids), templateID: h.template.id, senderID: h.sender.id,
                                       schedule: .now, followUps: [FollowUp(templateID: reminder.id, delay: .hours(1), threaded: true)],
                                       abTest: test)
            let m = try await h.store.massEmails.create(draft, in: h.contacts, owner: h.admin.id, now: Date(timeIntervalSince1970: TimeInterval(h.clock.now())))
            try await Self.tick(h.delivery.scheduler)
            await h.delivery.engine.wake()
            try await h.eventually("the test share arrives") { (try await h.store.massEmails.figures([m.id])[m.id]?[.sent] ?? 0) == 10 }
            try await h.delivery.scheduler.pickWinner(m.id, variant: 1, by: "Ann")
            let decision = try #require(try await h.store.massEmails.find(m.id).abDecision)
            #expect(decision.byHand && decision.winner == 1 && decision.note == "picked by Ann")
            await #expect(throws: HeraldError.self) { try await h.delivery.scheduler.pickWinner(m.id, variant: 0, by: "Bob") }
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            #expect(h.inbox.deliveries.filter { $0.subject == "Second idea" }.count == 15)
            #expect(h.inbox.deliveries.filter { $0.subject == "First idea" }.count == 5)
            // The follow-up goes to all 20, each as a reply to the subject they got.
            let subjects = Dictionary(uniqueKeysWithValues: h.inbox.deliveries.map { ($0.to, $0.subject) })
            h.clock.advance(by: 3600)
            try await Self.tick(h.delivery.scheduler)
            await h.delivery.engine.wake()
            try await h.eventually("the follow-up is sent") { h.inbox.count == 40 }
            for reply in h.inbox.deliveries.dropFirst(20) {
                #expect(reply.subject == "Re: \(subjects[reply.to] ?? "?")")
            }
        }
    }

    /// A static list of the records (a view or a list is what a thousand recipients come from).
    func list(_ h: EngineHarness, _ ids: [Int64]) async throws -> Int64 {
        try await h.store.lists.create(in: h.contacts, name: "Readers", by: h.admin.id, members: ids).id
    }
}
