import Foundation
import HeraldCore
import HeraldStore
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct ActivitiesAPITests {
    func id(_ response: TestResponse) -> Int64? {
        if case .number(let n)? = response.json?.objectValue?["id"] { Int64(n) } else { nil }
    }

    func list(_ response: TestResponse, _ key: String) -> [[String: JSONValue]] {
        response.json?.objectValue?[key]?.arrayValue?.compactMap(\.objectValue) ?? []
    }

    @Test func tasksAreAddedListedCompletedAndDeleted() async throws {
        try await WebFixture.with { f, client in
            let record = try #require(id(try await client.api(.post, "/api/v1/modules/contacts/records", token: f.userToken,
                                                              json: ["last_name": "Lee", "email": "ann@example.com"])))
            let created = try await client.api(.post, "/api/v1/tasks", token: f.userToken, json: [
                "module": "contacts", "record_id": .number(Double(record)), "subject": "Call Ann back", "due_date": "2026-12-01",
                "priority": "high",
            ])
            #expect(created.status == .created)
            let task = try #require(id(created))
            #expect(created.json?.objectValue?["assignee_id"] == .number(Double(f.user.id)))
            #expect(created.json?.objectValue?["status"]?.stringValue == "not_started")
            let admins = try await client.api(.post, "/api/v1/tasks", token: f.adminToken, json: [
                "module": "contacts", "record_id": .number(Double(record)), "subject": "Check the account",
            ])
            #expect(admins.status == .created)

            let mine = try await client.api(.get, "/api/v1/tasks?mine=true", token: f.userToken)
            #expect(list(mine, "tasks").map { $0["subject"]?.stringValue } == ["Call Ann back"])
            let ofRecord = try await client.api(.get, "/api/v1/tasks?module=contacts&record_id=\(record)", token: f.userToken)
            #expect(list(ofRecord, "tasks").count == 2)

            let done = try await client.api(.patch, "/api/v1/tasks/\(task)", token: f.userToken, json: ["status": "completed"])
            #expect(done.json?.objectValue?["status"]?.stringValue == "completed")
            #expect(list(try await client.api(.get, "/api/v1/tasks?mine=true&open=true", token: f.userToken), "tasks").isEmpty)

            let bad = try await client.api(.patch, "/api/v1/tasks/\(task)", token: f.userToken,
                                           json: ["status": "finished", "due_date": "soon", "colour": "red"])
            #expect(Set(bad.problemFields) == ["status", "due_date", "colour"])
            let missing = try await client.api(.post, "/api/v1/tasks", token: f.userToken, json: ["subject": "x"])
            #expect(Set(missing.problemFields) == ["module", "record_id"])
            let nobody = try await client.api(.post, "/api/v1/tasks", token: f.userToken, json: [
                "module": "contacts", "record_id": .number(Double(record)), "subject": "X", "assignee_id": 999,
            ])
            #expect(nobody.problemFields == ["assignee_id"])

            #expect(try await client.api(.delete, "/api/v1/tasks/\(task)", token: f.userToken).status == .noContent)
            #expect(try await client.api(.get, "/api/v1/tasks/\(task)", token: f.userToken).status == .notFound)
        }
    }

    @Test func callsAndWhoMaySeeThem() async throws {
        try await WebFixture.with { f, client in
            let record = try #require(id(try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken,
                                                              json: ["last_name": "Lee"])))
            // A plain user cannot attach anything to a record they may not see.
            let hidden = try await client.api(.post, "/api/v1/calls", token: f.userToken, json: [
                "module": "contacts", "record_id": .number(Double(record)), "subject": "Intro", "start_at": "2026-12-01T10:00:00Z",
            ])
            #expect(hidden.status == .notFound)
            let created = try await client.api(.post, "/api/v1/calls", token: f.adminToken, json: [
                "module": "contacts", "record_id": .number(Double(record)), "subject": "Intro", "start_at": "2026-12-01T10:00:00+01:00",
                "owner_id": .number(Double(f.user.id)),
            ])
            #expect(created.status == .created)
            let call = try #require(id(created))
            #expect(created.json?.objectValue?["start_at"]?.stringValue == "2026-12-01T09:00:00Z")
            // It is the user's call to make, so they see it, though not the record.
            let theirs = try await client.api(.get, "/api/v1/calls", token: f.userToken)
            #expect(list(theirs, "calls").map { $0["subject"]?.stringValue } == ["Intro"])
            let done = try await client.api(.patch, "/api/v1/calls/\(call)", token: f.userToken, json: ["status": "completed"])
            #expect(done.json?.objectValue?["status"]?.stringValue == "completed")
            let bad = try await client.api(.post, "/api/v1/calls", token: f.adminToken, json: [
                "module": "contacts", "record_id": .number(Double(record)), "subject": "", "start_at": "tomorrow",
            ])
            #expect(Set(bad.problemFields) == ["start_at"])
            let empty = try await client.api(.post, "/api/v1/calls", token: f.adminToken, json: [
                "module": "contacts", "record_id": .number(Double(record)), "subject": " ", "start_at": "2026-12-01T10:00:00Z",
            ])
            #expect(empty.problemFields == ["subject"])
        }
    }

    @Test func triggerActionsOnCreateAndUpdate() async throws {
        try await WebFixture.with { f, client in
            let b = try await MassEmailAPITests().basics(f, client, token: f.adminToken)
            var body: [String: JSONValue] = [
                "name": "With actions", "module": "contacts", "template_id": .number(Double(b.template)),
                "sender_id": .number(Double(b.sender)), "recipients": ["record_ids": [.number(Double(b.record))]],
                "trigger_actions": [
                    ["event": "opened", "action": "update_field", "field": "lead_source", "value": "Seminar"],
                    ["event": "clicked", "action": "add_task", "subject": "Call back", "due_in_days": 2, "priority": "high",
                     "assignee": "record_owner"],
                    ["event": "opened", "action": "schedule_call", "subject": "Intro", "owner": .number(Double(f.user.id)),
                     "start_after_minutes": 90],
                    ["event": "bounced", "action": "update_field", "field": "email_opt_out", "value": true],
                ],
                "include_machine_events": true,
            ]
            let created = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: .object(body))
            #expect(created.status == .created)
            let massID = try #require(id(created))
            let actions = created.json?.objectValue?["trigger_actions"]?.arrayValue ?? []
            #expect(actions.count == 4)
            #expect(actions[1].objectValue?["status"]?.stringValue == "not_started")
            #expect(actions[1].objectValue?["assignee"]?.stringValue == "record_owner")
            #expect(created.json?.objectValue?["include_machine_events"] == .bool(true))
            // What comes back can be sent back.
            body["trigger_actions"] = .array(Array(actions.prefix(2)))
            let updated = try await client.api(.put, "/api/v1/mass-emails/\(massID)", token: f.adminToken, json: .object(body))
            #expect(updated.status == .ok)
            #expect(updated.json?.objectValue?["trigger_actions"]?.arrayValue == Array(actions.prefix(2)))

            // Shape problems, every one at once.
            body["trigger_actions"] = [
                ["event": "replied", "action": "update_field", "field": "title"],
                ["event": "opened", "action": "add_task", "subject": "X", "due_date": "2026-12-01", "due_in_days": 1, "assignee": "someone"],
                ["event": "opened", "action": "schedule_call", "subject": "Y", "owner": 1],
                ["event": "opened", "action": "dance"],
                "not an object",
            ]
            let shape = try await client.api(.put, "/api/v1/mass-emails/\(massID)", token: f.adminToken, json: .object(body))
            #expect(shape.status == .unprocessableContent)
            #expect(Set(shape.problemFields) == [
                "trigger_actions[0].event", "trigger_actions[0].value", "trigger_actions[1].due_date", "trigger_actions[1].assignee",
                "trigger_actions[2].start_at", "trigger_actions[3].action", "trigger_actions[4]",
            ])
            // Meaning problems, every one at once.
            body["trigger_actions"] = [
                ["event": "bounced", "action": "add_task", "subject": "X", "due_in_days": 1, "assignee": "record_owner"],
                ["event": "opened", "action": "update_field", "field": "lead_source", "value": "Pigeon"],
                ["event": "opened", "action": "update_field", "field": "nope", "value": "x"],
                ["event": "clicked", "action": "schedule_call", "subject": "Y", "owner": 999, "start_at": "2026-12-01T10:00:00Z"],
            ]
            let meaning = try await client.api(.put, "/api/v1/mass-emails/\(massID)", token: f.adminToken, json: .object(body))
            #expect(meaning.status == .unprocessableContent)
            #expect(Set(meaning.problemFields) == ["trigger_actions[0].action", "trigger_actions[1].value", "trigger_actions[2].field",
                                                  "trigger_actions[3].owner"])
            // An owner field's value must be a user.
            body["trigger_actions"] = [["event": "opened", "action": "update_field", "field": "owner", "value": 999]]
            let nobody = try await client.api(.put, "/api/v1/mass-emails/\(massID)", token: f.adminToken, json: .object(body))
            #expect(nobody.status == .unprocessableContent && nobody.problemFields == ["trigger_actions[0].value"] && nobody.text.contains("no user 999"))
        }
    }

    /// A user's action may not give records to someone else (only admins may, as on the record
    /// form); keeping them, or an admin's action, may.
    @Test func onlyAnAdminsActionGivesARecordToAnotherOwner() async throws {
        try await WebFixture.with { f, client in
            let b = try await MassEmailAPITests().basics(f, client, token: f.userToken)
            func save(_ owner: Int64, token: String) async throws -> TestResponse {
                try await client.api(.post, "/api/v1/mass-emails", token: token, json: [
                    "name": "Give away", "module": "contacts", "template_id": .number(Double(b.template)),
                    "sender_id": .number(Double(b.sender)), "recipients": ["record_ids": [.number(Double(b.record))]],
                    "trigger_actions": [["event": "opened", "action": "update_field", "field": "owner", "value": .number(Double(owner))]],
                ])
            }
            let refused = try await save(f.admin.id, token: f.userToken)
            #expect(refused.status == .unprocessableContent && refused.problemFields == ["trigger_actions[0].value"])
            #expect(refused.text.contains("only admins may give a record to another owner"))
            #expect(try await save(f.user.id, token: f.userToken).status == .created)
            let admins = try await save(f.user.id, token: f.adminToken)
            #expect(admins.status == .created)
            let massID = try #require(id(admins))
            // Its page names the user, not the id.
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            let page = try await client.execute(uri: "/mass-emails/\(massID)", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(page.contains("When opened: set Owner to “Plain User”"))
        }
    }
}
