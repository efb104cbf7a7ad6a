import Foundation
import HeraldCore
import HeraldStore
import Testing

@Suite struct FollowUpStoreTests {
    @Test(arguments: TestDatabase.kinds)
    func followUpsAreKeptWithTheMassEmail(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await MassEmailStoreTests.fixture(store)
            let contact = try await MassEmailStoreTests.contact(f, "a@example.org")
            let reminder = try await store.templates.create(in: f.contacts, name: "Reminder", subject: "Did you see?",
                                                            html: "<p>Hi</p>", text: nil, by: f.admin.id)
            let followUps = [
                FollowUp(templateID: reminder.id, delay: .days(3),
                         window: SendingWindow(weekdays: [1, 2, 3, 4, 5], from: 540, to: 1020),
                         exclusions: FollowUpExclusions(match: .any, rules: [
                             .engagement(.opened), .engagement(.replied),
                             .field(.condition(field: "mailing_country", op: .equals, value: "DE")),
                         ]), threaded: true),
                FollowUp(templateID: f.template.id, delay: .hours(12), after: .previousFollowUp),
            ]
            let draft = MassEmailDraft(name: "With follow-ups", recipients: .records([contact]), templateID: f.template.id,
                                       senderID: f.sender.id, schedule: .draft, followUps: followUps)
            let created = try await store.massEmails.create(draft, in: f.contacts, owner: f.admin.id)
            #expect(try await store.massEmails.find(created.id).followUps == followUps)
            #expect(try await store.massEmails.all().first?.followUps == followUps)

            var edited = draft
            edited.followUps = [followUps[1]]
            edited.followUps[0].after = .massEmail
            #expect(try await store.massEmails.update(created.id, edited, in: f.contacts).followUps == edited.followUps)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func followUpsAreCheckedAgainstTheModuleAndItsTemplates(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await MassEmailStoreTests.fixture(store)
            let contact = try await MassEmailStoreTests.contact(f, "a@example.org")
            let leads = try await store.modules.named("leads")
            let leadTemplate = try await store.templates.create(in: leads, name: "Lead", subject: "Hi", html: "<p>Hi</p>", text: nil, by: f.admin.id)
            let draft = MassEmailDraft(name: "Bad follow-ups", recipients: .records([contact]), templateID: f.template.id,
                                       senderID: f.sender.id, schedule: .draft, followUps: [
                                           FollowUp(templateID: leadTemplate.id, delay: .days(2)),
                                           FollowUp(templateID: f.template.id, delay: .hours(0), exclusions: FollowUpExclusions(
                                               match: .all, rules: [.field(.condition(field: "company", op: .equals, value: "X"))])),
                                       ])
            let error = await #expect(throws: HeraldError.self) { try await store.massEmails.create(draft, in: f.contacts, owner: f.admin.id) }
            #expect(error?.problems.map(\.field) == ["follow_ups[0].template_id", "follow_ups[1].delay", "follow_ups[1].exclude.rules[0].field"])
            #expect(error?.problems.first?.reason == "no template \(leadTemplate.id) in module Contacts")
            #expect(try await store.massEmails.all().isEmpty)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func ofSeveralProcessesExactlyOneFiresAFollowUpAndOneChoosesItsRecipients(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await MassEmailStoreTests.fixture(store)
            let contact = try await MassEmailStoreTests.contact(f, "a@example.org")
            let draft = MassEmailDraft(name: "Sent", recipients: .records([contact]), templateID: f.template.id, senderID: f.sender.id,
                                       schedule: .now, followUps: [FollowUp(templateID: f.template.id, delay: .hours(2))])
            let m = try await store.massEmails.create(draft, in: f.contacts, owner: f.admin.id, now: Date(timeIntervalSince1970: 1_800_000_000))
            #expect(try await store.massEmails.startDue(now: 1_800_000_000) == [m.id])
            _ = try await store.massEmails.enqueue(m.id, step: 0, recipients: [(contact, "a@example.org")], cursor: contact, skipped: [:], now: 1_800_000_000)
            try await store.massEmails.markResolved(m.id, now: 1_800_000_000)
            try await store.database.transaction { db in
                try await db.raw("UPDATE mail_messages SET status = 'sent', sent_at = 1800000001 WHERE mass_email_id = \(bind: m.id)").run()
            }
            #expect(try await store.massEmails.finishIfDone(m.id, now: 1_800_000_010))
            #expect(try await store.followUpRuns.run(m.id, step: 1)?.status == .waiting)
            try await store.followUpRuns.planDue(zone: TimeZone(identifier: "UTC")!)
            let due = try #require(try await store.followUpRuns.run(m.id, step: 1)?.dueAt)
            #expect(due == 1_800_000_010 + 7200)
            #expect(try await store.followUpRuns.fireDue(now: due - 1).isEmpty)

            let fired = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await store.followUpRuns.fireDue(now: due).count } }
                return try await group.reduce(0, +)
            }
            #expect(fired == 1)
            let claims = try await withThrowingTaskGroup(of: Bool.self) { group in
                for node in ["a", "b", "c", "d"] {
                    group.addTask { try await store.followUpRuns.claimResolution(m.id, step: 1, node: node, now: due) }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(claims.filter { $0 }.count == 1)
            #expect(try await store.followUpRuns.run(m.id, step: 1)?.status == .sending)
        }
    }

    @Test func aFailedFollowUpStopsThoseCountedFromIt() async throws {
        try await TestDatabase.withStore(.sqlite) { store in
            let f = try await MassEmailStoreTests.fixture(store)
            let contact = try await MassEmailStoreTests.contact(f, "a@example.org")
            let followUps = [FollowUp(templateID: f.template.id, delay: .hours(2)),
                             FollowUp(templateID: f.template.id, delay: .hours(1), after: .previousFollowUp),
                             FollowUp(templateID: f.template.id, delay: .hours(9))]
            let draft = MassEmailDraft(name: "Sent", recipients: .records([contact]), templateID: f.template.id, senderID: f.sender.id,
                                       schedule: .now, followUps: followUps)
            let m = try await store.massEmails.create(draft, in: f.contacts, owner: f.admin.id, now: Date(timeIntervalSince1970: 1_800_000_000))
            _ = try await store.massEmails.startDue(now: 1_800_000_000)
            try await store.massEmails.markResolved(m.id, now: 1_800_000_000)
            #expect(try await store.massEmails.finishIfDone(m.id, now: 1_800_000_010))
            try await store.followUpRuns.fail(m.id, step: 1, reason: "the template no longer compiles", now: 1_800_000_020)
            let runs = try await store.followUpRuns.runs(of: [m.id])[m.id] ?? []
            #expect(runs.map(\.status) == [.failed, .stopped, .waiting])
            #expect(runs[1].statusReason == "follow-up 1, which it is counted from, failed")
        }
    }
}
