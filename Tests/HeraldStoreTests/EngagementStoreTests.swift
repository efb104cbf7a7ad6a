import Foundation
import HeraldCore
import HeraldStore
import Testing

@Suite struct EngagementStoreTests {
    typealias F = MassEmailStoreTests

    /// A mass email with one message per address, each sent at time 1,000.
    static func sent(_ f: F.Fixture, _ addresses: [String]) async throws -> (MassEmail, [ClaimedMessage]) {
        var ids: [Int64] = []
        for address in addresses { ids.append(try await F.contact(f, address)) }
        let m = try await f.store.massEmails.create(
            MassEmailDraft(name: "Tracked", recipients: .records(ids), templateID: f.template.id, senderID: f.sender.id, schedule: .now),
            in: f.contacts, owner: f.admin.id)
        _ = try await f.store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
        _ = try await f.store.massEmails.enqueue(m.id, step: 0, recipients: zip(ids, addresses).map { ($0, $1) },
                                                 cursor: ids.max() ?? 0, skipped: [:], now: 0)
        try await f.store.nodes.register("n", now: 1)
        let claimed = try await f.store.messages.claim(massEmail: m.id, node: "n", limit: 100, now: 1)
        try await f.store.messages.record(claimed.map {
            MessageOutcome(id: $0.id, claim: 1, status: .sent, attempts: 1, code: 250, sentAt: 1_000)
        }, node: "n")
        return (m, claimed.sorted { $0.id < $1.id })
    }

    static let browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"

    @Test(arguments: TestDatabase.kinds)
    func hitsBecomeFirstTimesCountsAndEventsPeopleApartFromMachines(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await F.fixture(store)
            let (m, messages) = try await Self.sent(f, ["ada@example.org", "bob@example.org", "cy@example.org"])
            let (ada, bob, cy) = (messages[0].id, messages[1].id, messages[2].id)
            let events = try await store.engagement.record([
                TrackingHit(.open, message: ada, at: 1_002, userAgent: Self.browser),            // a gateway's scan: too soon
                TrackingHit(.open, message: ada, at: 2_000, userAgent: Self.browser),
                TrackingHit(.open, message: ada, at: 2_500, userAgent: Self.browser),
                TrackingHit(.click(link: 0), message: bob, at: 3_000, userAgent: Self.browser),   // clicked, images off
                TrackingHit(.open, message: cy, at: 4_000, userAgent: "Mozilla/5.0"),             // Apple's privacy proxy
                TrackingHit(.trap, message: cy, at: 4_001, userAgent: Self.browser),
                TrackingHit(.open, message: 999_999, at: 4_000, userAgent: Self.browser),         // no such message: dropped
            ])
            #expect(events.filter { !$0.isMachine }.map(\.kind) == [.opened, .opened, .clicked, .opened])
            #expect(events.filter(\.isMachine).map(\.kind) == [.opened, .opened, .clicked])
            #expect(Set(events.map(\.massEmailID)) == [m.id])

            // The rows as written: link 0 is a link, and a missing reason or agent is NULL.
            let stored = try await store.database.read { db in
                try await db.raw("SELECT link, is_machine, reason, user_agent, at FROM message_events ORDER BY at, id").all()
            }
            let bobs = try #require(stored.first { (try? $0.decode(column: "at", as: Int64.self)) == 3_000 })
            #expect(try bobs.decode(column: "link", as: Int?.self) == 0)
            #expect(try bobs.decode(column: "reason", as: String?.self) == nil)
            #expect(try bobs.decode(column: "user_agent", as: String?.self) == Self.browser)
            #expect(try bobs.decode(column: "is_machine", as: Bool.self) == false)
            let scan = try #require(stored.first)
            #expect(try scan.decode(column: "link", as: Int?.self) == nil)
            #expect(try scan.decode(column: "reason", as: String?.self) != nil)
            #expect(try scan.decode(column: "is_machine", as: Bool.self) == true)

            let figures = try #require(try await store.massEmails.figures([m.id])[m.id])
            #expect(figures.opened == 2, "Ada opened; Bob's click counts as an open")
            #expect(figures.clicked == 1)
            #expect(figures.machineOpened == 1, "only machines opened Cy's")
            #expect(figures.machineClicked == 1)

            let hourly = try await store.engagement.hourly(massEmail: m.id)
            #expect(hourly.map(\.hour) == [0])
            #expect(hourly.first?.opens == 2 && hourly.first?.clicks == 1)

            // Later hits add to the counts but keep the first times.
            _ = try await store.engagement.record([TrackingHit(.open, message: ada, at: 9_000, userAgent: Self.browser)])
            let rows = try await store.messages.page(massEmail: m.id)
            let adaRow = try #require(rows.first { $0.id == ada })
            #expect(adaRow.openedAt == 2_000)
            #expect(adaRow.opens == 3)
            #expect(adaRow.machineOpens == 1)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func clickTargetsAreTheStoredLinksOfTheMessagesMassEmail(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await F.fixture(store)
            let (m, messages) = try await Self.sent(f, ["ada@example.org"])
            try await store.engagement.saveLinks(["https://example.com/a?x=1&y=2", "https://example.com/b"], massEmail: m.id, step: 0)
            // A second process saving other links changes nothing: every process redirects alike.
            try await store.engagement.saveLinks(["https://evil.example/"], massEmail: m.id, step: 0)
            #expect(try await store.engagement.clickTarget(message: messages[0].id, link: 0) == "https://example.com/a?x=1&y=2")
            #expect(try await store.engagement.clickTarget(message: messages[0].id, link: 1) == "https://example.com/b")
            #expect(try await store.engagement.clickTarget(message: messages[0].id, link: 2) == nil)
            #expect(try await store.engagement.clickTarget(message: 424_242, link: 0) == nil)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func unsubscribingSuppressesOptsOutAndHappensOnce(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await F.fixture(store)
            let (m, messages) = try await Self.sent(f, ["Ada@Example.org"])
            let target = try #require(try await store.engagement.unsubscribeTarget(message: messages[0].id))
            #expect(target.unsubscribedAt == nil)
            let modules = try await store.modules.all()
            let source = RecipientAddressSource.of(f.contacts, among: modules)
            let event = try await store.engagement.unsubscribe(target, in: f.contacts, source: source, how: "test", at: 5_000)
            #expect(event?.kind == .unsubscribed)
            #expect(try await store.engagement.unsubscribe(target, in: f.contacts, source: source, how: "test", at: 6_000) == nil)
            #expect(try await store.suppressions.suppressed(among: ["ada@example.org"]) == ["ada@example.org"])
            let record = try #require(try await store.records.find(in: f.contacts, id: messages[0].recordID, scope: .all))
            #expect(record["email_opt_out"] == .bool(true))
            #expect(try await store.engagement.unsubscribeTarget(message: messages[0].id)?.unsubscribedAt == 5_000)
            #expect(try await store.massEmails.figures([m.id])[m.id]?.unsubscribed == 1)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aDealsUnsubscribeOptsOutItsContact(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await F.fixture(store)
            let deals = try await store.modules.named("deals")
            let contact = try await F.contact(f, "dee@example.org")
            let deal = try await store.records.create(in: deals, RecordChanges([
                "deal_name": .text("Big one"), "contact": .reference(contact), "owner": .reference(f.admin.id),
            ]), owner: f.admin.id)
            let template = try await store.templates.create(in: deals, name: "Deal news", subject: "News", html: "<p>Hi</p>",
                                                            text: nil, by: f.admin.id)
            let m = try await store.massEmails.create(
                MassEmailDraft(name: "Deals", recipients: .records([deal.id]), templateID: template.id, senderID: f.sender.id,
                               schedule: .now), in: deals, owner: f.admin.id)
            _ = try await store.massEmails.enqueue(m.id, step: 0, recipients: [(deal.id, "dee@example.org")], cursor: deal.id,
                                                   skipped: [:], now: 0)
            let message = try #require(try await store.messages.page(massEmail: m.id).first)
            let target = try #require(try await store.engagement.unsubscribeTarget(message: message.id))
            #expect(target.module == "deals")
            let modules = try await store.modules.all()
            try await store.engagement.unsubscribe(target, in: deals, source: RecipientAddressSource.of(deals, among: modules), how: "test")
            let record = try #require(try await store.records.find(in: f.contacts, id: contact, scope: .all))
            #expect(record["email_opt_out"] == .bool(true))
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func suppressionsAreAddedInBulkSearchedAndPaged(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let addresses = (1...1_200).map { "p\($0)@example.org" }
            #expect(try await store.suppressions.add(addresses, reason: "import") == 1_200)
            #expect(try await store.suppressions.add(["p1@example.org", "new@example.org"], reason: "import") == 1)
            #expect(try await store.suppressions.count() == 1_201)
            #expect(try await store.suppressions.count(search: "P11") == 111, "p11, p110–p119, p1100–p1199, ignoring case")
            #expect(try await store.suppressions.count(search: "_") == 0, "an underscore is a character, not a wildcard")
            var seen: [String] = []
            var after = ""
            while true {
                let page = try await store.suppressions.page(after: after, limit: 500)
                seen += page.map(\.address)
                guard page.count == 500 else { break }
                after = page.last!.address
            }
            #expect(seen.count == 1_201 && seen == seen.sorted())

            // A user is shown the addresses of the records they own, in any module with an email field.
            let user = try await store.users.create(email: "u@example.com", name: "U", role: .user, passwordHash: "x", timeZone: "UTC")
            let modules = try await store.modules.all()
            _ = try await store.records.create(in: try await store.modules.named("contacts"),
                                               RecordChanges(["last_name": .text("P"), "email": .text("P7@Example.org")]), owner: user.id)
            _ = try await store.records.create(in: try await store.modules.named("leads"),
                                               RecordChanges(["last_name": .text("Q"), "email": .text("p8@example.org")]), owner: user.id)
            #expect(try await store.suppressions.page(scope: user.scope, modules: modules).map(\.address) == ["p7@example.org", "p8@example.org"])
            #expect(try await store.suppressions.count(search: "p7", scope: user.scope, modules: modules) == 1)
            #expect(try await store.suppressions.count(scope: .all, modules: modules) == 1_201)
        }
    }
}

/// Messages and outcomes travel to SQLite as one JSON text a statement (PostgreSQL: arrays):
/// what a server may answer (quotes, backslashes, line breaks, control characters, any
/// script) and what is absent come back exactly as they went.
@Suite struct MessageBatchWriteTests {
    typealias F = MassEmailStoreTests

    @Test(arguments: TestDatabase.kinds)
    func awkwardTextsAndAbsentValuesArriveAsTheyWere(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await F.fixture(store)
            let addresses = ["o'brien@example.org", "a+tag/x=y@example.org", "{curly}|pipe@example.org", "plain@example.org"]
            var ids: [Int64] = []
            for address in addresses { ids.append(try await F.contact(f, address)) }
            let m = try await store.massEmails.create(
                MassEmailDraft(name: "Odd", recipients: .records(ids), templateID: f.template.id, senderID: f.sender.id, schedule: .now),
                in: f.contacts, owner: f.admin.id)
            _ = try await store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
            let inserted = try await store.massEmails.enqueue(m.id, step: 0, recipients: zip(ids, addresses).map { ($0, $1) },
                                                              cursor: ids.max() ?? 0, skipped: [:], now: 0)
            #expect(inserted == 4)
            try await store.nodes.register("n", now: 1)
            let claimed = try await store.messages.claim(massEmail: m.id, node: "n", limit: 10, now: 1).sorted { $0.id < $1.id }
            #expect(claimed.map(\.address) == addresses)
            let texts: [String?] = ["say \"no\" \\ twice\r\n\ttab \u{01}\u{1F}", "Zustellung abgelehnt – 受信拒否 🚫", nil, "[not json] {\"a\": 1}"]
            try await store.messages.record(zip(claimed, texts).enumerated().map { i, pair in
                MessageOutcome(id: pair.0.id, claim: 1, status: i == 2 ? .deferred : .bounced, attempts: 1,
                               nextAttemptAt: i == 2 ? 9_999 : nil, code: i == 2 ? nil : 550, enhancedCode: i == 2 ? nil : "5.7.1",
                               text: pair.1, sentAt: nil)
            }, node: "n")
            let rows = try await store.messages.page(massEmail: m.id).sorted { $0.id < $1.id }
            #expect(rows.map(\.text) == texts)
            #expect(rows.map(\.status) == [.bounced, .bounced, .deferred, .bounced])
            #expect(rows.map(\.code) == [550, 550, nil, 550])
            #expect(rows.map(\.enhancedCode) == ["5.7.1", "5.7.1", nil, "5.7.1"])
            #expect(rows[2].nextAttemptAt == 9_999)
            #expect(rows.allSatisfy { $0.sentAt == nil })
            // A second enqueue of the same addresses adds nothing.
            let again = try await store.massEmails.enqueue(m.id, step: 0, recipients: zip(ids, addresses).map { ($0, $1) },
                                                           cursor: ids.max() ?? 0, skipped: [:], now: 0)
            #expect(again == 0)
        }
    }
}
