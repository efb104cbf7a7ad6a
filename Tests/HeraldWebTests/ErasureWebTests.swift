import Foundation
import HeraldCore
import HeraldDelivery
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Logging
import SQLKit
import Testing

/// "Erase this person" (GDPR art. 17): the API and the pages, admins only.
@Suite struct ErasureWebTests {
    /// Every `table.column` of the database holding a text that contains `needle`.
    static func occurrences(of needle: String, in store: Store) async throws -> [String] {
        try await store.database.read { db in
            var found: [String] = []
            let tables = try await db.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all()
                .map { try $0.decode(column: "name", as: String.self) }
            for table in tables {
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

    /// Ann, sent a mass email an hour ago, which she opened, answered and that bounced.
    static func ann(_ f: WebFixture) async throws -> (massEmail: Int64, message: Int64, record: Int64) {
        let sent = try await EngagementWebTests.sentMessage(f)
        _ = try await f.store.engagement.record([TrackingHit(.open, message: sent.message, at: WallClock.epochSeconds() - 60,
                                                             userAgent: EngagementWebTests.browser)])
        let target = try #require(try await f.store.bounces.message(sent.message))
        _ = try await f.store.replies.record(target, from: "ann@example.com", subject: "Re: News", headers: "From: ann@example.com",
                                             text: "Thanks! Ann, ann@example.com", fingerprint: "r1", receivedAt: WallClock.epochSeconds())
        _ = try await f.store.bounces.record(.init(messageID: sent.message, address: "ann@example.com", kind: .soft,
                                                   diagnostic: "452 ann@example.com over quota", source: "dsn",
                                                   raw: "Final-Recipient: rfc822; ann@example.com", fingerprint: "b1", receivedAt: WallClock.epochSeconds()))
        return sent
    }

    @Test func anAdminErasesThroughTheAPIAndThePersonIsNeverMailedAgain() async throws {
        try await WebFixture.with { f, client in
            let ann = try await Self.ann(f)
            let uri = "/api/v1/modules/contacts/records/\(ann.record)/erase"

            let refused = try await client.api(.post, uri, token: f.userToken)
            #expect(refused.status == .forbidden)
            #expect(try await client.api(.get, "/api/v1/modules/contacts/records/\(ann.record)", token: f.adminToken).status == .ok,
                    "a user's attempt erased nothing")
            #expect(try await Self.occurrences(of: "ann@example.com", in: f.store).count >= 5)
            #expect(try await client.api(.post, "/api/v1/modules/contacts/records/999999/erase", token: f.adminToken).status == .notFound)
            #expect(try await client.api(.post, "/api/v1/modules/nope/records/\(ann.record)/erase", token: f.adminToken).status == .notFound)

            let erased = try await client.api(.post, uri, token: f.adminToken)
            #expect(erased.status == .ok)
            let body = try #require(erased.json?.objectValue)
            #expect(Set(body.keys) == ["module", "id", "erased", "suppressed_addresses"])
            #expect(body["id"] == .number(Double(ann.record)))
            #expect(body["suppressed_addresses"] == .number(1))
            let counts = try #require(body["erased"]?.objectValue)
            #expect(counts["records"] == .number(1) && counts["messages"] == .number(1) && counts["events"] == .number(1))
            #expect(counts["replies"] == .number(1) && counts["bounces"] == .number(1) && counts["mass_email_selections"] == .number(1))
            #expect(counts["unsent_messages"] == .number(0) && counts["suppressions"] == .number(0))

            #expect(try await client.api(.get, "/api/v1/modules/contacts/records/\(ann.record)", token: f.adminToken).status == .notFound)
            #expect(try await f.store.replies.list(massEmail: ann.massEmail).allSatisfy { $0.fromAddress == nil && $0.text.isEmpty })
            #expect(try await f.store.bounces.list(massEmail: ann.massEmail).allSatisfy { $0.address.hasPrefix("erased:") && $0.diagnostic == nil })
            #expect(try await Self.occurrences(of: "ann@example.com", in: f.store) == [], "the plain address is nowhere in the database")
            #expect(try await client.api(.post, uri, token: f.adminToken).status == .notFound, "erased once is gone")

            // Imported again, she is left out of a mass email as suppressed.
            let again = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken,
                                             json: ["last_name": "Lee", "email": "Ann@Example.com"])
            let record = try #require(MassEmailAPITests().id(again))
            let contacts = try await f.store.modules.named("contacts")
            let massEmail = try await f.store.massEmails.create(
                MassEmailDraft(name: "Again", recipients: .records([record]), templateID: try await f.store.templates.all(in: contacts)[0].id,
                               senderID: try await f.store.senders.all()[0].id, schedule: .now),
                in: contacts, owner: f.admin.id)
            _ = try await f.store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
            try await RecipientResolver(store: f.store, logger: Logger(label: "test")).resolve(massEmail.id, node: "t", now: { WallClock.epochSeconds() })
            let progress = try await f.store.massEmails.resolutionProgress(massEmail.id)
            #expect(progress.skipped[.suppressed] == 1)
            #expect(try await f.store.messages.page(massEmail: massEmail.id).isEmpty, "no message is made for her")
        }
    }

    @Test func thePageConfirmsWithTheAddressAndSaysWhatWasErased() async throws {
        try await WebFixture.with { f, client in
            let ann = try await Self.ann(f)
            let record = "/m/contacts/\(ann.record)"
            // Hers to see, so that the page shows, without the button.
            _ = try await f.store.records.update(in: try await f.store.modules.named("contacts"), id: ann.record,
                                                 RecordChanges(["owner": .reference(f.user.id)]), scope: .all)
            let userPage = try await client.execute(uri: record, method: .get, headers: [.authorization: "Bearer \(f.userToken)"])
            #expect(userPage.status == .ok && !userPage.text.contains("Erase this person"))
            #expect(try await client.execute(uri: record + "/erase", method: .get, headers: [.authorization: "Bearer \(f.userToken)"]).status
                    == .forbidden)

            let s = try await FollowUpFormTests().login(f, client)
            let adminPage = try await client.execute(uri: record, method: .get, headers: [.cookie: s.cookie])
            #expect(adminPage.text.contains("href=\"\(record)/erase\"") && adminPage.text.contains("Erase this person…"))
            let confirm = try await client.execute(uri: record + "/erase", method: .get, headers: [.cookie: s.cookie])
            #expect(confirm.status == .ok)
            #expect(confirm.text.contains("data-count=\"replies\">1<") && confirm.text.contains("data-count=\"messages\">1<"))
            #expect(confirm.text.contains("name=\"_csrf\"") && !confirm.text.contains("<script>"))

            let forged = try await client.execute(uri: record + "/erase", method: .post,
                                                  headers: [.cookie: s.cookie, .contentType: "application/x-www-form-urlencoded"],
                                                  body: SessionTests().form([("confirm", "ann@example.com")]))
            #expect(forged.status == .forbidden, "no CSRF token, no erasure")
            let wrong = try await FollowUpFormTests().post(client, record + "/erase", s, [("confirm", "bob@example.com")])
            #expect(wrong.status == .unprocessableContent && wrong.text.contains("type the address"))
            #expect(try await f.store.records.find(in: try await f.store.modules.named("contacts"), id: ann.record, scope: .all) != nil)

            let done = try await FollowUpFormTests().post(client, record + "/erase", s, [("confirm", " ANN@example.com")])
            #expect(done.status == .ok)
            #expect(done.text.contains("was erased") && done.text.contains("data-count=\"bounces\">1<"))
            #expect(try await f.store.records.find(in: try await f.store.modules.named("contacts"), id: ann.record, scope: .all) == nil)
            #expect(try await Self.occurrences(of: "ann@example.com", in: f.store) == [])
        }
    }
}
