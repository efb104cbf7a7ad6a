import Foundation
import HeraldCore
import HeraldStore
import SQLKit
import Testing

@Suite struct ErasureStoreTests {
    typealias F = MassEmailStoreTests

    /// Every text value of every table that contains `needle` (case aside), as `table.column`.
    static func occurrences(of needle: String, in store: Store) async throws -> [String] {
        let kind = store.database.kind
        return try await store.database.read { db in
            let tables: [String] = switch kind {
            case .sqlite:
                try await db.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all()
                    .map { try $0.decode(column: "name", as: String.self) }
            case .postgres:
                try await db.raw("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'").all()
                    .map { try $0.decode(column: "name", as: String.self) }
            }
            var found: [String] = []
            for table in tables {
                // PostgreSQL: each row whole, as text; SQLite: each column, as any value reads as text.
                if kind == .postgres {
                    for row in try await db.raw("SELECT t::text AS row_text FROM \(ident: table) t").all() {
                        if (try row.decode(column: "row_text", as: String.self)).lowercased().contains(needle) { found.append(table) }
                    }
                    continue
                }
                for row in try await db.raw("SELECT * FROM \(ident: table)").all() {
                    for column in row.allColumns {
                        if let text = try? row.decode(column: column, as: String.self), text.lowercased().contains(needle) {
                            found.append("\(table).\(column)")
                        }
                    }
                }
            }
            return found
        }
    }

    /// Ann and Bob, each sent a mass email (opened and clicked), Ann with a reply, a bounce, a
    /// plain suppression, a task, a call, a list membership, a trigger run, and a message of a
    /// second mass email still queued.
    struct Scene {
        var f: F.Fixture
        var ann: Int64
        var bob: Int64
        var sent: MassEmail
        var annMessage: Int64
        var bobMessage: Int64
        var sending: MassEmail
    }

    static func scene(_ store: Store) async throws -> Scene {
        let f = try await F.fixture(store)
        let (sent, messages) = try await EngagementStoreTests.sent(f, ["ann@example.org", "bob@example.org"])
        let (annMessage, bobMessage) = (messages[0], messages[1])
        let (ann, bob) = (annMessage.recordID, bobMessage.recordID)
        _ = try await store.engagement.record([
            TrackingHit(.open, message: annMessage.id, at: 2_000, userAgent: EngagementStoreTests.browser),
            TrackingHit(.click(link: 0), message: annMessage.id, at: 2_100, userAgent: EngagementStoreTests.browser),
            TrackingHit(.open, message: bobMessage.id, at: 2_000, userAgent: EngagementStoreTests.browser),
        ])
        let target = try #require(try await store.bounces.message(annMessage.id))
        _ = try await store.replies.record(target, from: "ann@example.org", subject: "Re: Hi", headers: "From: Ann <ann@example.org>",
                                           text: "Thanks, Ann (ann@example.org)", fingerprint: "reply-1", receivedAt: 3_000)
        _ = try await store.bounces.record(.init(messageID: nil, address: "ann@example.org", kind: .soft, diagnostic: "mailbox of ann@example.org full",
                                                 source: "test", raw: "Final-Recipient: rfc822; ann@example.org", fingerprint: "bounce-1", receivedAt: 3_100))
        try await store.suppressions.add("ann@example.org", reason: "unsubscribed", detail: "ann@example.org said so")
        _ = try await store.tasks.create(CRMTask(id: 0, module: "contacts", recordID: ann, subject: "Call Ann", dueDate: nil, status: .notStarted,
                                                 priority: .normal, assigneeID: f.admin.id, createdAt: 0, modifiedAt: 0), in: f.contacts, by: f.admin.id)
        _ = try await store.calls.create(CRMCall(id: 0, module: "contacts", recordID: ann, subject: "Ann", ownerID: f.admin.id, startAt: 5_000,
                                                 status: .scheduled, createdAt: 0, modifiedAt: 0), in: f.contacts, by: f.admin.id)
        _ = try await store.lists.create(in: f.contacts, name: "VIPs", by: f.admin.id, members: [ann, bob])
        try await store.database.transaction { db in
            try await db.raw("""
                INSERT INTO trigger_runs (mass_email_id, action_index, record_id, event, ran_at) VALUES (\(bind: sent.id), 0, \(bind: ann), 'opened', 2000)
                """).run()
        }
        let sending = try await store.massEmails.create(
            MassEmailDraft(name: "Second", recipients: .records([ann, bob]), templateID: f.template.id, senderID: f.sender.id, schedule: .now),
            in: f.contacts, owner: f.admin.id)
        _ = try await store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
        _ = try await store.massEmails.enqueue(sending.id, step: 0, recipients: [(ann, "ann@example.org"), (bob, "bob@example.org")],
                                               cursor: bob, skipped: [:], now: 0)
        return Scene(f: f, ann: ann, bob: bob, sent: sent, annMessage: annMessage.id, bobMessage: bobMessage.id, sending: sending)
    }

    @Test(arguments: TestDatabase.kinds)
    func erasingDeletesThePersonKeepsTheFiguresAndSuppressesOnlyAKeyedHash(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let s = try await Self.scene(store)
            #expect(try await Self.occurrences(of: "ann@example.org", in: store).count > 5, "the scene names Ann in many places")
            let figuresBefore = try #require(try await store.massEmails.figures([s.sent.id])[s.sent.id])

            let preview = try await store.erasure.preview(in: s.f.contacts, id: s.ann)
            let erased = try await store.erasure.erase(in: s.f.contacts, id: s.ann)
            var expected = Erasure(module: "contacts", recordID: s.ann)
            (expected.records, expected.messages, expected.unsentMessages, expected.events, expected.replies, expected.bounces) = (1, 1, 1, 2, 1, 1)
            (expected.tasks, expected.calls, expected.listMemberships, expected.triggerRuns) = (1, 1, 1, 1)
            (expected.massEmailSelections, expected.suppressions, expected.suppressedAddresses) = (2, 1, 1)
            #expect(erased == expected)
            #expect(preview == expected, "the confirmation page counts what erasing then removes")

            #expect(try await Self.occurrences(of: "ann@example.org", in: store) == [], "the plain address is nowhere")
            #expect(try await store.records.find(in: s.f.contacts, id: s.ann, scope: .all) == nil)
            #expect(try await store.suppressions.suppressed(among: ["ann@example.org", "bob@example.org"]) == ["ann@example.org"],
                    "Ann's address is recognised by its keyed hash alone")
            #expect(try await store.suppressions.page().map(\.address).allSatisfy { SuppressionStore.isErasedKey($0) })

            // The mass email's figures are as before; Bob keeps all of his.
            #expect(try await store.massEmails.figures([s.sent.id])[s.sent.id] == figuresBefore)
            let rows = try await store.messages.page(massEmail: s.sent.id)
            #expect(rows.first { $0.id == s.bobMessage }?.address == "bob@example.org")
            let annRow = try #require(rows.first { $0.id == s.annMessage })
            #expect(annRow.recordID == 0 && annRow.address == "erased:\(s.annMessage)" && annRow.status == .sent && annRow.openedAt == 2_000)
            #expect(try await store.lists.all(in: s.f.contacts).first?.memberCount == 1)
            #expect(try await store.massEmails.find(s.sending.id).recipients == .records([s.bob]))

            // Ann's queued message of the mass email in progress is not sent; Bob's is.
            try await store.nodes.register("n", now: 1)
            let claimed = try await store.messages.claim(massEmail: s.sending.id, node: "n", limit: 10, now: 1)
            #expect(claimed.map(\.address) == ["bob@example.org"])

            // A late bounce naming her erased message is not kept, and she cannot be erased twice.
            let late = try await store.bounces.record(.init(messageID: s.annMessage, address: "ann@example.org", kind: .hard, source: "dsn",
                                                            raw: "ann@example.org", fingerprint: "late", receivedAt: 9_000))
            #expect(late == nil)
            #expect(try await Self.occurrences(of: "ann@example.org", in: store) == [])
            await #expect(throws: HeraldError.self) { try await store.erasure.erase(in: s.f.contacts, id: s.ann) }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aMessageBeingSentHoldsTheErasureUpAndOnlyPeopleAreErased(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let s = try await Self.scene(store)
            try await store.nodes.register("n", now: 1)
            _ = try await store.messages.claim(massEmail: s.sending.id, node: "n", limit: 10, now: 1)
            let error = await #expect(throws: HeraldError.self) { try await store.erasure.erase(in: s.f.contacts, id: s.ann) }
            #expect(error?.kind == .conflict)
            #expect(error?.message.contains("'Second'") == true)
            #expect(try await store.records.find(in: s.f.contacts, id: s.ann, scope: .all) != nil, "nothing was erased")
            #expect(try await Self.occurrences(of: "ann@example.org", in: store).count > 5)

            let deals = try await store.modules.named("deals")
            let deal = try await store.records.create(in: deals, RecordChanges(["deal_name": .text("Big one"), "stage": .text("Qualification")]), owner: s.f.admin.id)
            let refused = await #expect(throws: HeraldError.self) { try await store.erasure.erase(in: deals, id: deal.id) }
            #expect(refused?.kind == .invalid)
            let missing = await #expect(throws: HeraldError.self) { try await store.erasure.erase(in: s.f.contacts, id: 999_999) }
            #expect(missing?.kind == .notFound)
        }
    }

    /// The erased people's keyed hashes are found whatever order the database gives text:
    /// under ICU's English collation ';' sorts before ':', so a range from "hmac:" to "hmac;"
    /// holds nothing, and an erased person would be mailed again.
    @Test(arguments: TestDatabase.kinds)
    func anErasedAddressStaysSuppressedUnderALanguageCollation(kind: DatabaseKind) async throws {
        let options = kind == .postgres ? "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'" : ""
        try await TestDatabase.withStore(kind, options: options) { store in
            let secret = try await store.settings.engagementSecret()
            try await store.suppressions.add(SuppressionStore.erasedKey("ann@example.org", secret: secret), reason: "erased")
            try await store.suppressions.add("hmac.fan@example.org", reason: "unsubscribed")
            #expect(try await store.suppressions.suppressed(among: ["ann@example.org", "bob@example.org", "hmac.fan@example.org"])
                    == ["ann@example.org", "hmac.fan@example.org"])
        }
    }

    @Test func theKeyedHashDependsOnTheSecretAndNotOnCase() {
        let key = SuppressionStore.erasedKey("Ann@Example.org ", secret: "one")
        #expect(key == SuppressionStore.erasedKey("ann@example.org", secret: "one"))
        #expect(key != SuppressionStore.erasedKey("ann@example.org", secret: "two"))
        #expect(key.hasPrefix("hmac:") && key.count == 5 + 64 && !key.contains("ann"))
    }
}
