import Foundation
import HeraldCore
import HeraldStore
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct FollowUpAPITests {
    let basics = MassEmailAPITests()

    func massEmail(_ b: (record: Int64, template: Int64, sender: Int64), followUps: JSONValue) -> JSONValue {
        [
            "name": "With follow-ups", "module": "contacts", "template_id": .number(Double(b.template)),
            "sender_id": .number(Double(b.sender)), "recipients": ["record_ids": [.number(Double(b.record))]],
            "follow_ups": followUps,
        ]
    }

    @Test func followUpsAreSavedAndReturnedInTheShapeTheyAreGiven() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let followUps: JSONValue = [
                [
                    "template_id": .number(Double(b.template)), "delay": ["amount": 3, "unit": "days"], "after": "mass_email",
                    "window": ["weekdays": ["monday", "tuesday", "wednesday", "thursday", "friday"], "from": "09:00", "to": "17:00"],
                    "exclude": ["match": "any", "rules": [
                        ["engagement": "opened"], ["engagement": "replied"],
                        ["field": "mailing_country", "op": "equals", "value": "DE"],
                        ["all": [["field": "first_name", "op": "is_empty", "value": .null]]],
                    ]],
                    "threaded": true,
                ],
                [
                    "template_id": .number(Double(b.template)), "delay": ["amount": 12, "unit": "hours"], "after": "previous_follow_up",
                    "window": .null, "exclude": ["match": "all", "rules": []], "threaded": false,
                ],
            ]
            let created = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: massEmail(b, followUps: followUps))
            #expect(created.status == .created)
            #expect(created.json?.objectValue?["follow_ups"] == followUps)
            let id = try #require(basics.id(created))
            let read = try await client.api(.get, "/api/v1/mass-emails/\(id)", token: f.adminToken)
            #expect(read.json?.objectValue?["follow_ups"] == followUps)

            // Only the template and the delay are required; the rest has defaults.
            let short: JSONValue = [["template_id": .number(Double(b.template)), "delay": ["amount": 1, "unit": "days"]]]
            let updated = try await client.api(.put, "/api/v1/mass-emails/\(id)", token: f.adminToken, json: massEmail(b, followUps: short))
            #expect(updated.status == .ok)
            #expect(updated.json?.objectValue?["follow_ups"] == [[
                "template_id": .number(Double(b.template)), "delay": ["amount": 1, "unit": "days"], "after": "mass_email",
                "window": .null, "exclude": ["match": "any", "rules": []], "threaded": false,
            ]])
        }
    }

    @Test func malformedFollowUpsAreRefusedWithEveryPath() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let malformed = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: massEmail(b, followUps: [
                ["template_id": "seven", "delay": ["amount": 2, "unit": "weeks"], "after": "lunch", "colour": "red"],
                "soon",
                [
                    "template_id": .number(Double(b.template)),
                    "window": ["weekdays": ["funday"], "from": "9", "to": "17:00"],
                    "exclude": ["match": "most", "rules": [["engagement": "seen"], ["field": "country"], ["engagement": "opened", "op": "x"]]],
                    "threaded": "yes",
                ],
            ]))
            #expect(malformed.status == .unprocessableContent)
            #expect(Set(malformed.problemFields) == [
                "follow_ups[0].template_id", "follow_ups[0].delay.unit", "follow_ups[0].after", "follow_ups[0].colour",
                "follow_ups[1]",
                "follow_ups[2].delay", "follow_ups[2].window.weekdays[0]", "follow_ups[2].window.from",
                "follow_ups[2].exclude.match", "follow_ups[2].exclude.rules[0].engagement", "follow_ups[2].exclude.rules[1].op",
                "follow_ups[2].exclude.rules[2]", "follow_ups[2].threaded",
            ])
            let notAList = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: massEmail(b, followUps: ["x": 1]))
            #expect(notAList.problemFields == ["follow_ups"])
        }
    }

    @Test func followUpsThatBreakTheRulesAreRefusedWithEveryPath() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let leadTemplate = try #require(basics.id(try await client.api(.post, "/api/v1/modules/leads/templates", token: f.adminToken,
                                                                          json: ["name": "Lead", "subject": "Hi", "html": "<p>Hi</p>"])))
            let response = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: massEmail(b, followUps: [
                ["template_id": .number(Double(b.template)), "delay": ["amount": 0, "unit": "days"], "after": "previous_follow_up"],
                [
                    "template_id": .number(Double(leadTemplate)), "delay": ["amount": 9000, "unit": "hours"],
                    "window": ["weekdays": [], "from": "17:00", "to": "09:00"],
                    "exclude": ["rules": [["field": "shoe_size", "op": "equals", "value": "44"]]],
                ],
            ]))
            #expect(response.status == .unprocessableContent)
            #expect(Set(response.problemFields) == [
                "follow_ups[0].delay", "follow_ups[0].after",
                "follow_ups[1].template_id", "follow_ups[1].delay", "follow_ups[1].window.weekdays", "follow_ups[1].window.to",
                "follow_ups[1].exclude.rules[0].field",
            ])
            #expect(response.text.contains("no template \(leadTemplate) in module Contacts"))
            let list = try await client.api(.get, "/api/v1/mass-emails", token: f.adminToken)
            #expect(list.json?.objectValue?["mass_emails"]?.arrayValue?.isEmpty == true)
        }
    }
}
