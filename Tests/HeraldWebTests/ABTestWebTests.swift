import Foundation
import HeraldCore
import Logging
import HeraldStore
import HeraldDelivery
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Testing

/// A/B tests through the API and the form: saved, read back, refused with each problem's
/// path, shown side by side, and a winner picked only when one can be.
@Suite struct ABTestWebTests {
    let basics = MassEmailAPITests()
    let form = FollowUpFormTests()

    func body(_ b: (record: Int64, template: Int64, sender: Int64), abTest: JSONValue, send: String = "draft") -> JSONValue {
        ["name": "Which subject", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
         "recipients": ["record_ids": [.number(Double(b.record))]], "schedule": ["send": .string(send)], "ab_test": abTest]
    }

    @Test func theAPISavesATestAndSaysWhatIsWrongWithOne() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let test: JSONValue = ["variants": [["subject": "Spring offer"], ["template_id": .number(Double(b.template)), "subject": "Last chance"]],
                                   "test_percent": 20, "measure": "clicks", "wait": ["amount": 4, "unit": "hours"]]
            let created = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: body(b, abTest: test))
            #expect(created.status == .created)
            let saved = try #require(created.json?.objectValue?["ab_test"]?.objectValue)
            #expect(saved["test_percent"] == 20)
            #expect(saved["measure"] == "clicks")
            #expect(saved["decision"] == .null)
            let variants = try #require(saved["variants"]?.arrayValue)
            #expect(variants.map { $0.objectValue?["letter"] } == ["A", "B"])
            #expect(variants.map { $0.objectValue?["sent"] } == [0, 0])
            #expect(variants[1].objectValue?["subject"] == "Last chance")

            let bad: JSONValue = ["variants": [["subject": "Same"], ["subject": "Same"], ["template_id": 999_999]],
                                  "test_percent": 95, "measure": "likes", "wait": ["amount": 8, "unit": "days"]]
            let refused = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: body(b, abTest: bad))
            #expect(refused.status == .unprocessableContent)
            #expect(Set(refused.problemFields) == ["ab_test.measure"])  // the reader's problems come first
            let badNumbers: JSONValue = ["variants": [["subject": "Same"], ["subject": "Same"], ["template_id": 999_999]],
                                        "test_percent": 95, "measure": "opens", "wait": ["amount": 8, "unit": "days"]]
            let refusedToo = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: body(b, abTest: badNumbers))
            #expect(Set(refusedToo.problemFields) == ["ab_test.variants[1]", "ab_test.test_percent", "ab_test.wait"])
            let unknownTemplate: JSONValue = ["variants": [["subject": "One"], ["template_id": 999_999]],
                                              "test_percent": 20, "measure": "opens", "wait": ["amount": 1, "unit": "days"]]
            let noTemplate = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: body(b, abTest: unknownTemplate))
            #expect(noTemplate.problemFields == ["ab_test.variants[1].template_id"])
            let notAList = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken,
                                                json: body(b, abTest: ["variants": "A and B", "test_percent": 20, "measure": "opens",
                                                                       "wait": ["amount": 1, "unit": "days"]]))
            #expect(notAList.problemFields == ["ab_test.variants"])

            // A winner can be picked only while it sends: a draft has no test share yet.
            let id = try #require(basics.id(created))
            let early = try await client.api(.post, "/api/v1/mass-emails/\(id)/ab-winner", token: f.adminToken, json: ["variant": "B"])
            #expect(early.status == .conflict)
            let wrong = try await client.api(.post, "/api/v1/mass-emails/\(id)/ab-winner", token: f.adminToken, json: ["variant": "Z"])
            #expect(wrong.problemFields == ["variant"])
            let third = try await client.api(.post, "/api/v1/mass-emails/\(id)/ab-winner", token: f.adminToken, json: ["variant": "C"])
            #expect(third.problemFields == ["variant"])
        }
    }

    /// Stopped before its winner was chosen, it no longer promises one to those who waited.
    @Test func aStoppedTestSaysItsRestWillNotGetIt() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let contacts = try await f.store.modules.named("contacts")
            var ids = [b.record]
            for i in 1..<10 {
                ids.append(try await f.store.records.create(in: contacts, RecordChanges(["last_name": .text("P\(i)"), "email": .text("p\(i)@example.com")]),
                                                            owner: f.admin.id).id)
            }
            var json = body(b, abTest: ["variants": [["subject": "One"], ["subject": "Two"]], "test_percent": 20, "measure": "opens",
                                        "wait": ["amount": 4, "unit": "hours"]], send: "now").objectValue!
            json["recipients"] = ["record_ids": .array(ids.map { .number(Double($0)) })]
            let id = try #require(basics.id(try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: .object(json))))
            _ = try await f.store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
            try await RecipientResolver(store: f.store, logger: Logger(label: "test")).resolve(id, node: "t", now: { WallClock.epochSeconds() })
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            let before = try await client.execute(uri: "/mass-emails/\(id)", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(before.contains("recipients wait for it"))
            #expect(before.contains("Mass email, variant A") && before.contains("Mass email, variant B"), "each row says which it got")
            #expect(try await client.api(.post, "/api/v1/mass-emails/\(id)/stop", token: f.adminToken).status == .ok)
            let after = try await client.execute(uri: "/mass-emails/\(id)", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(after.contains("It was stopped before a winner was chosen: the 8 recipients waiting for it will not get it."))
            #expect(!after.contains("wait for it") && !after.contains("The winner is chosen"))
            #expect(after.contains(#"<span class="muted" id="progress-text">stopped at 0%</span>"#))
        }
    }

    @Test func theFormSavesATestShowsItAgainAndSaysWhatIsWrong() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let s = try await form.login(f, client)
            let blank = try await client.execute(uri: "/mass-emails/new?module=contacts", method: .get, headers: [.cookie: s.cookie])
            #expect(blank.text.contains("name=\"ab_on\""))
            #expect(blank.text.contains("name=\"ab_template_4\""))
            let pairs = form.massEmail(b) + [("ab_on", "on"), ("ab_subject_0", "Spring offer"), ("ab_template_1", ""), ("ab_subject_1", "Last chance"),
                                            ("ab_template_2", ""), ("ab_subject_2", ""), ("ab_percent", "30"), ("ab_measure", "opens"),
                                            ("ab_wait_amount", "2"), ("ab_wait_unit", "days")]
            let saved = try await form.post(client, "/mass-emails", s, pairs)
            #expect(saved.status == .found)
            let id = try #require(saved.headers[.location].flatMap { Int64($0.split(separator: "/").last!) })
            let read = try #require(try await client.api(.get, "/api/v1/mass-emails/\(id)", token: f.adminToken).json?.objectValue?["ab_test"]?.objectValue)
            #expect(read["variants"]?.arrayValue?.map { $0.objectValue?["subject"] } == ["Spring offer", "Last chance"])
            #expect(read["test_percent"] == 30)
            #expect(read["wait"] == ["amount": 2, "unit": "days"])
            let edit = try await client.execute(uri: "/mass-emails/\(id)/edit", method: .get, headers: [.cookie: s.cookie])
            #expect(edit.text.contains("name=\"ab_on\" value=\"on\" checked"))
            #expect(edit.text.contains("name=\"ab_subject_1\" value=\"Last chance\""))
            #expect(edit.text.contains("name=\"ab_percent\" min=\"2\" max=\"90\" value=\"30\""))
            let page = try await client.execute(uri: "/mass-emails/\(id)", method: .get, headers: [.cookie: s.cookie])
            #expect(page.text.contains("id=\"ab-test\""))
            #expect(page.text.contains("Last chance"))
            #expect(!page.text.contains("to the rest</button>"))  // a draft: nothing to pick yet
            let list = try await client.execute(uri: "/mass-emails?tab=drafts", method: .get, headers: [.cookie: s.cookie])
            #expect(list.text.contains("A/B by opens: A 0.0% · B 0.0%"))

            let wrong = try await form.post(client, "/mass-emails", s, form.massEmail(b) + [("ab_on", "on"), ("ab_percent", "99"),
                                                                                            ("ab_measure", "clicks"), ("ab_wait_amount", "3"), ("ab_wait_unit", "hours")])
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.text.contains("Variants: an A/B test has 2 to 5 variants"))
            #expect(wrong.text.contains("Test share: must be between 2 and 90"))
            #expect(wrong.text.contains("name=\"ab_on\" value=\"on\" checked"))
        }
    }
}
