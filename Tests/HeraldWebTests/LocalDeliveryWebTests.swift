import Foundation
import HeraldCore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Testing

/// Sending "at 09:00 in each recipient's time zone" through the API and the form, and the
/// time-zone field it reads.
@Suite struct LocalDeliveryWebTests {
    let basics = MassEmailAPITests()
    let form = FollowUpFormTests()

    func schedule(_ b: (record: Int64, template: Int64, sender: Int64), _ schedule: JSONValue) -> JSONValue {
        ["name": "Morning", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
         "recipients": ["record_ids": [.number(Double(b.record))]], "schedule": schedule]
    }

    @Test func aTimeZoneFieldTakesZoneNamesOnly() async throws {
        try await WebFixture.with { f, client in
            let added = try await client.api(.post, "/api/v1/modules/contacts/fields", token: f.adminToken,
                                             json: ["label": "Time Zone", "type": "time_zone"])
            #expect(added.status == .created)
            let bad = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken,
                                           json: ["last_name": "Lee", "email": "lee@example.com", "time_zone": "Mars/Olympus"])
            #expect(bad.status == .unprocessableContent)
            #expect(bad.problemFields == ["time_zone"])
            #expect(bad.text.contains("is not a time zone"))
            let good = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken,
                                            json: ["last_name": "Lee", "email": "lee@example.com", "time_zone": "asia/kolkata"])
            #expect(good.status == .created)
            #expect(good.json?.objectValue?["time_zone"] == "Asia/Kolkata")
            // The record form offers the zones as a list.
            let s = try await form.login(f, client)
            let page = try await client.execute(uri: "/m/contacts/new", method: .get, headers: [.cookie: s.cookie])
            #expect(page.text.contains("<option value=\"Asia/Kolkata\""))
        }
    }

    @Test func theAPISchedulesItAndSaysWhatIsWrong() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let created = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: schedule(b, [
                "send": "local_time", "date": "2030-06-03", "time": "09:00", "if_passed": "next_day",
            ]))
            #expect(created.status == .created)
            let body = try #require(created.json?.objectValue)
            #expect(body["status"] == "scheduled")
            #expect(body["local_delivery"] == ["date": "2030-06-03", "time": "09:00", "if_passed": "next_day"])
            #expect(body["scheduled_at"] == "2030-06-02T19:00:00Z")  // 09:00 in UTC+14 comes first
            // Before it starts, what its selected records' zones give: this one has neither a
            // zone nor a country, so the organisation's (UTC).
            #expect(body["delivery_times"] == [["at": "2030-06-03T09:00:00Z", "messages": 1, "waiting": 1]])

            let badChoice = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: schedule(b, [
                "send": "local_time", "date": "2030-06-03", "time": "09:00", "if_passed": "later",
            ]))
            #expect(badChoice.problemFields == ["schedule.if_passed"])
            let past = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: schedule(b, [
                "send": "local_time", "date": "2020-06-03", "time": "09:00",
            ]))
            #expect(past.problemFields == ["schedule.date"])
            #expect(past.text.contains("has passed in every time zone"))
            let missing = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: schedule(b, ["send": "local_time"]))
            #expect(Set(missing.problemFields) == ["schedule.date", "schedule.time"])
        }
    }

    @Test func theFormSchedulesItShowsItAndEditsIt() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let s = try await form.login(f, client)
            let blank = try await client.execute(uri: "/mass-emails/new?module=contacts", method: .get, headers: [.cookie: s.cookie])
            #expect(blank.text.contains("value=\"local_time\""))
            #expect(blank.text.contains("Each recipient's zone comes from the country in the Mailing Country field, else the organisation&#39;s time zone"))
            let pairs = form.massEmail(b).filter { $0.0 != "send" }
                + [("send", "local_time"), ("local_date", "2030-06-03"), ("local_time", "08:30"), ("if_passed", "send_at_once")]
            let saved = try await form.post(client, "/mass-emails", s, pairs)
            #expect(saved.status == .found)
            let id = try #require(saved.headers[.location].flatMap { Int64($0.split(separator: "/").last!) })
            let detail = try await client.execute(uri: "/mass-emails/\(id)", method: .get, headers: [.cookie: s.cookie])
            #expect(detail.text.contains("08:30 on 2030-06-03 in each recipient&#39;s time zone")
                    || detail.text.contains("08:30 on 2030-06-03 in each recipient's time zone"))
            let edit = try await client.execute(uri: "/mass-emails/\(id)/edit", method: .get, headers: [.cookie: s.cookie])
            #expect(edit.text.contains("value=\"local_time\" checked"))
            #expect(edit.text.contains("name=\"local_date\" value=\"2030-06-03\""))
            #expect(edit.text.contains("name=\"local_time\" value=\"08:30\""))
            // A wrong time comes back on the form with the reason.
            let wrong = try await form.post(client, "/mass-emails", s, form.massEmail(b).filter { $0.0 != "send" }
                + [("send", "local_time"), ("local_date", "2020-01-01"), ("local_time", "09:00"), ("if_passed", "next_day")])
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.text.contains("has passed in every time zone"))
            #expect(wrong.text.contains("<option value=\"next_day\" selected>"))
        }
    }
}
