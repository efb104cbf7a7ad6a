import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Logging
import Testing

@Suite struct TriggerActionRunnerTests {
    struct Fixture {
        var store: Store
        var contacts: Module
        var admin: User
        /// Owns the contacts.
        var owner: User
        var runner: TriggerActionRunner
        var templateID: Int64
        var senderID: Int64
    }

    static func with(_ kind: DatabaseKind, _ body: (Fixture) async throws -> Void) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let owner = try await store.users.create(email: "olga@example.com", name: "Olga", role: .user, passwordHash: "x", timeZone: "UTC")
            let template = try await store.templates.create(in: contacts, name: "Hello", subject: "Hi", html: "<p>Hi</p>", text: nil, by: admin.id)
            let sender = try await store.senders.create(email: "news@example.com", name: "News", replyTo: nil)
            try await body(Fixture(store: store, contacts: contacts, admin: admin, owner: owner,
                                   runner: TriggerActionRunner(store: store, logger: TestDatabase.logger),
                                   templateID: template.id, senderID: sender.id))
        }
    }

    func contact(_ f: Fixture, _ email: String) async throws -> Int64 {
        try await f.store.records.create(in: f.contacts, RecordChanges(["last_name": .text("Lee"), "email": .text(email)]), owner: f.owner.id).id
    }

    func massEmail(_ f: Fixture, _ actions: [TriggerAction], to records: [Int64], machines: Bool = false) async throws -> MassEmail {
        try await f.store.massEmails.create(
            MassEmailDraft(name: "M \(UUID().uuidString.prefix(6))", recipients: .records(records), templateID: f.templateID,
                           senderID: f.senderID, schedule: .draft, triggerActions: actions, triggersOnMachineEvents: machines),
            in: f.contacts, owner: f.admin.id)
    }

    func event(_ kind: EngagementEvent.Kind, _ m: MassEmail, record: Int64, step: Int = 0, at: Int64, machine: Bool = false) -> EngagementEvent {
        EngagementEvent(kind: kind, messageID: Int64(step + 1), massEmailID: m.id, step: step, recordID: record,
                        address: "x@example.com", at: at, isMachine: machine)
    }

    static func actions(_ f: Fixture) -> [TriggerAction] { [
        TriggerAction(event: .opened, effect: .updateField(field: "lead_source", value: "Seminar")),
        TriggerAction(event: .opened, effect: .addTask(subject: "Call back", due: .daysAfterEvent(2), status: .notStarted,
                                                       priority: .high, assignee: .recordOwner)),
        TriggerAction(event: .opened, effect: .scheduleCall(subject: "Intro call", owner: .recordOwner, start: .minutesAfterEvent(90))),
        TriggerAction(event: .clicked, effect: .addTask(subject: "Send offer", due: .on(LocalDate(year: 2027, month: 3, day: 1)!),
                                                        status: .inProgress, priority: .low, assignee: .user(f.admin.id))),
    ] }

    @Test(arguments: TestDatabase.kinds)
    func eachActionRunsOncePerRecipientWhateverRepeats(kind: DatabaseKind) async throws {
        try await Self.with(kind) { f in
            // 03:00 UTC is still the evening before in Los Angeles: "2 days after" counts from there.
            try await f.store.settings.set(SettingsStore.organisationTimeZone, to: "America/Los_Angeles")
            let at = Int64(ISODateTime.parse("2027-01-15T03:00:00Z")!.timeIntervalSince1970)
            let ann = try await contact(f, "ann@example.com")
            let m = try await massEmail(f, Self.actions(f), to: [ann])

            try await f.runner.react(to: [event(.opened, m, record: ann, at: at), event(.opened, m, record: ann, at: at + 5)])
            // A follow-up's open, and an open seen again later, fire nothing new.
            try await f.runner.react(to: [event(.opened, m, record: ann, step: 1, at: at + 86_400)])
            try await f.runner.react(to: [event(.opened, m, record: ann, at: at + 100)])

            let record = try #require(try await f.store.records.find(in: f.contacts, id: ann, scope: .all))
            #expect(record["lead_source"] == .text("Seminar"))
            let tasks = try await f.store.tasks.list(ActivityFilter(record: ("contacts", ann)))
            #expect(tasks.count == 1)
            let task = try #require(tasks.first)
            #expect(task.subject == "Call back" && task.assigneeID == f.owner.id && task.priority == .high && task.massEmailID == m.id)
            #expect(task.dueDate == LocalDate(year: 2027, month: 1, day: 16))
            let calls = try await f.store.calls.list(ActivityFilter(record: ("contacts", ann)))
            #expect(calls.count == 1)
            #expect(calls.first?.ownerID == f.owner.id)
            #expect(calls.first?.startAt == at + 90 * 60)
            #expect(calls.first?.status == .scheduled)

            // The click action has not run until a click.
            try await f.runner.react(to: [event(.clicked, m, record: ann, at: at + 200), event(.clicked, m, record: ann, step: 2, at: at + 300)])
            let afterClick = try await f.store.tasks.list(ActivityFilter(user: f.admin.id))
            #expect(afterClick.map(\.subject) == ["Send offer"])
            #expect(afterClick.first?.dueDate == LocalDate(year: 2027, month: 3, day: 1) && afterClick.first?.status == .inProgress)
            #expect(try await f.store.triggerRuns.counts(massEmailID: m.id) == [0: 1, 1: 1, 2: 1, 3: 1])
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func twoRunnersHandlingTheSameEventsRunEachActionOnce(kind: DatabaseKind) async throws {
        try await Self.with(kind) { f in
            var records: [Int64] = []
            for i in 0..<5 { records.append(try await contact(f, "p\(i)@example.com")) }
            let m = try await massEmail(f, Self.actions(f), to: records)
            let events = records.flatMap { r in (0..<4).map { event(.opened, m, record: r, step: $0 % 2, at: 1_800_000_000 + Int64($0)) } }
            let other = TriggerActionRunner(store: f.store, logger: TestDatabase.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for runner in [f.runner, other, f.runner, other] {
                    group.addTask { try await runner.react(to: events.shuffled()) }
                }
                try await group.waitForAll()
            }
            #expect(try await f.store.tasks.list(ActivityFilter()).count == records.count)
            #expect(try await f.store.calls.list(ActivityFilter()).count == records.count)
            for r in records {
                #expect(try await f.store.tasks.list(ActivityFilter(record: ("contacts", r))).count == 1)
            }
        }
    }

    /// Only an admin's action gives a record to another owner: one a user's mass email holds
    /// (saved before the rule, or by an admin since demoted) is skipped when it runs.
    @Test(arguments: TestDatabase.kinds)
    func anOwnerChangeRunsOnlyForAnAdminsMassEmail(kind: DatabaseKind) async throws {
        try await Self.with(kind) { f in
            let ann = try await contact(f, "ann@example.com")
            let give = [TriggerAction(event: .opened, effect: .updateField(field: "owner", value: .number(Double(f.admin.id))))]
            let users = try await f.store.massEmails.create(
                MassEmailDraft(name: "Olga's", recipients: .records([ann]), templateID: f.templateID, senderID: f.senderID,
                               schedule: .draft, triggerActions: give),
                in: f.contacts, owner: f.owner.id)
            try await f.runner.react(to: [event(.opened, users, record: ann, at: 1_800_000_000)])
            #expect(try await f.store.records.find(in: f.contacts, id: ann, scope: .all)?.ownerID == f.owner.id)
            let admins = try await massEmail(f, give, to: [ann])
            try await f.runner.react(to: [event(.opened, admins, record: ann, at: 1_800_000_000)])
            #expect(try await f.store.records.find(in: f.contacts, id: ann, scope: .all)?.ownerID == f.admin.id)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func machineEventsFireOnlyWhenTheMassEmailIncludesThem(kind: DatabaseKind) async throws {
        try await Self.with(kind) { f in
            let ann = try await contact(f, "ann@example.com")
            let people = try await massEmail(f, Self.actions(f), to: [ann])
            let machines = try await massEmail(f, Self.actions(f), to: [ann], machines: true)
            try await f.runner.react(to: [event(.opened, people, record: ann, at: 1_800_000_000, machine: true),
                                          event(.opened, machines, record: ann, at: 1_800_000_000, machine: true)])
            let tasks = try await f.store.tasks.list(ActivityFilter(record: ("contacts", ann)))
            #expect(tasks.map(\.massEmailID) == [machines.id])
            // A person's open afterwards still fires the first mass email's actions.
            try await f.runner.react(to: [event(.opened, people, record: ann, at: 1_800_000_100)])
            #expect(try await f.store.tasks.list(ActivityFilter(record: ("contacts", ann))).count == 2)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aBounceUpdatesAFieldAndADeletedRecordDoesNotStopTheRest(kind: DatabaseKind) async throws {
        try await Self.with(kind) { f in
            let gone = try await contact(f, "gone@example.com")
            let ann = try await contact(f, "ann@example.com")
            let m = try await massEmail(f, [
                TriggerAction(event: .bounced, effect: .updateField(field: "email_opt_out", value: true)),
                TriggerAction(event: .bounced, effect: .updateField(field: "title", value: "Bounced")),
            ], to: [gone, ann])
            try await f.store.records.delete(in: f.contacts, id: gone, scope: .all)
            try await f.runner.react(to: [event(.bounced, m, record: gone, at: 1_800_000_000), event(.bounced, m, record: ann, at: 1_800_000_000),
                                          event(.opened, m, record: ann, at: 1_800_000_000), event(.unsubscribed, m, record: ann, at: 1_800_000_000)])
            let record = try #require(try await f.store.records.find(in: f.contacts, id: ann, scope: .all))
            #expect(record["email_opt_out"] == .bool(true))
            #expect(record["title"] == .text("Bounced"))
            #expect(try await f.store.triggerRuns.counts(massEmailID: m.id) == [0: 1, 1: 1])
        }
    }
}
