import Foundation
import HeraldCore
import HeraldStore
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct APITests {
    @Test func authenticationIsRequired() async throws {
        try await WebFixture.with { f, client in
            #expect(try await client.api(.get, "/healthz", token: nil).status == .ok)
            #expect(try await client.api(.get, "/metrics", token: nil).status == .ok)
            #expect(try await client.api(.get, "/api/v1/modules", token: nil).status == .unauthorized)
            #expect(try await client.api(.get, "/api/v1/modules", token: "hrd_wrong").status == .unauthorized)
            #expect(try await client.api(.get, "/api/v1/modules", token: f.userToken).status == .ok)
            let forbidden = try await client.api(.post, "/api/v1/modules", token: f.userToken, json: ["singular_label": "X", "plural_label": "Xs"])
            #expect(forbidden.status == .forbidden)
            let page = try await client.execute(uri: "/m/contacts", method: .get)
            #expect(page.status == .found && page.headers[.location]?.hasPrefix("/login") == true)
        }
    }

    @Test func recordValidationListsEveryBadField() async throws {
        try await WebFixture.with { f, client in
            let bad = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken, json: [
                "email": "not-an-email", "email_opt_out": "perhaps", "nickname": "x", "id": 5, "created_at": "2020-01-01T00:00:00Z",
            ])
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.problemFields) == ["email", "email_opt_out", "nickname", "id", "created_at", "last_name"])
            let malformed = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken, raw: "{\"last_name\": ")
            #expect(malformed.status == .badRequest)
            #expect(malformed.json?.objectValue?["error"]?.objectValue?["code"] == "malformed")
            let notObject = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken, json: ["a", "b"])
            #expect(notObject.status == .unprocessableContent)
            let tooLong = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken,
                                               json: ["last_name": .string(String(repeating: "x", count: 300))])
            #expect(tooLong.status == .unprocessableContent && tooLong.text.contains("the limit is 255"))
            #expect(try await f.store.records.count(in: try await f.store.modules.named("contacts"), criteria: .all([]), scope: .all) == 0)
        }
    }

    @Test func recordLifecycleAndOwnership() async throws {
        try await WebFixture.with { f, client in
            let created = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.userToken,
                                               json: ["last_name": "Quote'\"; DROP TABLE users; --", "email": "q@example.com"])
            #expect(created.status == .created)
            guard case .number(let rawID)? = created.json?.objectValue?["id"] else { Issue.record("no id"); return }
            let id = Int64(rawID)
            #expect(created.json?.objectValue?["owner"] == .number(Double(f.user.id)))
            let giveAway = try await client.api(.patch, "/api/v1/modules/contacts/records/\(id)", token: f.userToken, json: ["owner": .number(Double(f.admin.id))])
            #expect(giveAway.status == .forbidden)
            let patched = try await client.api(.patch, "/api/v1/modules/contacts/records/\(id)", token: f.userToken, json: ["title": "CEO", "email": nil])
            #expect(patched.status == .ok && patched.json?.objectValue?["email"] == .null && patched.json?.objectValue?["title"] == "CEO")
            let listed = try await client.api(.get, "/api/v1/modules/contacts/records?q=drop%20table&sort=last_name&order=desc", token: f.userToken)
            #expect(listed.json?.objectValue?["total"] == 1)
            let badSort = try await client.api(.get, "/api/v1/modules/contacts/records?sort=nope&order=sideways&per_page=1000", token: f.userToken)
            #expect(Set(badSort.problemFields) == ["sort", "order", "per_page"])
            let byID = try await client.api(.get, "/api/v1/modules/contacts/records?sort=id&order=desc&per_page=3", token: f.adminToken)
            let ids = byID.json?.objectValue?["records"]?.arrayValue?.compactMap { record -> Double? in if case .number(let n)? = record.objectValue?["id"] { n } else { nil } } ?? []
            #expect(byID.status == .ok && !ids.isEmpty && ids == ids.sorted(by: >), "sort=id names the order without a sort: \(byID.text.prefix(300))")
            let otherUsersView = try await client.api(.get, "/api/v1/modules/contacts/records/\(id)", token: f.adminToken)
            #expect(otherUsersView.status == .ok, "admins see everything")
            #expect(try await client.api(.delete, "/api/v1/modules/contacts/records/\(id)", token: f.userToken).status == .noContent)
            #expect(try await client.api(.get, "/api/v1/modules/contacts/records/\(id)", token: f.userToken).status == .notFound)
            #expect(try await client.api(.get, "/api/v1/modules/nothing/records", token: f.userToken).status == .notFound)
        }
    }

    @Test func modulesFieldsViewsAndLists() async throws {
        try await WebFixture.with { f, client in
            let module = try await client.api(.post, "/api/v1/modules", token: f.adminToken, json: [
                "singular_label": "Partner", "plural_label": "Partners", "has_people": true,
                "fields": [["label": "Tier", "type": "picklist", "picklist_values": ["Gold", "Silver"]], ["label": "Since", "type": "date"]],
            ])
            #expect(module.status == .created)
            let duplicate = try await client.api(.post, "/api/v1/modules", token: f.adminToken, json: ["singular_label": "Partner", "plural_label": "Partners"])
            #expect(duplicate.status == .unprocessableContent)
            let unknownKey = try await client.api(.post, "/api/v1/modules/partners/fields", token: f.adminToken, json: ["label": "X", "type": "colour", "size": 3])
            #expect(Set(unknownKey.problemFields) == ["type", "size"])
            for (name, tier) in [("a@example.com", "Gold"), ("b@example.com", "Silver")] {
                #expect(try await client.api(.post, "/api/v1/modules/partners/records", token: f.adminToken, json: ["email": .string(name), "tier": .string(tier)]).status == .created)
            }
            let view = try await client.api(.post, "/api/v1/modules/partners/views", token: f.adminToken, json: [
                "name": "Gold partners", "criteria": ["all": [["field": "tier", "op": "equals", "value": "gold"]]],
            ])
            #expect(view.status == .created)
            let viewID = view.json?.objectValue?["id"] ?? .null
            guard case .number(let v) = viewID else { Issue.record("no view id"); return }
            let records = try await client.api(.get, "/api/v1/modules/partners/records?view=\(Int(v))", token: f.adminToken)
            #expect(records.json?.objectValue?["total"] == 1)
            let badView = try await client.api(.post, "/api/v1/modules/partners/views", token: f.adminToken, json: [
                "name": "Bad", "criteria": ["all": [["field": "tier", "op": "greater_than", "value": 3], ["field": "since", "op": "before", "value": "soon"]]],
            ])
            #expect(badView.problemFields == ["criteria.all[0].op", "criteria.all[1].value"])
            let count = try await client.api(.post, "/api/v1/modules/partners/views/count", token: f.adminToken, json: ["criteria": ["any": []]])
            #expect(count.json?.objectValue?["count"] == 0)
            let inUse = try await client.api(.delete, "/api/v1/modules/partners/fields/tier", token: f.adminToken)
            #expect(inUse.status == .conflict && inUse.text.contains("Gold partners"))
            let list = try await client.api(.post, "/api/v1/modules/partners/lists", token: f.adminToken, json: ["name": "Picked", "record_ids": [1, 99]])
            #expect(list.status == .unprocessableContent)
            // Refused whole: no list without its members stays behind.
            #expect(try await client.api(.get, "/api/v1/modules/partners/lists", token: f.adminToken).json?.objectValue?["lists"]?.arrayValue?.count == 0)
        }
    }

    @Test func csvImportAndExport() async throws {
        try await WebFixture.with { f, client in
            let csv = "Last Name,Email,Mailing Country\nAdams,a@example.com,Germany\nBad,not-email,France\n"
            let dry = try await client.api(.post, "/api/v1/modules/contacts/import?dry_run=true", token: f.adminToken, raw: csv, contentType: "text/csv")
            #expect(dry.status == .ok)
            #expect(dry.json?.objectValue?["failed"] == 1 && dry.json?.objectValue?["created"] == 1)
            let atomic = try await client.api(.post, "/api/v1/modules/contacts/import", token: f.adminToken, raw: csv, contentType: "text/csv")
            #expect(atomic.status == .unprocessableContent && atomic.json?.objectValue?["committed"] == false)
            let batches = try await client.api(.post, "/api/v1/modules/contacts/import?atomic=false", token: f.adminToken, raw: csv, contentType: "text/csv")
            #expect(batches.json?.objectValue?["created"] == 1)
            let wrongHeader = try await client.api(.post, "/api/v1/modules/contacts/import", token: f.adminToken, raw: "Nom\nx\n", contentType: "text/csv")
            #expect(wrongHeader.status == .unprocessableContent && wrongHeader.text.contains("'Nom'"))
            let badOption = try await client.api(.post, "/api/v1/modules/contacts/import?duplicates=merge", token: f.adminToken, raw: csv, contentType: "text/csv")
            #expect(badOption.problemFields == ["duplicates"])
            let export = try await client.api(.get, "/api/v1/modules/contacts/export", token: f.adminToken)
            #expect(export.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(export.text.contains("Adams") && export.text.hasPrefix("id,"))
        }
    }

    /// The list page's Export CSV exports what it lists (its list and its search, not every
    /// record), and "Export selected" the ticked records; the API takes the same.
    @Test func exportTakesTheListTheSearchAndTheSelection() async throws {
        try await WebFixture.with { f, client in
            let contacts = try await f.store.modules.named("contacts")
            var ids: [Int64] = []
            for name in ["Fischer", "Fisher", "Adams", "Fischer-Lee"] {
                ids.append(try await f.store.records.create(in: contacts, RecordChanges(["last_name": .text(name), "email": .text("\(name.lowercased())@example.com")]),
                                                            owner: f.admin.id).id)
            }
            let list = try await f.store.lists.create(in: contacts, name: "Partners", by: f.admin.id, members: [ids[0], ids[2], ids[3]])
            func names(_ csv: String) -> [String] {
                csv.split(whereSeparator: \.isNewline).dropFirst().map { String($0) }.compactMap { line in ["Fischer-Lee", "Fischer", "Fisher", "Adams"].first { line.contains(",\($0),") } }
            }
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            let page = try await client.execute(uri: "/m/contacts?list=\(list.id)&q=Fischer", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(page.contains(#"href="/m/contacts/export.csv?list=\#(list.id)&amp;q=Fischer" id="export-listed""#))
            let listed = try await client.execute(uri: "/m/contacts/export.csv?list=\(list.id)&q=Fischer", method: .get, headers: [.cookie: admin.cookie])
            #expect(names(listed.text) == ["Fischer", "Fischer-Lee"])
            #expect(page.contains("selected · 2 Contacts"), "the page lists the same: the search within the list")
            let api = try await client.api(.get, "/api/v1/modules/contacts/export?list=\(list.id)", token: f.adminToken)
            #expect(names(api.text) == ["Fischer", "Adams", "Fischer-Lee"])
            let selected = try await AccountManagementTests().post(client, "/m/contacts/export-selected.csv", admin, [("ids", String(ids[1])), ("ids", String(ids[2]))])
            #expect(selected.headers[.contentType]?.hasPrefix("text/csv") == true && names(selected.text) == ["Fisher", "Adams"])
            // Its members are taken off it, and it is deleted, from its page (only the API could).
            let removed = try await AccountManagementTests().post(client, "/m/contacts/selection", admin, [
                ("ids", String(ids[0])), ("action", "remove_from_list"), ("current_list", String(list.id)),
            ])
            #expect(removed.headers[.location] == "/m/contacts?list=\(list.id)")
            #expect(try await f.store.lists.find(list.id, in: contacts).memberCount == 2)
            let listPage = try await client.execute(uri: "/m/contacts?list=\(list.id)", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(listPage.contains(#"id="remove-from-list""#) && listPage.contains(#"id="delete-list""#))
            let userPage = try await client.execute(uri: "/m/contacts?list=\(list.id)",
                                                    method: .get, headers: [.cookie: try await AccountManagementTests().logIn(client, f.user.email, "user-password-1").cookie]).text
            #expect(!userPage.contains(#"id="remove-from-list""#) && !userPage.contains(#"id="delete-list""#), "another's list: not for a user to change")
            // A user's export of a list (lists are shared) holds only the user's own records.
            #expect(names(try await client.api(.get, "/api/v1/modules/contacts/export?list=\(list.id)", token: f.userToken).text).isEmpty)
            let deleted = try await AccountManagementTests().post(client, "/m/contacts/lists/\(list.id)/delete", admin, [])
            #expect(deleted.headers[.location] == "/m/contacts")
            #expect(try await f.store.lists.all(in: contacts).isEmpty)
        }
    }

    @Test func tokensAndUsers() async throws {
        try await WebFixture.with { f, client in
            // Tokens come from a logged-in session (AccountManagementTests: never from a token).
            let session = try await AccountManagementTests().logIn(client, f.user.email, "user-password-1")
            let made = try await client.execute(uri: "/api/v1/tokens", method: .post,
                                                headers: [.cookie: session.cookie, .contentType: "application/json",
                                                          HTTPFields.Element.Name("X-CSRF-Token")!: session.csrf],
                                                body: ByteBuffer(string: #"{"name":"script"}"#))
            guard case .string(let secret)? = made.json?.objectValue?["token"] else { Issue.record("no secret"); return }
            #expect(try await client.api(.get, "/api/v1/me", token: secret).json?.objectValue?["email"] == "user@example.com")
            let listed = try await client.api(.get, "/api/v1/tokens", token: f.userToken)
            #expect(!listed.text.contains(secret), "secrets are shown once")
            // Every problem at once: a request is mended in one go.
            let weak = try await client.api(.post, "/api/v1/users", token: f.adminToken,
                                            json: ["email": "x@", "name": "X", "password": "short", "role": "boss", "time_zone": "Mars/Base"])
            #expect(Set(weak.problemFields) == ["role", "email", "password", "time_zone"])
            let taken = try await client.api(.post, "/api/v1/users", token: f.adminToken, json: ["email": .string(f.user.email), "name": " ", "password": "x"])
            #expect(Set(taken.problemFields) == ["email", "name", "password"], "the address taken, with the others")
            let sender = try await client.api(.post, "/api/v1/senders", token: f.adminToken,
                                              json: ["email": "x@", "name": "X", "rate_per_minute": 0])
            #expect(Set(sender.problemFields) == ["email", "rate_per_minute"])
            let short = try await client.api(.post, "/api/v1/users", token: f.adminToken, json: ["email": "x@example.com", "name": "X", "password": "short"])
            #expect(short.problemFields == ["password"])
            #expect(try await client.api(.get, "/api/v1/users", token: f.userToken).status == .forbidden)
        }
    }
}

@Suite struct SecurityHeaderTests {
    @Test func everyAnswerCarriesThem() async throws {
        try await WebFixture.with { f, client in
            for (path, token) in [("/login", nil), ("/api/v1/modules", f.userToken), ("/api/v1/nothing", f.userToken), ("/static/app.js", nil)] {
                let response = try await client.api(.get, path, token: token)
                let csp = response.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "\(path)")
                #expect(response.headers[.init("X-Frame-Options")!] == "DENY", "\(path)")
                #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(path)")
            }
            // No page relies on inline script, which the policy forbids.
            let login = try await client.api(.get, "/login", token: nil)
            #expect(!login.text.contains(" onclick=") && !login.text.contains("javascript:"))
        }
    }

    @Test func metricsMayRequireABearerToken() async throws {
        try await WebFixture.with(metricsToken: "scrape-secret") { _, client in
            let anonymous = try await client.api(.get, "/metrics", token: nil)
            let wrong = try await client.api(.get, "/metrics", token: "wrong")
            let right = try await client.api(.get, "/metrics", token: "scrape-secret")
            #expect(anonymous.status == .unauthorized && wrong.status == .unauthorized)
            #expect(right.status == .ok && right.headers[.contentType]?.hasPrefix("text/plain") == true)
        }
    }
}
