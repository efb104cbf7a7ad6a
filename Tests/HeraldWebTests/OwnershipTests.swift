import Foundation
import HeraldCore
import HeraldStore
import Hummingbird
import HummingbirdTesting
import Testing

/// What a user (not an admin) may not reach through the API: records of others by import or
/// by a lookup; and that the same calls still work within their own records.
@Suite struct OwnershipTests {
    static func id(_ response: TestResponse) -> Int64? {
        if case .number(let n)? = response.json?.objectValue?["id"] { Int64(n) } else { nil }
    }

    @Test func importFindsDuplicatesOnlyAmongTheUsersRecordsAndNamesNoOwner() async throws {
        try await WebFixture.with { f, client in
            let contacts = try await f.store.modules.named("contacts")
            let admins = try #require(Self.id(try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken,
                                                                  json: ["last_name": "Secret", "email": "secret@example.com"])))
            // Update by email: the admin's record is not the user's to match, so nothing of it changes.
            let csv = "Last Name,Email,Title\nTaken,secret@example.com,Mine now\n"
            let dry = try await client.api(.post, "/api/v1/modules/contacts/import?duplicates=skip&dry_run=true", token: f.userToken,
                                           raw: csv, contentType: "text/csv")
            // A dry run says nothing of whether the address is in someone else's records.
            #expect(dry.json?.objectValue?["skipped"] == 0 && dry.json?.objectValue?["created"] == 1)
            let update = try await client.api(.post, "/api/v1/modules/contacts/import?duplicates=update", token: f.userToken,
                                              raw: csv, contentType: "text/csv")
            #expect(update.status == .ok && update.json?.objectValue?["updated"] == 0 && update.json?.objectValue?["created"] == 1)
            let secret = try #require(try await f.store.records.find(in: contacts, id: admins, scope: .all))
            #expect(secret["last_name"] == .text("Secret") && secret["owner"] == .reference(f.admin.id))
            // The owner column is refused for a user, and said where.
            let owned = try await client.api(.post, "/api/v1/modules/contacts/import?duplicates=update", token: f.userToken,
                                             raw: "Last Name,Email,Owner\nTaken,secret@example.com,\(f.user.id)\n", contentType: "text/csv")
            #expect(owned.status == .unprocessableContent && owned.problemFields == ["mapping.Owner"])
            #expect(owned.text.contains("only admins may import the owner"))
            #expect(try await f.store.records.find(in: contacts, id: admins, scope: .all)?["owner"] == .reference(f.admin.id))
            // The allowed path: the user's own record is found and updated; an admin matches any.
            let again = try await client.api(.post, "/api/v1/modules/contacts/import?duplicates=update", token: f.userToken,
                                             raw: "Last Name,Email,Title\nTaken,secret@example.com,Updated\n", contentType: "text/csv")
            #expect(again.json?.objectValue?["updated"] == 1 && again.json?.objectValue?["created"] == 0)
            let admin = try await client.api(.post, "/api/v1/modules/contacts/import?duplicates=skip&dry_run=true", token: f.adminToken,
                                             raw: csv, contentType: "text/csv")
            #expect(admin.json?.objectValue?["skipped"] == 1)
            let adminOwner = try await client.api(.post, "/api/v1/modules/contacts/import?duplicates=allow", token: f.adminToken,
                                                  raw: "Last Name,Email,Owner\nGiven,given@example.com,\(f.user.id)\n", contentType: "text/csv")
            #expect(adminOwner.json?.objectValue?["created"] == 1)
        }
    }

    @Test func aLookupMayNameOnlyARecordTheWriterCanSee() async throws {
        try await WebFixture.with { f, client in
            let admins = try #require(Self.id(try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken,
                                                                  json: ["last_name": "Hidden", "email": "hidden@example.com"])))
            let own = try #require(Self.id(try await client.api(.post, "/api/v1/modules/contacts/records", token: f.userToken,
                                                               json: ["last_name": "Mine", "email": "mine@example.com"])))
            let refused = try await client.api(.post, "/api/v1/modules/deals/records", token: f.userToken,
                                               json: ["deal_name": "Grab", "stage": "Qualification", "contact": .number(Double(admins))])
            #expect(refused.status == .unprocessableContent && refused.problemFields == ["contact"])
            #expect(refused.text.contains("no record \(admins)"))
            let deal = try await client.api(.post, "/api/v1/modules/deals/records", token: f.userToken,
                                            json: ["deal_name": "Fine", "stage": "Qualification", "contact": .number(Double(own))])
            #expect(deal.status == .created)
            let dealID = try #require(Self.id(deal))
            let moved = try await client.api(.patch, "/api/v1/modules/deals/records/\(dealID)", token: f.userToken,
                                             json: ["contact": .number(Double(admins))])
            #expect(moved.status == .unprocessableContent && moved.problemFields == ["contact"])
            // By import too.
            let imported = try await client.api(.post, "/api/v1/modules/deals/import?duplicates=allow", token: f.userToken,
                                                raw: "Deal Name,Stage,Contact\nGrab,Qualification,\(admins)\n", contentType: "text/csv")
            #expect(imported.json?.objectValue?["created"] == 0 && imported.json?.objectValue?["failed"] == 1)
            // An admin may point at anyone's.
            #expect(try await client.api(.post, "/api/v1/modules/deals/records", token: f.adminToken,
                                         json: ["deal_name": "Admin's", "stage": "Qualification", "contact": .number(Double(own))]).status == .created)
        }
    }

    @Test func aListTakesOnlyRecordsTheUserCanSeeAndIsMadeWholeOrNotAtAll() async throws {
        try await WebFixture.with { f, client in
            let admins = try #require(Self.id(try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken,
                                                                  json: ["last_name": "Hidden", "email": "hidden@example.com"])))
            let own = try #require(Self.id(try await client.api(.post, "/api/v1/modules/contacts/records", token: f.userToken,
                                                               json: ["last_name": "Mine", "email": "mine@example.com"])))
            let refused = try await client.api(.post, "/api/v1/modules/contacts/lists", token: f.userToken,
                                               json: ["name": "Grab", "record_ids": [.number(Double(own)), .number(Double(admins))]])
            #expect(refused.status == .unprocessableContent && refused.text.contains("no record \(admins)"))
            // No half-made list stays behind.
            let lists = try await client.api(.get, "/api/v1/modules/contacts/lists", token: f.userToken)
            #expect(lists.json?.objectValue?["lists"]?.arrayValue?.isEmpty == true)
            let made = try await client.api(.post, "/api/v1/modules/contacts/lists", token: f.userToken,
                                            json: ["name": "Mine", "record_ids": [.number(Double(own))]])
            #expect(made.status == .created && made.json?.objectValue?["member_count"] == 1)
            let listID = try #require(Self.id(made))
            let add = try await client.api(.post, "/api/v1/modules/contacts/lists/\(listID)/members", token: f.userToken,
                                           json: ["record_ids": [.number(Double(admins))]])
            #expect(add.status == .unprocessableContent)
            #expect(try await client.api(.post, "/api/v1/modules/contacts/lists/\(listID)/members", token: f.adminToken,
                                         json: ["record_ids": [.number(Double(admins))]]).status == .ok)
        }
    }

    @Test func viewsListsAndTemplatesAreChangedByTheirMakerOrAnAdminAndFrozenWhileUsed() async throws {
        try await WebFixture.with { f, client in
            let contacts = try await f.store.modules.named("contacts")
            let view = try await f.store.views.create(in: contacts, name: "Admin's", criteria: .everything, by: f.admin.id)
            let list = try await f.store.lists.create(in: contacts, name: "Admin's", by: f.admin.id)
            let template = try await f.store.templates.create(in: contacts, name: "Admin's", subject: "Hi", html: "<p>Hi</p>", text: nil, by: f.admin.id)
            let own = try #require(Self.id(try await client.api(.post, "/api/v1/modules/contacts/records", token: f.userToken,
                                                               json: ["last_name": "Mine", "email": "mine@example.com"])))
            // A user may use them, not change them.
            let viewEdit = try await client.api(.put, "/api/v1/modules/contacts/views/\(view.id)", token: f.userToken,
                                                json: ["name": "Mine now", "criteria": ["all": []]])
            #expect(viewEdit.status == .forbidden && viewEdit.text.contains("only the user who made this view or an admin"))
            // Refused as such even when what was sent is wrong too (it answered with the problems first).
            let badEdit = try await client.api(.put, "/api/v1/modules/contacts/views/\(view.id)", token: f.userToken,
                                               json: ["name": "", "criteria": ["all": [["field": "nope"]]]])
            #expect(badEdit.status == .forbidden)
            let user = try await AccountManagementTests().logIn(client, f.user.email, "user-password-1")
            let badPage = try await AccountManagementTests().post(client, "/m/contacts/views/\(view.id)", user, [("name", ""), ("criteria", "{")])
            #expect(badPage.status == .forbidden)
            #expect(try await client.api(.delete, "/api/v1/modules/contacts/views/\(view.id)", token: f.userToken).status == .forbidden)
            #expect(try await client.api(.post, "/api/v1/modules/contacts/lists/\(list.id)/members", token: f.userToken,
                                         json: ["record_ids": [.number(Double(own))]]).status == .forbidden)
            #expect(try await client.api(.delete, "/api/v1/modules/contacts/lists/\(list.id)", token: f.userToken).status == .forbidden)
            let templateEdit = try await client.api(.put, "/api/v1/templates/\(template.id)", token: f.userToken,
                                                    json: ["name": "Mine", "subject": "Gotcha", "html": "<p>x</p>"])
            #expect(templateEdit.status == .forbidden)
            #expect(try await client.api(.delete, "/api/v1/templates/\(template.id)", token: f.userToken).status == .forbidden)
            #expect(try await f.store.views.find(view.id, in: contacts).name == "Admin's")
            #expect(try await f.store.templates.find(template.id).subject == "Hi")
            // Their own, they change; an admin changes anyone's.
            let mine = try await f.store.views.create(in: contacts, name: "User's", criteria: .everything, by: f.user.id)
            #expect(try await client.api(.put, "/api/v1/modules/contacts/views/\(mine.id)", token: f.userToken,
                                         json: ["name": "User's too", "criteria": ["all": []]]).status == .ok)
            #expect(try await client.api(.put, "/api/v1/modules/contacts/views/\(mine.id)", token: f.adminToken,
                                         json: ["name": "Renamed by admin", "criteria": ["all": []]]).status == .ok)

            // Used by a scheduled mass email: frozen, for admins too.
            let sender = try await f.store.senders.create(email: "news@example.com", name: "News", replyTo: nil)
            let later = LocalDate(Date().addingTimeInterval(2 * 86_400), in: TimeZone(identifier: "UTC")!)
            for recipients in [MassEmail.Recipients.view(view.id), .list(list.id)] {
                _ = try await f.store.massEmails.create(
                    MassEmailDraft(name: "Later", recipients: recipients, templateID: template.id, senderID: sender.id,
                                   schedule: .at(date: later, hour: 9, minute: 0, timeZone: "UTC")),
                    in: contacts, owner: f.admin.id)
            }
            let frozenView = try await client.api(.put, "/api/v1/modules/contacts/views/\(view.id)", token: f.adminToken,
                                                  json: ["name": "Changed", "criteria": ["all": [["field": "last_name", "op": "equals", "value": "Lee"]]]])
            #expect(frozenView.status == .conflict && frozenView.text.contains("cannot be changed until it has chosen its recipients"))
            #expect(try await client.api(.post, "/api/v1/modules/contacts/lists/\(list.id)/members", token: f.adminToken,
                                         json: ["record_ids": [.number(Double(own))]]).status == .conflict)
            let frozenTemplate = try await client.api(.put, "/api/v1/templates/\(template.id)", token: f.adminToken,
                                                      json: ["name": "Admin's", "subject": "Changed", "html": "<p>x</p>"])
            #expect(frozenTemplate.status == .conflict && frozenTemplate.text.contains("scheduled mass email 'Later' uses this template"))
        }
    }
}
