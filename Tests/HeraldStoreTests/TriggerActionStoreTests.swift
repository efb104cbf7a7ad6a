import Foundation
import HeraldCore
import HeraldStore
import Testing

@Suite struct TriggerActionStoreTests {
    @Test(arguments: TestDatabase.kinds)
    func triggerActionsAreKeptWithTheMassEmail(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await MassEmailStoreTests.fixture(store)
            let contact = try await MassEmailStoreTests.contact(f, "a@example.org")
            let actions = [
                TriggerAction(event: .opened, effect: .updateField(field: "lead_source", value: "seminar")),
                TriggerAction(event: .clicked, effect: .addTask(subject: "Call back", due: .daysAfterEvent(2), status: .notStarted,
                                                                priority: .high, assignee: .recordOwner)),
                TriggerAction(event: .opened, effect: .scheduleCall(subject: "Intro", owner: .user(f.admin.id), start: .minutesAfterEvent(90))),
                TriggerAction(event: .bounced, effect: .updateField(field: "email_opt_out", value: true)),
            ]
            let draft = MassEmailDraft(name: "With actions", recipients: .records([contact]), templateID: f.template.id,
                                       senderID: f.sender.id, schedule: .draft, triggerActions: actions, triggersOnMachineEvents: true)
            let created = try await store.massEmails.create(draft, in: f.contacts, owner: f.admin.id)
            let found = try await store.massEmails.find(created.id)
            #expect(found.triggerActions == actions)
            #expect(found.triggersOnMachineEvents)

            var edited = draft
            edited.triggerActions = [actions[1]]
            edited.triggersOnMachineEvents = false
            let updated = try await store.massEmails.update(created.id, edited, in: f.contacts)
            #expect(updated.triggerActions == [actions[1]])
            #expect(!updated.triggersOnMachineEvents)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func everyProblemWithTheActionsIsReportedAtOnce(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await MassEmailStoreTests.fixture(store)
            let contact = try await MassEmailStoreTests.contact(f, "a@example.org")
            let actions = [
                TriggerAction(event: .bounced, effect: .addTask(subject: "Call", due: .daysAfterEvent(1), status: .notStarted,
                                                                priority: .normal, assignee: .recordOwner)),
                TriggerAction(event: .opened, effect: .updateField(field: "shoe_size", value: "44")),
                TriggerAction(event: .opened, effect: .updateField(field: "created_at", value: "2026-01-01T00:00:00Z")),
                TriggerAction(event: .opened, effect: .updateField(field: "lead_source", value: "Carrier pigeon")),
                TriggerAction(event: .clicked, effect: .updateField(field: "email", value: "not an address")),
                TriggerAction(event: .clicked, effect: .updateField(field: "last_name", value: .null)),
                TriggerAction(event: .clicked, effect: .addTask(subject: "", due: .daysAfterEvent(5000), status: .notStarted,
                                                                priority: .normal, assignee: .user(999))),
                TriggerAction(event: .opened, effect: .scheduleCall(subject: "Intro", owner: .user(998), start: .minutesAfterEvent(-5))),
                TriggerAction(event: .bounced, effect: .scheduleCall(subject: "Intro", owner: .recordOwner, start: .at(1_900_000_000))),
            ]
            let draft = MassEmailDraft(name: "Bad actions", recipients: .records([contact]), templateID: f.template.id,
                                       senderID: f.sender.id, schedule: .draft, triggerActions: actions)
            let error = await #expect(throws: HeraldError.self) { try await store.massEmails.create(draft, in: f.contacts, owner: f.admin.id) }
            let problems = Dictionary(grouping: error?.problems ?? [], by: \.field).mapValues { $0.map(\.reason) }
            #expect(Set(problems.keys) == [
                "trigger_actions[0].action", "trigger_actions[1].field", "trigger_actions[2].field", "trigger_actions[3].value",
                "trigger_actions[4].value", "trigger_actions[5].value", "trigger_actions[6].subject", "trigger_actions[6].due_in_days",
                "trigger_actions[6].assignee", "trigger_actions[7].owner", "trigger_actions[7].start_after_minutes",
                "trigger_actions[8].action",
            ])
            #expect(problems["trigger_actions[0].action"] == ["'bounced' can only update a field"])
            #expect(problems["trigger_actions[1].field"] == ["no field 'shoe_size' in module Contacts"])
            #expect(problems["trigger_actions[3].value"]?.first?.contains("is not one of") == true)
            #expect(problems["trigger_actions[6].assignee"] == ["no user 999"])
            #expect(try await store.massEmails.all().isEmpty)
        }
    }
}
