import Foundation
import HeraldCore
import HeraldStore
import SQLKit
import Testing

/// Who a follow-up goes to: ``MassEmailStore/followUpRecipients(of:step:in:source:exclusions:now:zone:after:limit:)``.
@Suite struct FollowUpRecipientTests {
    /// A mass email sent to eleven contacts, with what each did afterwards.
    struct Sent {
        var store: Store
        var massEmail: MassEmail
        var module: Module
        var source: RecipientAddressSource

        func select(_ match: FollowUpExclusions.Match, _ rules: [FollowUpExclusions.Rule], step: Int = 1,
                    limit: Int = 1000) async throws -> (addresses: [String], excluded: [FollowUpExclusionReason: Int]) {
            let exclusions = try FollowUpExclusions(match: match, rules: rules).resolve(in: module).get()
            var addresses: [String] = []
            var excluded: [FollowUpExclusionReason: Int] = [:]
            var after: Int64 = 0
            while true {
                let chunk = try await store.massEmails.followUpRecipients(
                    of: massEmail.id, step: step, in: module, source: source, exclusions: exclusions,
                    now: Date(timeIntervalSince1970: 1_800_000_000), zone: TimeZone(identifier: "UTC")!, after: after, limit: limit)
                guard let cursor = chunk.cursor else { break }
                addresses += chunk.recipients.map(\.address)
                excluded.merge(chunk.excluded, uniquingKeysWith: +)
                after = cursor
            }
            return (addresses.map { String($0.prefix(while: { $0 != "@" })) }.sorted(), excluded)
        }

        /// The record the mass email's message to `address` went to.
        func recordID(_ address: String) async throws -> Int64 {
            let id = massEmail.id
            return try await store.database.read { db in
                try await db.raw("SELECT record_id FROM mail_messages WHERE mass_email_id = \(bind: id) AND step = 0 AND address = \(bind: address)")
                    .first()!.decode(column: "record_id", as: Int64.self)
            }
        }
    }

    static func sent(_ store: Store) async throws -> Sent {
        let f = try await MassEmailStoreTests.fixture(store)
        var ids: [String: Int64] = [:]
        for name in ["opened", "clicked", "nothing", "bounced", "unsubscribed", "optedout", "suppressed", "replied", "failed", "german", "soft"] {
            ids[name] = try await MassEmailStoreTests.contact(f, "\(name)@example.org", optOut: name == "optedout")
        }
        for name in ["german", "opened"] {
            _ = try await store.records.update(in: f.contacts, id: ids[name]!, RecordChanges(["mailing_country": .text("DE")]), scope: .all)
        }
        let massEmail = try await store.massEmails.create(
            MassEmailDraft(name: "Sent", recipients: .records(Array(ids.values)), templateID: f.template.id, senderID: f.sender.id, schedule: .draft),
            in: f.contacts, owner: f.admin.id)
        _ = try await store.massEmails.enqueue(massEmail.id, step: 0, recipients: ids.map { ($0.value, "\($0.key)@example.org") },
                                               cursor: 0, skipped: [:], now: 1_700_000_000)
        let db = store.database
        let repliedRecord = ids["replied"]!
        try await db.transaction { db in
            func set(_ name: String, _ assignments: SQLQueryString) async throws {
                try await db.raw("UPDATE mail_messages SET \(assignments) WHERE mass_email_id = \(bind: massEmail.id) AND address = \(bind: "\(name)@example.org")").run()
            }
            try await db.raw("UPDATE mail_messages SET status = 'sent', sent_at = 1700000100 WHERE mass_email_id = \(bind: massEmail.id)").run()
            try await set("opened", "opened_at = 1700000200")
            try await set("clicked", "opened_at = 1700000200, clicked_at = 1700000300")
            // Only a machine opened it: that is not an open.
            try await set("nothing", "machine_opened_at = 1700000200")
            try await set("bounced", "status = 'bounced'")
            try await set("unsubscribed", "unsubscribed_at = 1700000400")
            try await set("failed", "status = 'failed', sent_at = NULL")
            try await db.raw("INSERT INTO suppressions (address, reason, created_at) VALUES ('suppressed@example.org', 'complaint', 1700000500)").run()
            let replied = try await db.raw("SELECT id FROM mail_messages WHERE address = 'replied@example.org'").first()!.decode(column: "id", as: Int64.self)
            try await db.raw("""
                INSERT INTO replies (message_id, mass_email_id, record_id, headers, text, fingerprint, received_at)
                VALUES (\(bind: replied), \(bind: massEmail.id), \(bind: repliedRecord), '', 'Thanks', 'r1', 1700000600)
                """).run()
            let soft = try await db.raw("SELECT id FROM mail_messages WHERE address = 'soft@example.org'").first()!.decode(column: "id", as: Int64.self)
            try await db.raw("""
                INSERT INTO bounces (message_id, mass_email_id, address, kind, source, fingerprint, received_at)
                VALUES (\(bind: soft), \(bind: massEmail.id), 'soft@example.org', 'soft', 'smtp', 'b1', 1700000700)
                """).run()
        }
        let modules = try await store.modules.all()
        return Sent(store: store, massEmail: massEmail, module: f.contacts, source: RecipientAddressSource.of(f.contacts, among: modules)!)
    }

    @Test(arguments: TestDatabase.kinds)
    func theBouncedUnsubscribedOptedOutAndSuppressedNeverGetAFollowUp(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let sent = try await Self.sent(store)
            let (addresses, excluded) = try await sent.select(.any, [])
            // "failed" never got the mass email, so it is no recipient and not counted.
            #expect(addresses == ["clicked", "german", "nothing", "opened", "replied", "soft"])
            #expect(excluded == [.bounced: 1, .unsubscribed: 1, .optedOut: 1, .suppressed: 1])
            // The same, a few at a time.
            let paged = try await sent.select(.all, [], limit: 3)
            #expect(paged.addresses == addresses)
            #expect(paged.excluded == excluded)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func criteriaCombineWithAllOrAny(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let sent = try await Self.sent(store)
            let germany = FollowUpExclusions.Rule.field(.condition(field: "mailing_country", op: .equals, value: "de"))

            var r = try await sent.select(.any, [.engagement(.opened), .engagement(.replied)])
            #expect(r.addresses == ["german", "nothing", "soft"])
            #expect(r.excluded[.criteria] == 3)

            r = try await sent.select(.all, [.engagement(.opened), .engagement(.notClicked)])
            #expect(r.addresses == ["clicked", "german", "nothing", "replied", "soft"])

            r = try await sent.select(.any, [.engagement(.clicked)])
            #expect(r.addresses == ["german", "nothing", "opened", "replied", "soft"])

            r = try await sent.select(.any, [.engagement(.notOpened)])
            #expect(r.addresses == ["clicked", "opened"])

            // A soft bounce is no bounce for the mass email, but the rule sees it.
            r = try await sent.select(.any, [.engagement(.bounced)])
            #expect(r.addresses == ["clicked", "german", "nothing", "opened", "replied"])
            #expect(r.excluded == [.bounced: 1, .unsubscribed: 1, .optedOut: 1, .suppressed: 1, .criteria: 1])

            // Field conditions on the record, alone and with engagement.
            r = try await sent.select(.any, [germany])
            #expect(r.addresses == ["clicked", "nothing", "replied", "soft"])
            r = try await sent.select(.all, [.engagement(.notOpened), germany])
            #expect(r.addresses == ["clicked", "nothing", "opened", "replied", "soft"])
            r = try await sent.select(.any, [.engagement(.clicked), .field(.all([
                .condition(field: "mailing_country", op: .isNotEmpty, value: .null),
                .condition(field: "email", op: .startsWith, value: "ger"),
            ]))])
            #expect(r.addresses == ["nothing", "opened", "replied", "soft"])
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func whatARecipientDidWithAnEarlierFollowUpCounts(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let sent = try await Self.sent(store)
            let nothing = try await sent.recordID("nothing@example.org")
            _ = try await store.massEmails.enqueue(sent.massEmail.id, step: 1, recipients: [(nothing, "nothing@example.org")],
                                                   cursor: 0, skipped: [:], now: 1_700_100_000)
            try await store.database.transaction { db in
                try await db.raw("""
                    UPDATE mail_messages SET status = 'sent', opened_at = 1700100100
                    WHERE mass_email_id = \(bind: sent.massEmail.id) AND step = 1
                    """).run()
            }
            // Follow-up 1 itself looks only at the mass email; follow-up 2 sees the open of follow-up 1.
            #expect(try await sent.select(.any, [.engagement(.opened)], step: 1).addresses == ["german", "nothing", "replied", "soft"])
            #expect(try await sent.select(.any, [.engagement(.opened)], step: 2).addresses == ["german", "replied", "soft"])
            // An unsubscribe from follow-up 1 keeps follow-up 2 away.
            try await store.database.transaction { db in
                try await db.raw("UPDATE mail_messages SET unsubscribed_at = 1700100200 WHERE mass_email_id = \(bind: sent.massEmail.id) AND step = 1").run()
            }
            #expect(try await sent.select(.any, [], step: 2).excluded[.unsubscribed] == 2)
        }
    }
}
