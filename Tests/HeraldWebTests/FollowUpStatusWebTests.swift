import Foundation
import HeraldCore
import HeraldStore
import Hummingbird
import HummingbirdTesting
import Testing

/// Follow-ups of a sent mass email on the summary page, its own page and in the API, and
/// stopping them there.
@Suite struct FollowUpStatusWebTests {
    let basics = MassEmailAPITests()

    /// A mass email with two follow-ups (the second counted from the first), sent to one
    /// contact: created through the API, its message marked sent in the store.
    func sentWithFollowUps(_ f: WebFixture, _ client: some TestClientProtocol) async throws -> Int64 {
        let b = try await basics.basics(f, client, token: f.adminToken)
        let followUps: JSONValue = [
            ["template_id": .number(Double(b.template)), "delay": ["amount": 3, "unit": "days"],
             "exclude": ["match": "any", "rules": [["engagement": "opened"], ["engagement": "replied"]]], "threaded": true],
            ["template_id": .number(Double(b.template)), "delay": ["amount": 1, "unit": "days"], "after": "previous_follow_up"],
        ]
        let created = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
            "name": "Spring offer", "module": "contacts", "template_id": .number(Double(b.template)),
            "sender_id": .number(Double(b.sender)), "recipients": ["record_ids": [.number(Double(b.record))]],
            "schedule": ["send": "now"], "follow_ups": followUps,
        ])
        let id = try #require(basics.id(created))
        let store = f.store
        _ = try await store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
        _ = try await store.massEmails.enqueue(id, step: 0, recipients: [(b.record, "ann@example.com")], cursor: b.record, skipped: [:], now: 1)
        try await store.massEmails.markResolved(id, now: 1)
        try await store.database.transaction { db in
            try await db.raw("UPDATE mail_messages SET status = 'sent', sent_at = 2 WHERE mass_email_id = \(bind: id)").run()
        }
        #expect(try await store.massEmails.finishIfDone(id))
        return id
    }

    func login(_ f: WebFixture, _ client: some TestClientProtocol) async throws -> String {
        let session = SessionTests()
        let login = try await session.postLogin(client, [("email", f.admin.email), ("password", f.adminPassword)])
        return try #require(session.cookie(login))
    }

    func status(_ response: TestResponse) -> [String] {
        response.json?.objectValue?["follow_up_status"]?.arrayValue?.compactMap { $0.objectValue?["status"]?.stringValue } ?? []
    }

    @Test func followUpsShowUnderTheirMassEmailAndStopOneByOne() async throws {
        try await WebFixture.with { f, client in
            let id = try await sentWithFollowUps(f, client)
            let read = try await client.api(.get, "/api/v1/mass-emails/\(id)", token: f.adminToken)
            #expect(status(read) == ["waiting", "waiting"])
            let first = read.json?.objectValue?["follow_up_status"]?.arrayValue?.first?.objectValue
            #expect(first?["excluded"]?.objectValue?["criteria"] == 0)
            #expect(first?["figures"]?.objectValue?["sent"] == 0)

            let cookie = try await login(f, client)
            let summary = try await client.execute(uri: "/mass-emails?tab=sent", method: .get, headers: [.cookie: cookie])
            #expect(summary.text.contains("class=\"follow-up-row\" data-id=\"\(id)\" data-step=\"1\""))
            #expect(summary.text.contains("data-step=\"2\""))
            #expect(summary.text.contains("3 days after sending, template"))
            #expect(summary.text.contains("not to those who opened or replied, as a reply"))
            #expect(summary.text.contains("Stop follow-ups"))
            let page = try await client.execute(uri: "/mass-emails/\(id)", method: .get, headers: [.cookie: cookie])
            #expect(page.text.contains("id=\"follow-up-1\""))
            #expect(page.text.contains("1 day after the previous follow-up"))
            #expect(page.text.contains("/mass-emails/\(id)/follow-ups/2/stop"))
            func row(_ html: String, _ step: Int) -> String {
                html.firstMatch(of: try! Regex(#"<tr id="follow-up-\#(step)".*?</tr>"#).dotMatchesNewlines()).map { String(html[$0.range]) } ?? ""
            }
            // Not fired, it has no figures yet ("0 of 0" read as if it had gone to nobody).
            #expect(row(page.text, 1).contains(#"<span class="muted">due</span>"#) && row(page.text, 1).contains("Not fired yet"))
            #expect(!row(page.text, 1).contains("of 0"))

            // Stopping the first stops the second, which counts from it.
            let stopped = try await client.api(.post, "/api/v1/mass-emails/\(id)/follow-ups/1/stop", token: f.adminToken)
            #expect(stopped.status == .ok)
            #expect(status(stopped) == ["stopped", "stopped"])
            #expect(stopped.json?.objectValue?["status"] == "sent")
            let again = try await client.api(.post, "/api/v1/mass-emails/\(id)/follow-ups/1/stop", token: f.adminToken)
            #expect(again.status == .conflict)
            #expect(again.text.contains("follow-up 1 of mass email \(id) is stopped"))
            #expect(try await client.api(.post, "/api/v1/mass-emails/\(id)/follow-ups/3/stop", token: f.adminToken).status == .notFound)
            #expect(try await client.api(.post, "/api/v1/mass-emails/\(id)/follow-ups/x/stop", token: f.adminToken).status == .notFound)
            // Nothing is left to stop.
            #expect(try await client.api(.post, "/api/v1/mass-emails/\(id)/stop", token: f.adminToken).status == .conflict)
            let after = try await client.execute(uri: "/mass-emails/\(id)", method: .get, headers: [.cookie: cookie])
            #expect(!after.text.contains("/follow-ups/1/stop"))
            // Stopped, it reads so, not "finished" as if it had run.
            #expect(row(after.text, 1).contains(#"<span class="muted">stopped</span>"#) && row(after.text, 1).contains("Not sent"))
            #expect(!row(after.text, 1).contains("finished"))
            #expect(!after.text.contains("Stop follow-ups"))
        }
    }

    @Test func aPausedFollowUpResumesAndItsTemplateCannotBeDeleted() async throws {
        try await WebFixture.with { f, client in
            let id = try await sentWithFollowUps(f, client)
            try await f.store.followUpRuns.planDue(zone: TimeZone(identifier: "UTC")!)
            #expect(try await f.store.followUpRuns.fireDue(now: WallClock.epochSeconds() + 4 * 86_400).count == 1)
            try await f.store.followUpRuns.pause(id, step: 1, reason: "the SMTP server refused the session: 535 no", now: WallClock.epochSeconds())
            let read = try await client.api(.get, "/api/v1/mass-emails/\(id)", token: f.adminToken)
            #expect(status(read) == ["paused", "waiting"])
            #expect(read.json?.objectValue?["follow_up_status"]?.arrayValue?.first?.objectValue?["status_reason"] == "the SMTP server refused the session: 535 no")
            let cookie = try await login(f, client)
            let page = try await client.execute(uri: "/mass-emails/\(id)", method: .get, headers: [.cookie: cookie])
            #expect(page.text.contains("/mass-emails/\(id)/follow-ups/1/resume"))
            #expect(page.text.contains("535 no"))
            let resumed = try await client.api(.post, "/api/v1/mass-emails/\(id)/follow-ups/1/resume", token: f.adminToken)
            #expect(status(resumed) == ["sending", "waiting"])
            let again = try await client.api(.post, "/api/v1/mass-emails/\(id)/follow-ups/1/resume", token: f.adminToken)
            #expect(again.status == .conflict)
            #expect(again.text.contains("is sending and cannot be resumed"))

            // A template that only a follow-up uses cannot be deleted either.
            let b = try await basics.basics(f, client, token: f.adminToken)
            let other = try #require(basics.id(try await client.api(.post, "/api/v1/modules/contacts/templates", token: f.adminToken,
                                                                    json: ["name": "Only a follow-up", "subject": "S", "html": "<p>x</p>"])))
            let draft = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "Draft", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                "recipients": ["record_ids": [.number(Double(b.record))]], "schedule": ["send": "draft"],
                "follow_ups": [["template_id": .number(Double(other)), "delay": ["amount": 1, "unit": "days"]]],
            ])
            #expect(draft.status == .created)
            let refused = try await client.api(.delete, "/api/v1/templates/\(other)", token: f.adminToken)
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("a follow-up of the draft mass email 'Draft' uses this template"))
        }
    }

    @Test func stopOnASentMassEmailStopsTheFollowUpsNotSentYet() async throws {
        try await WebFixture.with { f, client in
            let id = try await sentWithFollowUps(f, client)
            let cookie = try await login(f, client)
            let page = try await client.execute(uri: "/mass-emails/\(id)", method: .get, headers: [.cookie: cookie])
            let csrf = try #require(page.text.firstMatch(of: /name="_csrf" value="([^"]+)"/)?.1)
            func post(_ uri: String, _ fields: [(String, String)] = []) async throws -> TestResponse {
                try await client.execute(uri: uri, method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                         body: SessionTests().form([("_csrf", String(csrf))] + fields))
            }
            // Stopped on the summary, a follow-up leads back to the tab that lists its mass email.
            let summary = try await client.execute(uri: "/mass-emails?tab=sent", method: .get, headers: [.cookie: cookie])
            #expect(summary.text.contains(#"<input type="hidden" name="from" value="summary">"#))
            let fromSummary = try await post("/mass-emails/\(id)/follow-ups/2/stop", [("from", "summary")])
            #expect(fromSummary.headers[.location] == "/mass-emails?tab=sent")
            // Stopped on its own page, the mass email stays there, as after Pause.
            let stop = try await post("/mass-emails/\(id)/stop")
            #expect(stop.status == .found)
            #expect(stop.headers[.location] == "/mass-emails/\(id)")
            #expect(status(try await client.api(.get, "/api/v1/mass-emails/\(id)", token: f.adminToken)) == ["stopped", "stopped"])
        }
    }

    @Test func followUpsOfAStoppedMassEmailAreStoppedAndOfADraftPending() async throws {
        try await WebFixture.with { f, client in
            let b = try await basics.basics(f, client, token: f.adminToken)
            let body: JSONValue = [
                "name": "Draft", "module": "contacts", "template_id": .number(Double(b.template)),
                "sender_id": .number(Double(b.sender)), "recipients": ["record_ids": [.number(Double(b.record))]],
                "schedule": ["send": "draft"],
                "follow_ups": [["template_id": .number(Double(b.template)), "delay": ["amount": 3, "unit": "days"]]],
            ]
            let draft = try #require(basics.id(try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: body)))
            #expect(status(try await client.api(.get, "/api/v1/mass-emails/\(draft)", token: f.adminToken)) == ["pending"])
            let refused = try await client.api(.post, "/api/v1/mass-emails/\(draft)/follow-ups/1/stop", token: f.adminToken)
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("is draft; edit it to change its follow-ups"))
            var later = body.objectValue!
            later["schedule"] = ["send": "later", "date": "2099-01-01", "time": "09:00", "time_zone": "UTC"]
            let scheduled = try #require(basics.id(try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: .object(later))))
            let stopped = try await client.api(.post, "/api/v1/mass-emails/\(scheduled)/stop", token: f.adminToken)
            #expect(stopped.json?.objectValue?["status"] == "stopped")
            #expect(status(stopped) == ["stopped"])
            #expect(try await client.api(.post, "/api/v1/mass-emails/\(scheduled)/follow-ups/1/stop", token: f.adminToken).status == .conflict)
        }
    }
}
