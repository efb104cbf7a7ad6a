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
}
