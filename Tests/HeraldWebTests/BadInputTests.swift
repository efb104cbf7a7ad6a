import Foundation
import HeraldCore
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Testing

/// Bodies a strict API refuses, each with the right status and the JSON error shape.
@Suite struct BadInputTests {
    @Test func theSyntaxCheckTable() {
        let cases: [(String, String?)] = [
            (#"{"role":"admin","role":"user"}"#, "the key 'role' appears twice in one object"),
            (#"{"a":{"x":1},"b":{"x":2}}"#, nil),
            (#"[{"x":1},{"x":2}]"#, nil),
            (#"{"a":"x","\u0061":"y"}"#, "the key 'a' appears twice in one object"),
            (#"{"a":"\ud800"}"#, "a string has a lone surrogate escape or does not end"),
            (#"{"a":"\udc00x"}"#, "a string has a lone surrogate escape or does not end"),
            (#"{"a":"\ud83d\ude00"}"#, nil),
            (#"{"n":1e400}"#, "the number 1e400 is too large"),
            (#"{"n":-1.5e300,"m":0}"#, nil),
            (#"{"s":"a,\"b\":c","b":1}"#, nil),
        ]
        for (json, expected) in cases {
            #expect(JSONSyntaxCheck.problem(Array(json.utf8)) == expected, "\(json)")
        }
        #expect(JSONSyntaxCheck.problem([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]) == "the body is not UTF-8")
    }

    @Test func jsonRoutesRefuseWhatIsNotStrictJSON() async throws {
        try await WebFixture.with { f, client in
            let path = "/api/v1/modules/contacts/records"
            // A key twice: which one counts is not for the reader to guess.
            let twice = try await client.api(.post, path, token: f.adminToken, raw: #"{"last_name":"A","last_name":"B"}"#)
            #expect(twice.status == .badRequest && twice.text.contains("appears twice"))
            #expect(twice.json?.objectValue?["error"]?.objectValue?["code"] == "malformed")
            let surrogate = try await client.api(.post, path, token: f.adminToken, raw: #"{"last_name":"\ud800"}"#)
            #expect(surrogate.status == .badRequest)
            let huge = try await client.api(.post, path, token: f.adminToken, raw: #"{"last_name":"A","n":1e400}"#)
            #expect(huge.status == .badRequest && huge.text.contains("too large"))
            // Not JSON at all: 415, saying what to send.
            for type in ["text/plain", "application/x-www-form-urlencoded"] {
                let wrong = try await client.api(.post, path, token: f.adminToken, raw: #"{"last_name":"A"}"#, contentType: type)
                #expect(wrong.status == .unsupportedMediaType && wrong.text.contains("application/json"), "\(type)")
            }
            let none = try await client.execute(uri: path, method: .post, headers: [.authorization: "Bearer \(f.adminToken)"],
                                                body: ByteBuffer(string: #"{"last_name":"A"}"#))
            #expect(none.status == .unsupportedMediaType)
            // A NUL in a name is refused, with the field.
            let nul = try await client.api(.post, "/api/v1/senders", token: f.adminToken, json: ["email": "a@example.com", "name": "a\u{0}b"])
            #expect(nul.status == .unprocessableContent && nul.problemFields == ["name"])
            // Nothing of the refused calls was stored; the allowed path still works.
            #expect(try await f.store.records.count(in: try await f.store.modules.named("contacts"), criteria: .all([]), scope: .all) == 0)
            let fine = try await client.api(.post, path, token: f.adminToken, raw: #"{"last_name":"A","email":"a@example.com"}"#,
                                            contentType: "application/json; charset=utf-8")
            #expect(fine.status == .created)
        }
    }

    @Test func aBodyOverTheLimitIsRefusedWith413AndTheErrorShape() async throws {
        try await WebFixture.with { f, client in
            // The suppression import reads at most 16 MB, JSON calls at most 64 MB.
            let csv = String(repeating: "a@example.com\n", count: 16 * 1024 * 1024 / 14 + 1)
            let list = try await client.api(.post, "/api/v1/suppressions/import", token: f.adminToken, raw: csv, contentType: "text/csv")
            #expect(list.status == .contentTooLarge && list.text.contains("larger than 16 MB"), "\(list.text)")
            #expect(list.json?.objectValue?["error"]?.objectValue?["code"] == "malformed")
            let json = #"{"last_name":""# + String(repeating: "a", count: 64 * 1024 * 1024) + #""}"#
            let record = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken, raw: json)
            #expect(record.status == .contentTooLarge && record.text.contains("larger than 64 MB"))
            #expect(record.json?.objectValue?["error"]?.objectValue?["problems"] == .array([]))
            #expect(try await f.store.suppressions.suppressed(among: ["a@example.com"]).isEmpty)
        }
    }

    @Test func removingASuppressionDecodesTheAddressAndSaysWhenItIsNotThere() async throws {
        try await WebFixture.with { f, client in
            try await f.store.suppressions.add("a+b@example.com", reason: "manual")
            let gone = try await client.api(.delete, "/api/v1/suppressions/a%2Bb%40example.com", token: f.adminToken)
            #expect(gone.status == .noContent)
            #expect(try await f.store.suppressions.suppressed(among: ["a+b@example.com"]).isEmpty)
            let again = try await client.api(.delete, "/api/v1/suppressions/a%2Bb%40example.com", token: f.adminToken)
            #expect(again.status == .notFound && again.text.contains("not on the suppression list"))
            #expect(try await client.api(.delete, "/api/v1/suppressions/nobody%40example.com", token: f.adminToken).status == .notFound)
        }
    }

    @Test func aViewOrListAMassEmailStillNeedsCannotBeDeleted() async throws {
        try await WebFixture.with { f, client in
            let contacts = try await f.store.modules.named("contacts")
            let template = try await f.store.templates.create(in: contacts, name: "T", subject: "Hi", html: "<p>Hi</p>", text: nil, by: f.admin.id)
            let sender = try await f.store.senders.create(email: "news@example.com", name: "News", replyTo: nil)
            let view = try await f.store.views.create(in: contacts, name: "All", criteria: .everything, by: f.admin.id)
            let list = try await f.store.lists.create(in: contacts, name: "L", by: f.admin.id)
            let later = LocalDate(Date().addingTimeInterval(2 * 86_400), in: TimeZone(identifier: "UTC")!)
            var drafts: [MassEmail] = []
            for recipients in [MassEmail.Recipients.view(view.id), .list(list.id)] {
                drafts.append(try await f.store.massEmails.create(
                    MassEmailDraft(name: "Later", recipients: recipients, templateID: template.id, senderID: sender.id, schedule: .at(date: later, hour: 9, minute: 0, timeZone: "UTC")),
                    in: contacts, owner: f.admin.id))
            }
            let viewGone = try await client.api(.delete, "/api/v1/modules/contacts/views/\(view.id)", token: f.adminToken)
            #expect(viewGone.status == .conflict && viewGone.text.contains("scheduled mass email 'Later' sends to this view"))
            // The view's page says which mass email holds it, not the API's "id: in use by a mass email".
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            // A new name alone changes no one's recipients: saved.
            let renamed = try await AccountManagementTests().post(client, "/m/contacts/views/\(view.id)", admin, [("name", "Renamed"), ("criteria", "")])
            #expect(renamed.status == .found)
            #expect(try await f.store.views.find(view.id, in: contacts).name == "Renamed")
            let narrowed = try await AccountManagementTests().post(client, "/m/contacts/views/\(view.id)", admin, [
                ("name", "Renamed"), ("criteria", #"{"all": [{"field": "last_name", "op": "equals", "value": "Lee"}]}"#),
            ])
            #expect(narrowed.status == .unprocessableContent)
            #expect(narrowed.text.contains("scheduled mass email &#39;Later&#39; sends to this view") && !narrowed.text.contains("in use by a mass email"),
                    "\(narrowed.text.firstMatch(of: /<ul class="problems">.*?<\/ul>/).map { String($0.0) } ?? narrowed.text)")
            let listGone = try await client.api(.delete, "/api/v1/modules/contacts/lists/\(list.id)", token: f.adminToken)
            #expect(listGone.status == .conflict)
            // A list a mass email sends to may be renamed: it is known by id. By its maker or an admin only.
            let renamedList = try await client.api(.patch, "/api/v1/modules/contacts/lists/\(list.id)", token: f.adminToken, json: ["name": " Kept "])
            #expect(renamedList.status == .ok && renamedList.json?.objectValue?["name"] == "Kept")
            _ = try await client.api(.post, "/api/v1/modules/contacts/lists", token: f.adminToken, json: ["name": "Other"])
            #expect(try await client.api(.patch, "/api/v1/modules/contacts/lists/\(list.id)", token: f.adminToken, json: ["name": "other"]).status == .conflict)
            #expect(try await client.api(.patch, "/api/v1/modules/contacts/lists/\(list.id)", token: f.adminToken, json: ["name": " "]).problemFields == ["name"])
            #expect(try await client.api(.patch, "/api/v1/modules/contacts/lists/\(list.id)", token: f.userToken, json: ["name": "Mine"]).status == .forbidden)
            let onPage = try await AccountManagementTests().post(client, "/m/contacts/lists/\(list.id)/rename", admin, [("name", "Kept again")])
            #expect(onPage.status == .seeOther && onPage.headers[.location] == "/m/contacts?list=\(list.id)")
            let listPage = try await AccountManagementTests().followed(client, onPage, cookie: admin.cookie).text
            #expect(listPage.contains("The list is now named Kept again.") && listPage.contains(#"id="rename-list""#))
            // Refused on the page: the list's page again, with the name typed and why.
            let clash = try await AccountManagementTests().post(client, "/m/contacts/lists/\(list.id)/rename", admin, [("name", "OTHER")])
            #expect(clash.status == .conflict && clash.text.contains(#"value="OTHER""#) && clash.text.contains("a list named &#39;Other&#39; already exists"))
            // Once those mass emails are gone, they may go.
            for draft in drafts {
                _ = try await f.store.massEmails.stop(draft.id)
            }
            #expect(try await client.api(.delete, "/api/v1/modules/contacts/views/\(view.id)", token: f.adminToken).status == .noContent)
            #expect(try await client.api(.delete, "/api/v1/modules/contacts/lists/\(list.id)", token: f.adminToken).status == .noContent)
        }
    }

    @Test func queryFlagsAndEmptyImportsAreRefused() async throws {
        try await WebFixture.with { f, client in
            let typo = try await client.api(.get, "/api/v1/tasks?mine=yes&open=1", token: f.userToken)
            #expect(typo.status == .unprocessableContent && Set(typo.problemFields) == ["mine", "open"])
            #expect(try await client.api(.get, "/api/v1/tasks?mine=true&open=false", token: f.userToken).status == .ok)
            let long = try await client.api(.get, "/api/v1/suppressions?q=" + String(repeating: "%20", count: 400), token: f.adminToken)
            #expect(long.status == .unprocessableContent && long.problemFields == ["q"])
            let empty = try await client.api(.post, "/api/v1/suppressions/import", token: f.adminToken, raw: "", contentType: "text/csv")
            #expect(empty.status == .unprocessableContent && empty.problemFields == ["body"])
            // A header and nothing under it holds no address either (schemathesis sent "{}").
            for text in ["email\n", "{}", "\n\n"] {
                let nothing = try await client.api(.post, "/api/v1/suppressions/import", token: f.adminToken, raw: text, contentType: "text/csv")
                #expect(nothing.status == .unprocessableContent && nothing.problemFields == ["body"], "\(text)")
            }
            let wrong = try await client.api(.post, "/api/v1/suppressions/import", token: f.adminToken, raw: "bob@\n", contentType: "text/csv")
            #expect(wrong.status == .ok && wrong.text.contains("not a valid email address"))
            // A body that says it is something else is not read as rows; a file of no stated type is.
            for (uri, type) in [("/api/v1/suppressions/import", "application/x-www-form-urlencoded"), ("/api/v1/modules/contacts/import", "application/json")] {
                let other = try await client.api(.post, uri, token: f.adminToken, raw: "{\"email\": \"a@example.com\"}", contentType: type)
                #expect(other.status == .unsupportedMediaType && other.text.contains("Content-Type: text/csv, not \(type)"), "\(uri)")
            }
            for type in ["text/plain; charset=utf-8", "application/octet-stream"] {
                let csv = try await client.api(.post, "/api/v1/modules/contacts/import?dry_run=true&duplicates=allow", token: f.adminToken, raw: "Last Name\nLee\n", contentType: type)
                #expect(csv.status == .ok, "\(type)")
            }
        }
    }
}

/// A method an address does not take is 405 with the methods it does; a path no route has is 404.
@Suite struct MethodNotAllowedTests {
    @Test func aWrongMethodSaysWhichItTakes() async throws {
        try await WebFixture.with { f, client in
            let wrong = try await client.api(.delete, "/api/v1/modules/contacts/records", token: f.adminToken)
            #expect(wrong.status == .methodNotAllowed && wrong.headers[.allow] == "GET, POST")
            #expect(wrong.json?.objectValue?["error"]?.objectValue?["code"] == "method_not_allowed")
            let withID = try await client.api(.post, "/api/v1/modules/contacts/records/1/mail", token: f.adminToken, json: [:])
            #expect(withID.status == .methodNotAllowed && withID.headers[.allow] == "GET")
            let nothing = try await client.api(.get, "/api/v1/no-such-thing", token: f.adminToken)
            #expect(nothing.status == .notFound && nothing.json?.objectValue?["error"]?.objectValue?["code"] == "notFound")
            // HEAD is answered by no route; it must not be told to use a method it names (GET).
            let head = try await client.execute(uri: "/healthz", method: .head)
            #expect(head.status == .methodNotAllowed && head.headers[.allow] == "GET")
        }
    }
}
