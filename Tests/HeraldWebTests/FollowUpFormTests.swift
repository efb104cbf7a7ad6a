import Foundation
import HeraldCore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Testing

/// The "Follow-ups" section of the mass email form: posted, redrawn by its buttons, refused
/// with its problems beside the follow-up, and shown again to edit.
@Suite struct FollowUpFormTests {
    let basics = MassEmailAPITests()
    let session = SessionTests()

    /// A logged-in admin: the session cookie and the form's CSRF token.
    func login(_ f: WebFixture, _ client: some TestClientProtocol) async throws -> (cookie: String, csrf: String) {
        let login = try await session.postLogin(client, [("email", f.admin.email), ("password", f.adminPassword)])
        let cookie = try #require(session.cookie(login))
        let page = try await client.execute(uri: "/mass-emails/new?module=contacts", method: .get, headers: [.cookie: cookie])
        let csrf = try #require(page.text.firstMatch(of: /name="_csrf" value="([^"]+)"/)?.1)
        return (cookie, String(csrf))
    }

    func post(_ client: some TestClientProtocol, _ uri: String, _ s: (cookie: String, csrf: String),
              _ pairs: [(String, String)]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: [.cookie: s.cookie, .contentType: "application/x-www-form-urlencoded"],
                                 body: session.form([("_csrf", s.csrf)] + pairs))
    }

    func massEmail(_ b: (record: Int64, template: Int64, sender: Int64), name: String = "Launch") -> [(String, String)] {
        [("module", "contacts"), ("name", name), ("recipients", "records"), ("record_ids", String(b.record)),
         ("template_id", String(b.template)), ("sender_id", String(b.sender)), ("send", "draft")]
    }

    /// Two follow-ups as the form posts them: 3 days after sending, not to those who opened or
    /// replied; then 1 day after that, not to those in Germany, as a reply, Monday to Friday.
    func twoFollowUps(template: Int64) -> [(String, String)] {
        [
            ("fu0_row", "1"), ("fu0_template_id", String(template)), ("fu0_amount", "3"), ("fu0_unit", "days"), ("fu0_after", "mass_email"),
            ("fu0_match", "any"), ("fu0_r0_kind", "opened"), ("fu0_r1_kind", "replied"), ("fu0_r2_kind", ""),
            ("fu0_from", "09:00"), ("fu0_to", "17:00"),
            ("fu1_row", "1"), ("fu1_template_id", String(template)), ("fu1_amount", "1"), ("fu1_unit", "days"),
            ("fu1_after", "previous_follow_up"), ("fu1_match", "all"),
            ("fu1_r0_kind", "field"), ("fu1_r0_field", "mailing_country"), ("fu1_r0_op", "equals"), ("fu1_r0_value", "DE"),
            ("fu1_window", "on"), ("fu1_day_monday", "on"), ("fu1_day_friday", "on"), ("fu1_from", "08:30"), ("fu1_to", "18:00"),
            ("fu1_threaded", "on"),
        ]
    }

    func savedFollowUps(template: Int64) -> JSONValue {
        [
            [
                "template_id": .number(Double(template)), "delay": ["amount": 3, "unit": "days"], "after": "mass_email", "window": .null,
                "exclude": ["match": "any", "rules": [["engagement": "opened"], ["engagement": "replied"]]], "threaded": false,
            ],
            [
                "template_id": .number(Double(template)), "delay": ["amount": 1, "unit": "days"], "after": "previous_follow_up",
                "window": ["weekdays": ["monday", "friday"], "from": "08:30", "to": "18:00"],
                "exclude": ["match": "all", "rules": [["field": "mailing_country", "op": "equals", "value": "DE"]]], "threaded": true,
            ],
        ]
    }

    @Test func postingTheFormWithTwoFollowUpsSavesThem() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let s = try await login(f, client)
            let saved = try await post(client, "/mass-emails", s, massEmail(b) + twoFollowUps(template: b.template))
            #expect(saved.status == .found)
            let id = try #require(saved.headers[.location].flatMap { Int64($0.split(separator: "/").last!) })
            let read = try await client.api(.get, "/api/v1/mass-emails/\(id)", token: f.adminToken).json?.objectValue
            #expect(read?["follow_ups"] == savedFollowUps(template: b.template))
        }
    }

    @Test func itsButtonsRedrawTheFormWithWhatWasTyped() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let s = try await login(f, client)
            let page = try await client.execute(uri: "/mass-emails/new?module=contacts", method: .get, headers: [.cookie: s.cookie])
            #expect(page.text.contains("id=\"add-follow-up\"") && page.text.contains("No follow-ups."))

            let added = try await post(client, "/mass-emails", s, massEmail(b, name: "Typed") + [("add_follow_up", "1")])
            #expect(added.status == .ok)
            #expect(added.text.contains("value=\"Typed\""))
            #expect(added.text.contains("Follow-up 1") && added.text.contains("name=\"fu0_row\""))
            #expect(!added.text.contains("name=\"fu1_row\""))
            // Not complete yet, it is in the summary with what it lacks (it was left out, unsaid).
            #expect(added.text.contains("<li>Follow-up 1: not complete: template: "), "\(added.text.firstMatch(of: /id="follow-up-summary".*?<\/ul>/.dotMatchesNewlines()).map { String($0.0) } ?? "")")

            // The second follow-up's plus adds a rule to it alone.
            let plus = try await post(client, "/mass-emails", s, massEmail(b) + twoFollowUps(template: b.template) + [("add_rule", "1")])
            #expect(plus.text.contains("name=\"fu1_r1_kind\"") && !plus.text.contains("name=\"fu0_r3_kind\""))
            #expect(plus.text.contains("Follow-up 1: 3 days after sending"))
            #expect(plus.text.contains("Follow-up 2: 1 day after the previous follow-up"))

            // Removing the first renumbers the second, which keeps its values.
            let removed = try await post(client, "/mass-emails", s, massEmail(b) + twoFollowUps(template: b.template) + [("remove_follow_up", "0")])
            #expect(removed.status == .ok)
            #expect(!removed.text.contains("name=\"fu1_row\""))
            #expect(removed.text.contains("name=\"fu0_r0_value\" value=\"DE\""))
            #expect(removed.text.contains("name=\"fu0_from\" value=\"08:30\""))

            let ruleRemoved = try await post(client, "/mass-emails", s, massEmail(b) + twoFollowUps(template: b.template) + [("remove_rule", "0.0")])
            let name = try await templateName(f, b.template)
            #expect(ruleRemoved.text.contains("Follow-up 1: 3 days after sending, template “\(name)”, not to those who replied"))

            // So do the follow-up actions: one not complete yet says what it lacks.
            let actions = try await post(client, "/mass-emails", s, massEmail(b) + [
                ("ta0_event", "opened"), ("ta0_action", "add_task"), ("ta0_subject", ""), ("ta0_due_kind", "days"), ("ta0_due_days", "2"),
                ("ta1_event", "clicked"), ("ta1_action", "schedule_call"), ("ta1_call_subject", "Ring"), ("ta1_start_kind", "at"), ("ta1_start_at", ""),
                ("refresh_actions", "1"),
            ])
            #expect(actions.text.contains("<li>Action 1: not complete: subject: "))
            #expect(actions.text.contains("<li>Action 2: not complete: start at: choose the date and time of the call, or a time after the event</li>"))
        }
    }

    func templateName(_ f: WebFixture, _ id: Int64) async throws -> String {
        try await f.store.templates.find(id).name
    }

    @Test func aBadFollowUpIsRefusedBesideItWithEverythingKept() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let s = try await login(f, client)
            // Without JavaScript every operator is offered, whatever the field's type.
            let pairs = (massEmail(b) + twoFollowUps(template: b.template)).map {
                $0.0 == "fu1_amount" ? ("fu1_amount", "400") : $0.0 == "fu0_r1_kind" ? ("fu0_r1_kind", "field") : $0
            } + [("fu0_r1_field", "first_name"), ("fu0_r1_op", "greater_than"), ("fu0_r1_value", "M")]
            let refused = try await post(client, "/mass-emails", s, pairs)
            #expect(refused.status == .unprocessableContent)
            let text = refused.text
            #expect(text.contains("Follow-up 2, delay: must be from 1 to 366 days"))
            #expect(text.contains("Follow-up 1, rule 2, op: &#39;greater_than&#39; does not apply to text field &#39;first_name&#39;"))
            // Each under its own follow-up (and in the list at the top, in the same words).
            let second = try #require(text.range(of: "id=\"follow-up-2\""))
            #expect(text.range(of: "<strong>Follow-up 2, delay</strong>: must be from 1 to 366 days") != nil)
            #expect(text.range(of: "Follow-up 2, delay", options: .backwards)!.lowerBound > second.lowerBound)
            #expect(text.range(of: "Follow-up 1, rule 2")!.lowerBound < second.lowerBound)
            #expect(text.contains("name=\"fu1_amount\" value=\"400\""))
            #expect(text.contains("name=\"fu1_r0_value\" value=\"DE\""))
            let list = try await client.api(.get, "/api/v1/mass-emails", token: f.adminToken)
            #expect(list.json?.objectValue?["mass_emails"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test func theEditFormShowsSavedFollowUpsAndSavingItKeepsThem() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            var followUps = savedFollowUps(template: b.template).arrayValue!
            // A group of conditions, which only the API writes, is shown as JSON.
            followUps.append([
                "template_id": .number(Double(b.template)), "delay": ["amount": 12, "unit": "hours"], "after": "mass_email", "window": .null,
                "exclude": ["match": "any", "rules": [["all": [["field": "first_name", "op": "is_empty", "value": .null]]]]],
                "threaded": false,
            ])
            var body = try #require(FollowUpAPITests().massEmail(b, followUps: .array(followUps)).objectValue)
            body["schedule"] = ["send": "draft"]
            let id = try #require(basics.id(try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: .object(body))))
            let s = try await login(f, client)
            let edit = try await client.execute(uri: "/mass-emails/\(id)/edit", method: .get, headers: [.cookie: s.cookie])
            let name = try await templateName(f, b.template)
            #expect(edit.text.contains("Follow-up 1: 3 days after sending, template “\(name)”, not to those who opened or replied"))
            #expect(edit.text.contains("Follow-up 2: 1 day after the previous follow-up, template “\(name)”, Mon, Fri 08:30–18:00"))
            #expect(edit.text.contains("Follow-up 3: 12 hours after sending"))
            #expect(edit.text.contains("name=\"fu1_threaded\" checked"))

            // Posting back what the edit form shows changes nothing.
            let fields = edit.text.matches(of: /<input (?:type="(?:hidden|number|time)" )?name="(fu[^"]+)" value="([^"]*)"/).map { (String($0.1), String($0.2)) }
            let checked = edit.text.matches(of: /<input type="checkbox" name="(fu[^"]+)" checked/).map { (String($0.1), "on") }
            let selects = edit.text.matches(of: /<select name="(fu[^"]+)"[^>]*>(?:(?!<\/select>).)*?<option value="([^"]*)" selected/).map { (String($0.1), String($0.2)) }
            let json = try #require(edit.text.firstMatch(of: /<textarea name="(fu2_r0_json)"[^>]*>([^<]*)</))
            let shown = fields + checked + selects + [(String(json.1), String(json.2).replacingOccurrences(of: "&quot;", with: "\""))]
            let saved = try await post(client, "/mass-emails/\(id)", s, massEmail(b) + shown)
            #expect(saved.status == .found)
            let read = try await client.api(.get, "/api/v1/mass-emails/\(id)", token: f.adminToken).json?.objectValue
            #expect(read?["follow_ups"] == .array(followUps))
        }
    }

    @Test func rowsAndTheirJSONGoBothWays() throws {
        let followUps = [
            FollowUp(templateID: 7, delay: .hours(36), window: SendingWindow(weekdays: [6, 7], from: 600, to: 720),
                     exclusions: .init(match: .all, rules: [.engagement(.notClicked), .field(.condition(field: "score", op: .between, value: ["1", "5"]))]),
                     threaded: true),
            FollowUp(templateID: 8, delay: .days(2), after: .previousFollowUp,
                     exclusions: .init(match: .any, rules: [.field(.condition(field: "created", op: .withinLastDays, value: 30))])),
        ]
        let json = FollowUpForm.json(FollowUpForm.rows(FollowUpForm.flatten(FollowUpForm.rows(of: followUps))))
        var reader = try JSONObjectReader(.object(["follow_ups": json]))
        #expect(FollowUpInput.parse(&reader) == followUps)
        #expect(reader.allProblems.isEmpty)
        #expect(FollowUpForm.words("exclude.rules[2].value[0]") == "rule 3, value[0]")
        #expect(FollowUpForm.words("window.from") == "window, from")
    }
}
