import Foundation
import HeraldCore
import HeraldDelivery
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import Logging
import HummingbirdTesting
import Testing

@Suite struct MassEmailAPITests {
    func id(_ response: TestResponse) -> Int64? {
        if case .number(let n)? = response.json?.objectValue?["id"] { Int64(n) } else { nil }
    }

    /// A contact, a template and a sender, made through the API; returns their ids.
    func basics(_ f: WebFixture, _ client: some TestClientProtocol, token: String) async throws -> (record: Int64, template: Int64, sender: Int64) {
        let record = try #require(id(try await client.api(.post, "/api/v1/modules/contacts/records", token: token,
                                                          json: ["first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"])))
        let template = try #require(id(try await client.api(.post, "/api/v1/modules/contacts/templates", token: token,
                                                            json: ["name": .string("T \(UUID().uuidString.prefix(6))"), "subject": "Hi {{first_name}}", "html": "<p>Hello</p>"])))
        let senders = try await client.api(.get, "/api/v1/senders", token: token).json?.objectValue?["senders"]?.arrayValue ?? []
        let sender: Int64
        if case .number(let n)? = senders.first?.objectValue?["id"] {
            sender = Int64(n)
        } else {
            sender = try #require(id(try await client.api(.post, "/api/v1/senders", token: f.adminToken,
                                                          json: ["email": "news@example.com", "name": "News"])))
        }
        return (record, template, sender)
    }

    /// An admin's mass email to `b`'s record, started and its recipients resolved (nothing sent).
    func resolved(_ f: WebFixture, _ b: (record: Int64, template: Int64, sender: Int64), name: String) async throws -> MassEmail {
        let m = try await f.store.massEmails.create(
            MassEmailDraft(name: name, recipients: .records([b.record]), templateID: b.template, senderID: b.sender, schedule: .now),
            in: try await f.store.modules.named("contacts"), owner: f.admin.id)
        _ = try await f.store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
        try await RecipientResolver(store: f.store, logger: Logger(label: "test")).resolve(m.id, node: "t", now: { WallClock.epochSeconds() })
        return m
    }

    /// Follows every link of `page` to Herald's own pages: each answers (200 or a redirect).
    static func expectLinksWork(in page: String, _ client: some TestClientProtocol, cookie: String,
                                sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for match in page.matches(of: /href="(\/[^"#]*)/) where !match.1.hasPrefix("/static") && match.1 != "/logout" {
            let target = String(match.1).replacingOccurrences(of: "&amp;", with: "&")
            let status = try await client.execute(uri: target, method: .get, headers: [.cookie: cookie]).status
            #expect(status == .ok || status == .found, "\(target): \(status)", sourceLocation: sourceLocation)
        }
    }

    /// The form: its links lead somewhere (the template editor's went to a missing page); what
    /// was typed under "Create a template here" comes back with a postback (it was wiped); a
    /// module whose records have no address is not offered mass email.
    @Test func theFormKeepsAnInlineTemplateAndOffersOnlyModulesWithAddresses() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics(f, client, token: f.adminToken)
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            let form = try await client.execute(uri: "/mass-emails/new?module=contacts", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(form.contains(#"href="/m/contacts/templates/new""#))
            try await Self.expectLinksWork(in: form, client, cookie: admin.cookie)

            let postback = try await AccountManagementTests().post(client, "/mass-emails", admin, [
                ("module", "contacts"), ("name", "Inline"), ("recipients", "records"), ("record_ids", String(b.record)),
                ("sender_id", String(b.sender)), ("send", "draft"), ("template_id", ""),
                ("new_template_name", "Typed here"), ("new_template_subject", "Hi <there>"), ("new_template_html", "<p>Hello</p>"),
                ("add_action", "1"),
            ])
            #expect(postback.status == .ok)
            #expect(postback.text.contains(#"name="new_template_name" maxlength="200" value="Typed here""#))
            #expect(postback.text.contains(#"name="new_template_subject" value="Hi &lt;there&gt;""#))
            #expect(postback.text.contains(#"rows="6">&lt;p&gt;Hello&lt;/p&gt;</textarea>"#))
            #expect(postback.text.contains(#"<details class="inline-template" id="new-template" open>"#))
            // Saved with the rest, it is chosen and not offered again should the form come back.
            let refused = try await AccountManagementTests().post(client, "/mass-emails", admin, [
                ("module", "contacts"), ("name", ""), ("recipients", "records"), ("record_ids", String(b.record)),
                ("sender_id", String(b.sender)), ("send", "draft"), ("template_id", ""),
                ("new_template_name", "Typed here"), ("new_template_subject", "Hi"), ("new_template_html", "<p>Hello</p>"),
            ])
            #expect(refused.status == .unprocessableContent)
            #expect(refused.text.contains(#"name="new_template_name" maxlength="200" value="""#))
            #expect(refused.text.contains(">Typed here</option>") && refused.text.contains("selected>Typed here</option>"))

            let projects = try await f.store.modules.create(apiName: nil, singularLabel: "Project", pluralLabel: "Projects", hasPeople: false, fields: [])
            let contactsList = try await client.execute(uri: "/m/contacts", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(contactsList.contains(#"id="mass-email-selected""#))
            let projectsList = try await client.execute(uri: "/m/\(projects.apiName)", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(!projectsList.contains(#"id="mass-email-selected""#))
            let typed = try await client.execute(uri: "/mass-emails/new?module=\(projects.apiName)", method: .get, headers: [.cookie: admin.cookie])
            #expect(typed.status == .unprocessableContent && typed.text.contains("Projects have no email field, nor a lookup to a module that has one"))
        }
    }

    /// A recipient who clicked without loading the pixel counts as opened "by its click", not
    /// "×0" opens.
    @Test func aClickWithoutThePixelReadsAsOpenedByItsClick() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics(f, client, token: f.adminToken)
            let m = try await resolved(f, b, name: "Clicked")
            try await f.store.database.transaction { db in
                try await db.raw("""
                    UPDATE mail_messages SET status = 'sent', sent_at = 1800000000, opened_at = 1800000100, opens = 0,
                    clicked_at = 1800000100, clicks = 1 WHERE mass_email_id = \(bind: m.id)
                    """).run()
            }
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            let page = try await client.execute(uri: "/mass-emails/\(m.id)", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(page.contains("(by its click)") && !page.contains("×0"))
            #expect(page.contains("×1"))
            #expect(page.contains("<li><strong>1</strong> recipient</li>"), "one recipient, not \"1 recipients\"")

            // A reply and a complaint show in the recipient's row (and the messages of the API).
            try await f.store.database.transaction { db in
                let message = try await db.raw("SELECT id FROM mail_messages WHERE mass_email_id = \(bind: m.id)").first()!.decode(column: "id", as: Int64.self)
                try await db.raw("""
                    INSERT INTO replies (message_id, mass_email_id, record_id, headers, text, fingerprint, received_at)
                    VALUES (\(bind: message), \(bind: m.id), \(bind: b.record), '', 'Thanks', 'r1', 1800000200)
                    """).run()
                try await db.raw("""
                    INSERT INTO bounces (message_id, mass_email_id, address, kind, source, fingerprint, received_at)
                    VALUES (\(bind: message), \(bind: m.id), 'ann@example.com', 'complaint', 'arf', 'c1', 1800000300)
                    """).run()
            }
            let local = LocalTime(zoneNamed: f.admin.timeZone)
            let engaged = try await client.execute(uri: "/mass-emails/\(m.id)", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(engaged.contains(#"<a href="/m/contacts/\#(b.record)#replies">\#(local.readable(1_800_000_200))</a></td><td>\#(local.readable(1_800_000_300))</td></tr>"#))
            let messages = try await client.api(.get, "/api/v1/mass-emails/\(m.id)/messages", token: f.adminToken)
            let message = messages.json?.objectValue?["messages"]?.arrayValue?.first?.objectValue
            #expect(message?["replied_at"] == .string(ISODateTime.format(epochSeconds: 1_800_000_200)))
            #expect(message?["complained_at"] == .string(ISODateTime.format(epochSeconds: 1_800_000_300)))
            #expect(message?["variant"] == .null)
        }
    }

    /// A record's page and the API say what mass email did with it: each message it was sent,
    /// and its address on the suppression list (nothing said so before).
    @Test func aRecordsPageShowsItsMassEmailsAndItsSuppression() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics(f, client, token: f.adminToken)
            let m = try await resolved(f, b, name: "Spring news")
            try await f.store.database.transaction { db in
                try await db.raw("UPDATE mail_messages SET status = 'sent', sent_at = 1800000000, opened_at = 1800000600, opens = 1 WHERE mass_email_id = \(bind: m.id)").run()
            }
            try await f.store.suppressions.add("ann@example.com", reason: "complaint", now: 1_800_000_900)
            let local = LocalTime(zoneNamed: f.admin.timeZone)
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            let page = try await client.execute(uri: "/m/contacts/\(b.record)", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(page.contains(#"<td><a href="/mass-emails/\#(m.id)">Spring news</a></td><td>Mass email</td>"#))
            #expect(page.contains("<td>\(local.readable(1_800_000_000))</td><td>\(local.readable(1_800_000_600))</td>"))
            #expect(page.contains("ann@example.com is on the suppression list (complaint, since \(local.readable(1_800_000_900))): mass email skips it"))
            let api = try await client.api(.get, "/api/v1/modules/contacts/records/\(b.record)/mail", token: f.adminToken)
            let body = try #require(api.json?.objectValue)
            #expect(body["messages"]?.arrayValue?.first?.objectValue?["mass_email"] == "Spring news")
            #expect(body["messages"]?.arrayValue?.first?.objectValue?["opened_at"] == .string(ISODateTime.format(epochSeconds: 1_800_000_600)))
            #expect(body["suppressed"]?.arrayValue?.first?.objectValue?["reason"] == "complaint")
            // The user who owns the record sees no admin's mass email in it.
            let own = try await client.api(.get, "/api/v1/modules/contacts/records/\(b.record)/mail", token: f.userToken)
            #expect(own.status == .notFound, "an admin's record is not the user's")
        }
    }

    /// A user's selection of records they may not see is refused, in the words used for ids
    /// that do not exist (it was saved, and sent to the visible ones only, silently).
    @Test func aUsersSelectionOfOthersRecordsIsRefused() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics(f, client, token: f.userToken)
            let contacts = try await f.store.modules.named("contacts")
            let admins = try await f.store.records.create(in: contacts, RecordChanges(["last_name": .text("Admin's"), "email": .text("a@example.com")]),
                                                          owner: f.admin.id).id
            func save(_ ids: [Int64], token: String) async throws -> TestResponse {
                try await client.api(.post, "/api/v1/mass-emails", token: token, json: [
                    "name": "Picked", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                    "recipients": ["record_ids": .array(ids.map { .number(Double($0)) })], "schedule": ["send": "draft"],
                ])
            }
            let refused = try await save([b.record, admins], token: f.userToken)
            #expect(refused.status == .unprocessableContent && refused.problemFields == ["recipients.record_ids"])
            #expect(refused.text.contains("1 of the selected records do not exist in Contacts"))
            let missing = try await save([b.record, 999_999], token: f.userToken)
            #expect(missing.text.contains("1 of the selected records do not exist in Contacts"), "the same words: nothing is learnt")
            #expect(try await save([b.record], token: f.userToken).status == .created)
            #expect(try await save([b.record, admins], token: f.adminToken).status == .created)
        }
    }

    /// "All Contacts" as recipients, in the API (`{"all": true}`) and on the form, where a user
    /// who sees only their own records reads "All my Contacts".
    @Test func allRecordsAsRecipientsInTheAPIAndOnTheForm() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics(f, client, token: f.userToken)
            func create(_ recipients: JSONValue, token: String) async throws -> TestResponse {
                try await client.api(.post, "/api/v1/mass-emails", token: token, json: [
                    "name": "To all", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                    "recipients": recipients, "schedule": ["send": "draft"],
                ])
            }
            let created = try await create(["all": true], token: f.userToken)
            #expect(created.status == .created)
            #expect(created.json?.objectValue?["recipients"] == ["all": true])
            #expect(created.json?.objectValue?["selected_records"] == .number(1), "the user's own contact")
            let no = try await create(["all": false], token: f.userToken)
            #expect(no.status == .unprocessableContent && no.problemFields == ["recipients.all"])
            let two = try await create(["all": true, "list_id": 1], token: f.userToken)
            #expect(two.status == .unprocessableContent && two.problemFields == ["recipients"])

            let user = try await AccountManagementTests().logIn(client, f.user.email, "user-password-1")
            let userForm = try await client.execute(uri: "/mass-emails/new?module=contacts", method: .get, headers: [.cookie: user.cookie]).text
            #expect(userForm.contains(#"<option value="all" >All my Contacts</option>"#))
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            let saved = try await AccountManagementTests().post(client, "/mass-emails", admin, [
                ("module", "contacts"), ("name", "Everyone"), ("recipients", "all"), ("template_id", String(b.template)),
                ("sender_id", String(b.sender)), ("send", "draft"),
            ])
            #expect(saved.status == .found)
            let location = try #require(saved.headers[.location])
            let page = try await client.execute(uri: location, method: .get, headers: [.cookie: admin.cookie]).text
            #expect(page.contains("<dt>Recipients</dt><dd>All Contacts<br>"))
            // Every link on its page leads somewhere (the template's went to a missing page).
            try await Self.expectLinksWork(in: page, client, cookie: admin.cookie)
            let edit = try await client.execute(uri: location + "/edit", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(edit.contains(#"<option value="all" selected>All Contacts</option>"#))
        }
    }

    /// Before it starts, a mass email says how many records its recipients select now, in its
    /// owner's scope (it showed 0 recipients until sending began); once resolved, its figures say.
    @Test func beforeItStartsAMassEmailSaysHowManyRecordsItsRecipientsSelect() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics(f, client, token: f.adminToken)
            let contacts = try await f.store.modules.named("contacts")
            let noAddress = try await f.store.records.create(in: contacts, RecordChanges(["last_name": .text("Nobody")]), owner: f.admin.id).id
            let users = try await f.store.records.create(in: contacts, RecordChanges(["last_name": .text("Mine"), "email": .text("mine@example.com")]),
                                                         owner: f.user.id).id
            let view = try await f.store.views.create(in: contacts, name: "Everyone", criteria: .everything, by: f.admin.id)
            let later = MassEmailDraft.Schedule.at(date: LocalDate(year: 2099, month: 1, day: 1)!, hour: 9, minute: 0, timeZone: "UTC")
            let everyone = try await f.store.massEmails.create(
                MassEmailDraft(name: "To everyone", recipients: .view(view.id), templateID: b.template, senderID: b.sender, schedule: later),
                in: contacts, owner: f.admin.id)
            // A user's mass email reaches only the user's records, and so counts only them.
            let usersOwn = try await f.store.massEmails.create(
                MassEmailDraft(name: "Mine", recipients: .records([b.record, noAddress, users]), templateID: b.template, senderID: b.sender, schedule: later),
                in: contacts, owner: f.user.id)
            func selected(_ id: Int64, _ token: String) async throws -> JSONValue? {
                try await client.api(.get, "/api/v1/mass-emails/\(id)", token: token).json?.objectValue?["selected_records"]
            }
            #expect(try await selected(everyone.id, f.adminToken) == .number(3), "a record without an address is selected too; left out when it starts")
            #expect(try await selected(usersOwn.id, f.userToken) == .number(1))
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            func page(_ id: Int64) async throws -> String {
                try await client.execute(uri: "/mass-emails/\(id)", method: .get, headers: [.cookie: admin.cookie]).text
            }
            #expect(try await page(everyone.id).contains("3 Contacts selected now; duplicates, missing or invalid addresses"))
            #expect(try await page(usersOwn.id).contains("1 Contact selected now;"))
            _ = try await f.store.massEmails.startDue(now: 4_102_444_800)  // 2100
            try await RecipientResolver(store: f.store, logger: Logger(label: "test")).resolve(everyone.id, node: "t", now: { WallClock.epochSeconds() })
            #expect(try await selected(everyone.id, f.adminToken) == .null, "resolved: its figures count the messages")
            #expect(!(try await page(everyone.id).contains("selected now")))
        }
    }

    /// Stop ends a send for good: its page calls what still waited "not sent (stopped)", in
    /// the figures and in each recipient's row, not "queued" as if it would still go.
    @Test func aStoppedMassEmailsPageSaysWhatWasNotSent() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics(f, client, token: f.adminToken)
            let massEmail = try await resolved(f, b, name: "Cut short")
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            func page() async throws -> String {
                try await client.execute(uri: "/mass-emails/\(massEmail.id)", method: .get, headers: [.cookie: admin.cookie]).text
            }
            let sending = try await page()
            #expect(sending.contains(">queued</span>") && !sending.contains("not sent (stopped)"), "before Stop it waits")
            #expect(try await client.api(.post, "/api/v1/mass-emails/\(massEmail.id)/stop", token: f.adminToken).status == .ok)
            let stopped = try await page()
            #expect(stopped.contains(">not sent (stopped)</span>"), "the recipient's row")
            #expect(!stopped.contains("id=\"refusals\""), "no receiver refused anything: no section for it")
            #expect(!stopped.contains(">queued</span>") && !stopped.contains("queued</"), "nothing says queued")
            let figures = try #require(stopped.firstMatch(of: /<ul class="figures" id="figures">(.*?)<\/ul>/.dotMatchesNewlines())?.1)
            #expect(figures.contains("not sent (stopped)") && !figures.contains("queued") && !figures.contains("deferred"), "\(figures)")
            // Done, it is no longer edited: the edit page leads to its page, and a late save says why in words.
            let edit = try await client.execute(uri: "/mass-emails/\(massEmail.id)/edit", method: .get, headers: [.cookie: admin.cookie])
            #expect(edit.status == .found && edit.headers[.location] == "/mass-emails/\(massEmail.id)")
            let late = try await AccountManagementTests().post(client, "/mass-emails/\(massEmail.id)", admin, [
                ("name", "Cut short again"), ("template_id", String(b.template)), ("sender_id", String(b.sender)),
                ("recipients", "records"), ("record_ids", String(b.record)), ("send", "draft"),
            ])
            #expect(late.text.contains("is stopped and cannot be") && !late.text.contains("<strong>status</strong>"), "\(late.status)")
        }
    }

    @Test func createSaysWhatIsWrongFieldByField() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics(f, client, token: f.adminToken)
            let empty = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [:])
            #expect(empty.status == .unprocessableContent)
            #expect(Set(empty.problemFields) == ["name", "module", "template_id", "sender_id", "recipients"])
            // A blank name (a form's empty field) is said with the rest, not after them.
            let blank = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "  ", "module": "contacts", "sender_id": .number(Double(b.sender)), "recipients": ["record_ids": [.number(Double(b.record))]],
            ])
            #expect(blank.status == .unprocessableContent && Set(blank.problemFields) == ["name", "template_id"], "\(blank.text)")
            let both = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "X", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                "recipients": ["view_id": 1, "list_id": 2],
            ])
            #expect(both.problemFields == ["recipients"])
            let past = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "Late", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                "recipients": ["record_ids": [.number(Double(b.record))]],
                "schedule": ["send": "later", "date": "2020-05-01", "time": "09:00", "time_zone": "Europe/Berlin"],
            ])
            #expect(past.problemFields == ["schedule.at"])
            #expect(past.text.contains("is in the past"))
            let badTime = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "Odd", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                "recipients": ["record_ids": [.number(Double(b.record))]],
                "schedule": ["send": "later", "date": "tomorrow", "time": "9", "time_zone": "Europe/Berlin"],
            ])
            #expect(Set(badTime.problemFields) == ["schedule.date", "schedule.time"])
            // Several mistakes, nested ones included, come back in one answer.
            let many = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "X", "module": "contacts", "template_id": "one", "sender_id": .number(Double(b.sender)),
                "recipients": ["view_id": 1, "record_ids": [1], "colour": "red"],
                "schedule": ["send": "later", "date": "2026-13-01", "time": "nine"],
            ])
            #expect(Set(many.problemFields) == ["template_id", "recipients", "recipients.colour", "schedule.date", "schedule.time",
                                               "schedule.time_zone"])
            let nothing = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "X", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                "recipients": .null,
            ])
            #expect(nothing.problemFields == ["recipients"])
            let noModule = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "X", "module": "nope", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                "recipients": ["view_id": 1],
            ])
            #expect(noModule.status == .notFound)
        }
    }

    @Test func scheduleEditStopAndTheSummaryCounts() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics(f, client, token: f.userToken)
            let tomorrow = LocalDate(Date().addingTimeInterval(2 * 86_400), in: TimeZone(identifier: "Asia/Tokyo")!).description
            let body: JSONValue = [
                "name": "Launch", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                "recipients": ["record_ids": [.number(Double(b.record))]],
                "schedule": ["send": "later", "date": .string(tomorrow), "time": "10:30", "time_zone": "Asia/Tokyo"],
            ]
            let created = try await client.api(.post, "/api/v1/mass-emails", token: f.userToken, json: body)
            #expect(created.status == .created)
            let massID = try #require(id(created))
            #expect(created.json?.objectValue?["status"]?.stringValue == "scheduled")
            #expect(created.json?.objectValue?["time_zone"]?.stringValue == "Asia/Tokyo")
            var renamed = body.objectValue!
            renamed["name"] = "Launch, renamed"
            let edited = try await client.api(.put, "/api/v1/mass-emails/\(massID)", token: f.userToken, json: .object(renamed))
            #expect(edited.json?.objectValue?["name"]?.stringValue == "Launch, renamed")
            // Its owner reads it; the admin lists it with the counts per status.
            let other = try await client.api(.get, "/api/v1/mass-emails/\(massID)", token: f.userToken)
            #expect(other.status == .ok)
            let list = try await client.api(.get, "/api/v1/mass-emails?status=scheduled", token: f.adminToken)
            #expect(list.json?.objectValue?["mass_emails"]?.arrayValue?.count == 1)
            #expect(list.json?.objectValue?["counts"]?.objectValue?["scheduled"] == .number(1))
            let stopped = try await client.api(.post, "/api/v1/mass-emails/\(massID)/stop", token: f.userToken)
            #expect(stopped.json?.objectValue?["status"]?.stringValue == "stopped")
            let again = try await client.api(.post, "/api/v1/mass-emails/\(massID)/stop", token: f.userToken)
            #expect(again.status == .conflict)
            let late = try await client.api(.put, "/api/v1/mass-emails/\(massID)", token: f.userToken, json: body)
            #expect(late.status == .conflict)
            let messages = try await client.api(.get, "/api/v1/mass-emails/\(massID)/messages?status=sent", token: f.userToken)
            #expect(messages.json?.objectValue?["messages"]?.arrayValue?.isEmpty == true)
            let badStatus = try await client.api(.get, "/api/v1/mass-emails?status=nope", token: f.userToken)
            #expect(badStatus.problemFields == ["status"])
        }
    }

    @Test func usersSeeOnlyTheirOwnMassEmails() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics(f, client, token: f.adminToken)
            let created = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "Admin's", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                "recipients": ["record_ids": [.number(Double(b.record))]],
            ])
            let massID = try #require(id(created))
            #expect(created.json?.objectValue?["status"]?.stringValue == "draft")
            #expect(try await client.api(.get, "/api/v1/mass-emails/\(massID)", token: f.userToken).status == .notFound)
            #expect(try await client.api(.post, "/api/v1/mass-emails/\(massID)/stop", token: f.userToken).status == .notFound)
            #expect(try await client.api(.get, "/api/v1/mass-emails", token: f.userToken).json?.objectValue?["mass_emails"]?.arrayValue?.isEmpty == true)
            #expect(try await client.api(.delete, "/api/v1/mass-emails/\(massID)", token: f.adminToken).status == .noContent)
        }
    }

    @Test func suppressionsAndQuotaAreForAdminsToChange() async throws {
        try await WebFixture.with { f, client in
            let refused = try await client.api(.post, "/api/v1/suppressions", token: f.userToken, json: ["address": "x@example.com"])
            #expect(refused.status == .forbidden)
            let bad = try await client.api(.post, "/api/v1/suppressions", token: f.adminToken, json: ["address": "not an address"])
            #expect(bad.problemFields == ["address"])
            #expect(try await client.api(.post, "/api/v1/suppressions", token: f.adminToken, json: ["address": " X@Example.com "]).status == .created)
            let list = try await client.api(.get, "/api/v1/suppressions", token: f.adminToken)
            #expect(list.json?.objectValue?["suppressions"]?.arrayValue?.first?.objectValue?["address"]?.stringValue == "x@example.com")
            // Not the user's: no record of theirs has that address.
            #expect(try await client.api(.get, "/api/v1/suppressions", token: f.userToken).json?.objectValue?["total"] == .number(0))
            #expect(try await client.api(.put, "/api/v1/settings/quota", token: f.userToken, json: ["daily_quota": 10]).status == .forbidden)
            let quota = try await client.api(.put, "/api/v1/settings/quota", token: f.adminToken, json: ["daily_quota": 5000])
            #expect(quota.json?.objectValue?["daily_quota"] == .number(5000))
            #expect(try await client.api(.put, "/api/v1/settings/quota", token: f.adminToken, json: ["daily_quota": 0]).problemFields == ["daily_quota"])
        }
    }
}
