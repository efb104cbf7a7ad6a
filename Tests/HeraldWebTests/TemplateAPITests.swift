import Foundation
import HeraldCore
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import NIOFoundationCompat
import Testing

@Suite struct TemplateAPITests {
    func id(_ response: TestResponse) -> Int64? {
        if case .number(let n)? = response.json?.objectValue?["id"] { Int64(n) } else { nil }
    }

    func string(_ response: TestResponse, _ key: String) -> String? { response.json?.objectValue?[key]?.stringValue }

    @Test func unknownFieldIsA422WithLineAndColumn() async throws {
        try await WebFixture.with { f, client in
            let bad = try await client.api(.post, "/api/v1/modules/contacts/templates", token: f.userToken, json: [
                "name": "Welcome", "subject": "Hi {{first_name}}", "html": "<p>Hello</p>\n<p>{{frist_name | \"there\"}}</p>",
            ])
            #expect(bad.status == .unprocessableContent)
            #expect(bad.problemFields == ["html"])
            #expect(bad.text.contains("line 2, column 4: unknown merge field 'frist_name'"))
            let unclosed = try await client.api(.post, "/api/v1/modules/contacts/templates", token: f.userToken, json: [
                "name": "W", "subject": "{{#title}}x", "html": "{{{first_name}}}", "text": "{{> footer}}", "colour": "red",
            ])
            #expect(unclosed.status == .unprocessableContent)
            #expect(Set(unclosed.problemFields) == ["colour"], "an unknown key is reported before the template is compiled")
            let three = try await client.api(.post, "/api/v1/modules/contacts/templates", token: f.userToken, json: [
                "name": "W", "subject": "{{#title}}x", "html": "{{{first_name}}}", "text": "{{> footer}}",
            ])
            #expect(three.problemFields == ["subject", "html", "text"])
        }
    }

    @Test func lifecyclePreviewAndEscaping() async throws {
        try await WebFixture.with { f, client in
            let record = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.userToken,
                                              json: ["first_name": "Ann <b>&</b>", "last_name": "Lee", "email": "ann@example.com"])
            let recordID = try #require(id(record))
            let created = try await client.api(.post, "/api/v1/modules/contacts/templates", token: f.userToken, json: [
                "name": "Welcome", "subject": "Hi {{first_name | \"there\"}}",
                "html": "<p>Hello {{first_name}}{{#mailing_city}} in {{mailing_city}}{{/mailing_city}}</p><p>{{owner.name}}</p>",
            ])
            #expect(created.status == .created)
            let templateID = try #require(id(created))
            #expect(created.json?.objectValue?["text"] == .null)
            let listed = try await client.api(.get, "/api/v1/modules/contacts/templates", token: f.userToken)
            #expect(listed.json?.objectValue?["templates"]?.arrayValue?.count == 1)

            let preview = try await client.api(.post, "/api/v1/templates/\(templateID)/preview", token: f.userToken,
                                               json: ["record_id": .number(Double(recordID))])
            #expect(preview.status == .ok)
            #expect(string(preview, "subject") == "Hi Ann <b>&</b>")
            #expect(string(preview, "html") == "<p>Hello Ann &lt;b&gt;&amp;&lt;/b&gt;</p><p>Plain User</p>")
            #expect(string(preview, "text") == "Hello Ann <b>&</b>\n\nPlain User")
            let noRecord = try await client.api(.post, "/api/v1/templates/\(templateID)/preview", token: f.userToken)
            #expect(string(noRecord, "subject") == "Hi there")
            let missing = try await client.api(.post, "/api/v1/templates/\(templateID)/preview", token: f.userToken, json: ["record_id": 999])
            #expect(missing.status == .unprocessableContent && missing.problemFields == ["record_id"])

            let unsaved = try await client.api(.post, "/api/v1/modules/contacts/templates/preview", token: f.userToken, json: [
                "subject": "{{last_name}}", "html": "<a href=\"https://example.com/{{last_name}}\">Go</a>", "record_id": .number(Double(recordID)),
            ])
            #expect(string(unsaved, "subject") == "Lee" && string(unsaved, "text") == "Go (https://example.com/Lee)")
            let unsavedBad = try await client.api(.post, "/api/v1/modules/contacts/templates/preview", token: f.userToken,
                                                  json: ["subject": "s", "html": "{{#title}}"])
            #expect(unsavedBad.status == .unprocessableContent && unsavedBad.text.contains("line 1, column 1"))

            let updated = try await client.api(.put, "/api/v1/templates/\(templateID)", token: f.userToken, json: [
                "name": "Welcome!", "subject": "New", "html": "<p>x</p>", "text": "plain {{last_name}}",
            ])
            #expect(updated.status == .ok && string(updated, "text") == "plain {{last_name}}")
            let clash = try await client.api(.post, "/api/v1/modules/contacts/templates", token: f.userToken,
                                             json: ["name": "welcome!", "subject": "s", "html": "h"])
            #expect(clash.status == .conflict)
            #expect(try await client.api(.delete, "/api/v1/templates/\(templateID)", token: f.userToken).status == .noContent)
            #expect(try await client.api(.get, "/api/v1/templates/\(templateID)", token: f.userToken).status == .notFound)
        }
    }

    @Test func testSendWritesOneMessageToTheOutbox() async throws {
        try await WebFixture.with { f, client in
            let noSender = try await client.api(.post, "/api/v1/modules/contacts/templates", token: f.userToken,
                                                json: ["name": "T", "subject": "Hello {{first_name | \"friend\"}}", "html": "<p>Dear {{first_name | \"friend\"}} from {{sender.name}}</p>"])
            let templateID = try #require(id(noSender))
            let refused = try await client.api(.post, "/api/v1/templates/\(templateID)/test", token: f.userToken, json: ["to": "me@example.com"])
            #expect(refused.status == .unprocessableContent && refused.problemFields == ["sender_id"])

            let sender = try await client.api(.post, "/api/v1/senders", token: f.adminToken,
                                              json: ["email": "news@example.com", "name": "Example News", "reply_to": "help@example.com"])
            #expect(sender.status == .created)
            let senderID = try #require(id(sender))
            let badAddress = try await client.api(.post, "/api/v1/templates/\(templateID)/test", token: f.userToken,
                                                  json: ["to": "not an address", "sender_id": .number(Double(senderID))])
            #expect(badAddress.status == .unprocessableContent && badAddress.problemFields == ["to"])

            let sent = try await client.api(.post, "/api/v1/templates/\(templateID)/test", token: f.userToken,
                                            json: ["to": "me@example.com", "sender_id": .number(Double(senderID))])
            #expect(sent.status == .ok)
            #expect(sent.json?.objectValue?["accepted"] == .bool(true))
            #expect(string(sent, "origin") == "default outbox")
            let files = try FileManager.default.contentsOfDirectory(atPath: f.outbox).filter { $0.hasSuffix(".eml") }
            #expect(files.count == 1)
            let eml = try String(contentsOfFile: f.outbox + "/" + files[0], encoding: .utf8)
            #expect(eml.contains("Subject: Hello friend"))
            #expect(eml.contains("From: Example News <news@example.com>"))
            #expect(eml.contains("Reply-To: help@example.com"))
            #expect(eml.contains("To: me@example.com"))
            #expect(eml.contains("Dear friend from Example News"))
            #expect(eml.contains("text/html") && eml.contains("text/plain"))
        }
    }

    @Test func sendersAreForEveryoneToReadAndForAdminsToChange() async throws {
        try await WebFixture.with { f, client in
            let forbidden = try await client.api(.post, "/api/v1/senders", token: f.userToken, json: ["email": "a@example.com", "name": "A"])
            #expect(forbidden.status == .forbidden)
            let created = try await client.api(.post, "/api/v1/senders", token: f.adminToken, json: ["email": "a@example.com", "name": "A"])
            let senderID = try #require(id(created))
            #expect(try await client.api(.get, "/api/v1/senders", token: f.userToken).json?.objectValue?["senders"]?.arrayValue?.count == 1)
            #expect(try await client.api(.put, "/api/v1/senders/\(senderID)", token: f.userToken, json: ["email": "b@example.com", "name": "B"]).status == .forbidden)
            #expect(try await client.api(.delete, "/api/v1/senders/\(senderID)", token: f.userToken).status == .forbidden)
            let invalid = try await client.api(.post, "/api/v1/senders", token: f.adminToken, json: ["email": "nope", "name": "", "reply_to": "x"])
            #expect(Set(invalid.problemFields) == ["email", "name", "reply_to"])
            let duplicate = try await client.api(.post, "/api/v1/senders", token: f.adminToken, json: ["email": "A@EXAMPLE.com", "name": "A"])
            #expect(duplicate.status == .conflict)
            let updated = try await client.api(.put, "/api/v1/senders/\(senderID)", token: f.adminToken,
                                               json: ["email": "b@example.com", "name": "B", "reply_to": "r@example.com"])
            #expect(string(updated, "reply_to") == "r@example.com")
            #expect(try await client.api(.delete, "/api/v1/senders/\(senderID)", token: f.adminToken).status == .noContent)
        }
    }

    @Test func transportSettingsAreForAdminsAndNeverShowThePassword() async throws {
        try await WebFixture.with { f, client in
            #expect(try await client.api(.get, "/api/v1/settings/transport", token: f.userToken).status == .forbidden)
            #expect(try await client.api(.put, "/api/v1/settings/transport", token: f.userToken, json: ["url": "smtp://x@y:z@mail.example.com"]).status == .forbidden)
            #expect(try await client.api(.post, "/api/v1/settings/transport/test", token: f.userToken, json: ["to": "a@example.com", "from": "b@example.com"]).status == .forbidden)

            let initial = try await client.api(.get, "/api/v1/settings/transport", token: f.adminToken)
            #expect(string(initial, "origin") == "default outbox" && string(initial, "url")?.hasPrefix("file://") == true)
            let invalid = try await client.api(.put, "/api/v1/settings/transport", token: f.adminToken, json: ["url": "ftp://user:s3cret-pw@host"])
            #expect(invalid.status == .unprocessableContent && invalid.problemFields == ["url"])
            #expect(!invalid.text.contains("s3cret-pw"))

            // Port 1 on the loopback refuses at once: the test send fails with a 502 that names
            // the cause and never the password.
            let saved = try await client.api(.put, "/api/v1/settings/transport", token: f.adminToken,
                                             json: ["url": "smtp://mailer:s3cret-pw@127.0.0.1:1?tls=none"])
            #expect(saved.status == .ok)
            #expect(string(saved, "origin") == "settings" && string(saved, "url")?.contains("***") == true)
            #expect(!saved.text.contains("s3cret-pw"))
            #expect(!(try await client.api(.get, "/api/v1/settings/transport", token: f.adminToken).text.contains("s3cret-pw")))
            let failed = try await client.api(.post, "/api/v1/settings/transport/test", token: f.adminToken,
                                              json: ["from": "b@example.com", "to": "a@example.com"])
            #expect(failed.status == .badGateway)
            #expect(failed.text.contains("127.0.0.1") && !failed.text.contains("s3cret-pw"))
            let page = try await client.api(.get, "/admin/mail", token: f.adminToken)
            #expect(page.status == .ok && page.text.contains("***") && !page.text.contains("s3cret-pw"))
            #expect(!page.text.contains("id=\"outbox-note\""), "a relay is configured: no word of the outbox")

            // Back to the outbox: the test lands there.
            #expect(try await client.api(.put, "/api/v1/settings/transport", token: f.adminToken, json: ["url": ""]).status == .ok)
            let sent = try await client.api(.post, "/api/v1/settings/transport/test", token: f.adminToken,
                                            json: ["from": "b@example.com", "to": "a@example.com"])
            #expect(sent.status == .ok && sent.json?.objectValue?["accepted"] == .bool(true))
            #expect(try await client.api(.get, "/admin/mail", token: f.adminToken).text.contains("id=\"outbox-note\""))
            #expect(try FileManager.default.contentsOfDirectory(atPath: f.outbox).filter { $0.hasSuffix(".eml") }.count == 1)
        }
    }

    @Test func theCommandLineTransportWins() async throws {
        try await WebFixture.with(transport: "smtp://cli:cli-secret@127.0.0.1:1?tls=none") { f, client in
            let current = try await client.api(.get, "/api/v1/settings/transport", token: f.adminToken)
            #expect(string(current, "origin") == "command line" && current.json?.objectValue?["editable"] == .bool(false))
            #expect(!current.text.contains("cli-secret"))
            let refused = try await client.api(.put, "/api/v1/settings/transport", token: f.adminToken, json: ["url": "file:///tmp/x"])
            #expect(refused.status == .conflict && refused.text.contains("command line"))
        }
    }

    /// A deal's template greets its contact (`{{contact.first_name}}`): offered by the editor's
    /// picker, checked when saved, and filled in the preview.
    @Test func aDealsTemplateReadsItsContactsFields() async throws {
        try await WebFixture.with { f, client in
            let contact = try #require(id(try await client.api(.post, "/api/v1/modules/contacts/records", token: f.userToken,
                                                              json: ["first_name": "Bea", "last_name": "Buyer", "email": "bea@example.com"])))
            let deal = try #require(id(try await client.api(.post, "/api/v1/modules/deals/records", token: f.userToken,
                                                           json: ["deal_name": "Big deal", "stage": "Qualification", "contact": .number(Double(contact))])))
            let created = try await client.api(.post, "/api/v1/modules/deals/templates", token: f.userToken, json: [
                "name": "Deal news", "subject": "{{deal_name}} for {{contact.first_name | \"you\"}}", "html": "<p>Dear {{contact.last_name}}</p>",
            ])
            #expect(created.status == .created)
            let preview = try await client.api(.post, "/api/v1/templates/\(try #require(id(created)))/preview", token: f.userToken,
                                               json: ["record_id": .number(Double(deal))])
            #expect(string(preview, "subject") == "Big deal for Bea")
            #expect(string(preview, "html") == "<p>Dear Buyer</p>")
            let wrong = try await client.api(.post, "/api/v1/modules/deals/templates", token: f.userToken,
                                             json: ["name": "Wrong", "subject": "{{contact.nope}}", "html": "<p>x</p>"])
            #expect(wrong.status == .unprocessableContent && wrong.text.contains("Contacts has no field 'nope'"))
            let editor = try await client.api(.get, "/m/deals/templates/new", token: f.userToken)
            #expect(editor.text.contains("data-tag=\"{{contact.first_name}}\""))
        }
    }

    @Test func pagesRenderAndShowErrorsBesideTheField() async throws {
        try await WebFixture.with { f, client in
            let contacts = try await f.store.modules.named("contacts")
            _ = try await f.store.templates.create(in: contacts, name: "Dated", subject: "S", html: "<p>x</p>", text: nil, by: f.user.id)
            let list = try await client.api(.get, "/m/contacts/templates", token: f.userToken)
            #expect(list.status == .ok && list.text.contains("New template"))
            // Its time as every page shows one, in the reader's zone, not ISO 8601.
            #expect(list.text.contains(LocalTime(zoneNamed: f.user.timeZone).readable(WallClock.epochSeconds()).prefix(11)))
            #expect(list.text.firstMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d/) == nil)
            let editor = try await client.api(.get, "/m/contacts/templates/new", token: f.userToken)
            #expect(editor.status == .ok && editor.text.contains("data-tag=\"{{owner.email}}\"") && editor.text.contains("{{sender.reply_to}}"))
            let saved = try await client.api(.post, "/m/contacts/templates", token: f.userToken,
                                             raw: "name=N&subject=S&html=%7B%7Bnope%7D%7D", contentType: "application/x-www-form-urlencoded")
            #expect(saved.status == .unprocessableContent)
            #expect(saved.text.contains("id=\"e-html\"") && saved.text.contains("line 1, column 1: unknown merge field &#39;nope&#39;"))
            // Without JavaScript, Preview and Send test post the form as it stands and show the result on the page.
            let form = "html=%3Cp%3EHi+%7B%7Bfirst_name+%7C+%22there%22%7D%7D+%26amp%3B+co%3C%2Fp%3E&subject=Hello&record_choice=&to="
            let preview = try await client.api(.post, "/m/contacts/templates/preview", token: f.userToken,
                                               raw: form, contentType: "application/x-www-form-urlencoded")
            #expect(preview.status == .ok)
            #expect(preview.text.contains("srcdoc=\"&lt;p&gt;Hi there &amp;amp; co&lt;/p&gt;\""), "the HTML is escaped into the sandboxed frame")
            #expect(preview.text.contains("<pre id=\"preview-text\">Hi there &amp; co</pre>"))
            let noSender = try await client.api(.post, "/m/contacts/templates/test", token: f.userToken,
                                                raw: form + "me%40example.com", contentType: "application/x-www-form-urlencoded")
            #expect(noSender.status == .unprocessableContent && noSender.text.contains("id=\"test-result\""))
            let sender = try await f.store.senders.create(email: "news@example.com", name: "News", replyTo: nil)
            let sent = try await client.api(.post, "/m/contacts/templates/test", token: f.userToken,
                                            raw: form + "me%40example.com&sender_id=\(sender.id)", contentType: "application/x-www-form-urlencoded")
            #expect(sent.status == .ok && sent.text.contains("me@example.com</strong>: accepted"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: f.outbox).filter { $0.hasSuffix(".eml") }.count == 1)
            #expect(try await client.api(.get, "/admin/senders", token: f.userToken).status == .forbidden)
            #expect(try await client.api(.get, "/admin/senders", token: f.adminToken).status == .ok)
        }
    }
}
