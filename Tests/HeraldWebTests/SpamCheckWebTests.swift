import Foundation
import HeraldCore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Mail
import Testing

/// "Check for spam": templates scored by a real spamd through the API, the editor and the mass
/// email form, the organisation's threshold, and the setting that refuses mass email over it.
@Suite struct SpamCheckWebTests {
    let basics = MassEmailAPITests()
    let forms = FollowUpFormTests()

    /// The test command's spamd (HERALD_TEST_SPAMD, network rules off).
    static let spamd = ProcessInfo.processInfo.environment["HERALD_TEST_SPAMD"].flatMap { $0.isEmpty ? nil : $0 }

    /// Whether spamd is there: when it is not, a failure if peers are required, else a skip.
    static func available() -> Bool {
        if spamd != nil { return true }
        if ProcessInfo.processInfo.environment["HERALD_REQUIRE_PEERS"] == "1" {
            Issue.record("spamd is missing (HERALD_TEST_SPAMD) and HERALD_REQUIRE_PEERS=1")
        } else {
            print("SKIPPED: no spamd (set HERALD_TEST_SPAMD)")
        }
        return false
    }

    /// A template written to trip SpamAssassin's rules: shouting, money, an image and little else.
    static let shouting: JSONValue = [
        "name": "Shouting", "subject": "FREE MONEY!!! ACT NOW!!! 100% GUARANTEED",
        "html": """
            <html><body><a href="http://example.com/x"><img src="http://example.com/big.png" width="600" height="800"></a>
            <p><font size="7" color="#ff0000"><b>CLICK HERE TO CLAIM YOUR FREE CASH PRIZE!!! ACT NOW!!!</b></font></p></body></html>
            """,
    ]
    /// An ordinary letter.
    static let clean: JSONValue = [
        "name": "Letter", "subject": "Notes from Tuesday's meeting",
        "html": """
            <p>Dear {{first_name | "colleague"}},</p>
            <p>Here are the notes from Tuesday. We agreed to move the review to Friday and to ask the design team for the new
            drawings before then. Let me know if I missed anything.</p>
            <p>Best regards,<br>Ann</p>
            """,
    ]

    static func number(_ value: JSONValue?) -> Double? { if case .number(let d)? = value { d } else { nil } }

    func template(_ f: WebFixture, _ client: some TestClientProtocol, _ body: JSONValue) async throws -> Int64 {
        try #require(basics.id(try await client.api(.post, "/api/v1/modules/contacts/templates", token: f.userToken, json: body)))
    }

    @Test func theAPIScoresCleanMailLowAndShoutingMailHighWithEachRule() async throws {
        guard Self.available() else { return }
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.userToken)
            let clean = try await template(f, client, Self.clean)
            let low = try await client.api(.post, "/api/v1/templates/\(clean)/spam-check", token: f.userToken,
                                           json: ["record_id": .number(Double(b.record))])
            #expect(low.status == .ok, "\(low.text)")
            let lowScore = try #require(Self.number(low.json?.objectValue?["score"]))
            #expect(lowScore < 5 && low.json?.objectValue?["over_threshold"] == .bool(false))
            #expect(low.json?.objectValue?["threshold"] == .number(5))

            let shouting = try await template(f, client, Self.shouting)
            let high = try await client.api(.post, "/api/v1/templates/\(shouting)/spam-check", token: f.userToken, raw: "")
            #expect(high.status == .ok, "\(high.text)")
            let object = try #require(high.json?.objectValue)
            #expect(try #require(Self.number(object["score"])) >= 5 && object["over_threshold"] == .bool(true))
            let rules = object["rules"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(rules.contains { $0["name"]?.stringValue == "SUBJ_ALL_CAPS" && $0["description"]?.stringValue?.isEmpty == false })
            let scores = rules.compactMap { Self.number($0["score"]) }
            #expect(scores == scores.sorted(by: >), "highest first")

            // Unsaved content, as the editor has it; a record the user cannot see is refused.
            let unsaved = try await client.api(.post, "/api/v1/modules/contacts/templates/spam-check", token: f.userToken,
                                               json: ["subject": Self.shouting.objectValue!["subject"]!, "html": Self.shouting.objectValue!["html"]!])
            #expect(unsaved.status == .ok && unsaved.json?.objectValue?["over_threshold"] == .bool(true))
            let theirs = try #require(basics.id(try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken,
                                                                    json: ["last_name": "Admin's", "email": "a@example.org"])))
            let hidden = try await client.api(.post, "/api/v1/templates/\(clean)/spam-check", token: f.userToken,
                                              json: ["record_id": .number(Double(theirs))])
            #expect(hidden.status == .unprocessableContent && hidden.problemFields == ["record_id"])

            // A lower threshold makes the clean letter "over" too; out-of-range thresholds change nothing.
            let lowered = try await client.api(.put, "/api/v1/settings/deliverability", token: f.adminToken,
                                               json: ["spam_threshold": .number(lowScore - 0.5 < 0 ? 0 : lowScore - 0.5)])
            #expect(lowered.status == .ok)
            let again = try await client.api(.post, "/api/v1/templates/\(clean)/spam-check", token: f.userToken, raw: "")
            #expect(again.json?.objectValue?["over_threshold"] == .bool(true))
            let bad = try await client.api(.put, "/api/v1/settings/deliverability", token: f.adminToken,
                                           json: ["spam_threshold": -1, "complaint_threshold": 1])
            #expect(bad.status == .unprocessableContent && bad.problemFields == ["spam_threshold"])
            #expect(try await f.store.settings.complaintThreshold() == 0.3, "nothing of a refused request is saved")
            #expect(try await client.api(.put, "/api/v1/settings/deliverability", token: f.userToken,
                                         json: ["spam_threshold": 9]).status == .forbidden)
        }
    }

    @Test func refusingOverTheThresholdHoldsBackSendingButNotADraft() async throws {
        guard Self.available() else { return }
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.userToken)
            let shouting = try await template(f, client, Self.shouting)
            let clean = try await template(f, client, Self.clean)
            func massEmail(_ template: Int64, send: String) -> JSONValue {
                ["name": "Launch", "module": "contacts", "recipients": ["record_ids": [.number(Double(b.record))]],
                 "template_id": .number(Double(template)), "sender_id": .number(Double(b.sender)), "schedule": ["send": .string(send)]]
            }
            // Off (the default), a score over the threshold warns but sends.
            #expect(try await client.api(.post, "/api/v1/mass-emails", token: f.userToken, json: massEmail(shouting, send: "draft")).status == .created)
            _ = try await client.api(.put, "/api/v1/settings/deliverability", token: f.adminToken, json: ["refuse_over_spam_threshold": true])
            let refused = try await client.api(.post, "/api/v1/mass-emails", token: f.userToken, json: massEmail(shouting, send: "now"))
            #expect(refused.status == .unprocessableContent && refused.problemFields == ["template_id"])
            #expect(refused.text.contains("SpamAssassin") && refused.text.contains("threshold of 5.0"), "\(refused.text)")
            #expect(try await client.api(.post, "/api/v1/mass-emails", token: f.userToken, json: massEmail(shouting, send: "draft")).status == .created,
                    "a draft may still be saved")
            #expect(try await client.api(.post, "/api/v1/mass-emails", token: f.userToken, json: massEmail(clean, send: "now")).status == .created)
            // A follow-up's template is held to the threshold too.
            guard case .object(var withFollowUp) = massEmail(clean, send: "now") else { return }
            withFollowUp["follow_ups"] = [["template_id": .number(Double(shouting)), "delay": ["amount": 3, "unit": "days"]]]
            let followUp = try await client.api(.post, "/api/v1/mass-emails", token: f.userToken, json: .object(withFollowUp))
            #expect(followUp.status == .unprocessableContent && followUp.problemFields == ["follow_ups[0].template_id"], "\(followUp.text)")
            let settings = try await client.api(.get, "/api/v1/settings/deliverability", token: f.adminToken)
            #expect(settings.json?.objectValue?["refuse_over_spam_threshold"] == .bool(true))
        }
    }

    /// An A/B variant is held to the threshold as it goes: a variant that only changes the
    /// subject is checked with that subject, and the refusal names the variant's subject.
    @Test func anABVariantsOwnSubjectIsHeldToTheThreshold() async throws {
        guard Self.available() else { return }
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.userToken)
            let clean = try await template(f, client, Self.clean)
            let loud = Self.shouting.objectValue!["subject"]!
            // The threshold between the clean letter's score and the same letter's with the loud
            // subject, so that the subject alone decides.
            func score(subject: JSONValue) async throws -> Double {
                let answer = try await client.api(.post, "/api/v1/modules/contacts/templates/spam-check", token: f.userToken,
                                                  json: ["subject": subject, "html": Self.clean.objectValue!["html"]!])
                return try #require(Self.number(answer.json?.objectValue?["score"]), "\(answer.text)")
            }
            let quiet = try await score(subject: Self.clean.objectValue!["subject"]!), shouting = try await score(subject: loud)
            try #require(shouting > quiet + 0.2, "the loud subject scores higher (\(quiet) and \(shouting))")
            let threshold = ((quiet + shouting) / 2 * 100).rounded() / 100
            let saved = try await client.api(.put, "/api/v1/settings/deliverability", token: f.adminToken,
                                             json: ["refuse_over_spam_threshold": true, "spam_threshold": .number(threshold)])
            #expect(saved.status == .ok, "\(saved.text)")
            func massEmail(variantSubject: JSONValue) -> JSONValue {
                ["name": "Which subject", "module": "contacts", "template_id": .number(Double(clean)), "sender_id": .number(Double(b.sender)),
                 "recipients": ["record_ids": [.number(Double(b.record))]], "schedule": ["send": "now"],
                 "ab_test": ["variants": [[:], ["subject": variantSubject]], "test_percent": 50, "measure": "clicks",
                             "wait": ["amount": 1, "unit": "hours"]]]
            }
            let refused = try await client.api(.post, "/api/v1/mass-emails", token: f.userToken, json: massEmail(variantSubject: loud))
            #expect(refused.status == .unprocessableContent && refused.problemFields == ["ab_test.variants[1].subject"], "\(refused.text)")
            #expect(refused.text.contains("FREE MONEY"), "the refusal names the subject: \(refused.text)")
            let fine = try await client.api(.post, "/api/v1/mass-emails", token: f.userToken, json: massEmail(variantSubject: "Tuesday, again"))
            #expect(fine.status == .created, "\(fine.text)")
        }
    }

    @Test func withoutSpamdTheCheckSaysHowToEnableItAndTheRefusalHolds() async throws {
        try await WebFixture.with(spamd: "127.0.0.1:1") { f, client in
            let b = try await basics.basics(f, client, token: f.userToken)
            let answer = try await client.api(.post, "/api/v1/templates/\(b.template)/spam-check", token: f.userToken, raw: "")
            #expect(answer.status == .badGateway)
            #expect(answer.text.contains("spamd") && answer.text.contains("--spamd"), "\(answer.text)")
            try await f.store.settings.setRefuseOverSpamThreshold(true)
            let body: JSONValue = ["name": "Launch", "module": "contacts", "recipients": ["record_ids": [.number(Double(b.record))]],
                                   "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)), "schedule": ["send": "now"]]
            let refused = try await client.api(.post, "/api/v1/mass-emails", token: f.userToken, json: body)
            #expect(refused.status == .unprocessableContent && refused.text.contains("could not be checked"), "\(refused.text)")
        }
    }

    @Test func theEditorAndTheMassEmailFormShowTheScoreAndTheRules() async throws {
        guard Self.available() else { return }
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let shouting = try await template(f, client, Self.shouting)
            let s = try await forms.login(f, client)
            let editor = try await forms.post(client, "/m/contacts/templates/spam-check", s, [
                ("template_id", String(shouting)), ("name", "Shouting"), ("subject", Self.shouting.objectValue!["subject"]!.stringValue!),
                ("html", Self.shouting.objectValue!["html"]!.stringValue!), ("sender_id", String(b.sender)), ("record_choice", String(b.record)),
            ])
            #expect(editor.status == .ok)
            #expect(editor.text.contains("id=\"spam-score\"") && editor.text.contains("id=\"spam-warning\""))
            #expect(editor.text.contains("<code>SUBJ_ALL_CAPS</code>") && editor.text.contains("Subject is all capitals"))
            #expect(editor.text.contains("FREE MONEY"), "what was typed stays in the form")

            let form = try await forms.post(client, "/mass-emails", s, forms.massEmail((b.record, shouting, b.sender)) + [("check_spam", "1")])
            #expect(form.status == .ok)
            #expect(form.text.contains("id=\"spam-warning\"") && form.text.contains("<code>SUBJ_ALL_CAPS</code>"))
            #expect(try await f.store.massEmails.all().isEmpty, "checking saves nothing")
            let none = try await forms.post(client, "/mass-emails", s, [("module", "contacts"), ("check_spam", "1")])
            #expect(none.text.contains("choose a template to check"))

            // The threshold and the refusal are set on the Sending domains page.
            let saved = try await forms.post(client, "/admin/domains/settings", s, [
                ("complaint_threshold", "0.3"), ("spam_threshold", "7.5"), ("refuse_over_spam_threshold", "1"),
            ])
            #expect(saved.status == .found)
            #expect(try await f.store.settings.spamThreshold() == 7.5)
            #expect(try await f.store.settings.refuseOverSpamThreshold())
            let page = try await client.execute(uri: "/admin/domains", method: .get, headers: [.cookie: s.cookie])
            #expect(page.text.contains("name=\"spam_threshold\" value=\"7.5\""))
            let typo = try await forms.post(client, "/admin/domains/settings", s, [
                ("complaint_threshold", "0.5"), ("spam_threshold", "lots"), ("refuse_over_spam_threshold", "0"),
            ])
            #expect(typo.status == .unprocessableContent && typo.text.contains("lots&#39; is not a number"))
            #expect(try await f.store.settings.complaintThreshold() == 0.3, "nothing saved")
            #expect(try await f.store.settings.refuseOverSpamThreshold())
        }
    }
}
