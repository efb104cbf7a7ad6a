import Foundation
import HeraldCore
import HeraldStore
import Testing

@Suite struct MassEmailStoreTests {
    struct Fixture {
        var store: Store
        var contacts: Module
        var admin: User
        var template: MailTemplate
        var sender: Sender
    }

    static func fixture(_ store: Store) async throws -> Fixture {
        let contacts = try await store.modules.named("contacts")
        let admin = try await store.testAdmin()
        let template = try await store.templates.create(in: contacts, name: "Hello", subject: "Hi {{first_name}}",
                                                        html: "<p>Hello {{first_name | \"there\"}}</p>", text: nil, by: admin.id)
        let sender = try await store.senders.create(email: "news@example.com", name: "News", replyTo: nil)
        return Fixture(store: store, contacts: contacts, admin: admin, template: template, sender: sender)
    }

    static func contact(_ f: Fixture, _ email: String?, optOut: Bool = false) async throws -> Int64 {
        var values: [String: FieldValue?] = ["last_name": .text("Person"), "owner": .reference(f.admin.id)]
        if let email { values["email"] = .text(email) }
        if optOut { values["email_opt_out"] = .bool(true) }
        return try await f.store.records.create(in: f.contacts, RecordChanges(values), owner: f.admin.id).id
    }

    /// A mass email to one new contact, sent now.
    static func sendNow(_ f: Fixture, name: String) async throws -> MassEmail {
        let id = try await contact(f, "a@example.org")
        return try await f.store.massEmails.create(
            MassEmailDraft(name: name, recipients: .records([id]), templateID: f.template.id, senderID: f.sender.id, schedule: .now),
            in: f.contacts, owner: f.admin.id)
    }

    @Test(arguments: TestDatabase.kinds)
    func createRefusesWhatCannotBeSentAndSaysWhere(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await Self.fixture(store)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let past = MassEmailDraft(name: "Late", recipients: .records([1]), templateID: f.template.id, senderID: f.sender.id,
                                      schedule: .at(date: LocalDate(year: 2020, month: 1, day: 1)!, hour: 9, minute: 0, timeZone: "Europe/Berlin"))
            let error = await #expect(throws: HeraldError.self) { try await store.massEmails.create(past, in: f.contacts, owner: f.admin.id, now: now) }
            #expect(error?.problems.map(\.field).contains("schedule.at") == true)
            let unknown = MassEmailDraft(name: "X", recipients: .view(999), templateID: 999, senderID: 999, schedule: .draft)
            let refused = await #expect(throws: HeraldError.self) { try await store.massEmails.create(unknown, in: f.contacts, owner: f.admin.id, now: now) }
            #expect(Set(refused?.problems.map(\.field) ?? []) == ["template_id", "sender_id", "recipients.view"])
            let zone = MassEmailDraft(name: "Z", recipients: .records([1]), templateID: f.template.id, senderID: f.sender.id,
                                      schedule: .at(date: LocalDate(year: 2030, month: 1, day: 1)!, hour: 9, minute: 0, timeZone: "Mars/Olympus"))
            let zoneError = await #expect(throws: HeraldError.self) { try await store.massEmails.create(zone, in: f.contacts, owner: f.admin.id, now: now) }
            #expect(zoneError?.problems.first?.field == "schedule.time_zone")
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func exactlyOneStartOfAScheduledMassEmail(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await Self.fixture(store)
            let id = try await Self.contact(f, "a@example.org")
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let draft = MassEmailDraft(name: "Launch", recipients: .records([id]), templateID: f.template.id, senderID: f.sender.id,
                                       schedule: .at(date: LocalDate(now.addingTimeInterval(86_400), in: TimeZone(identifier: "Asia/Tokyo")!),
                                                     hour: 10, minute: 30, timeZone: "Asia/Tokyo"))
            let created = try await store.massEmails.create(draft, in: f.contacts, owner: f.admin.id, now: now)
            #expect(created.status == .scheduled)
            let at = try #require(created.scheduledAt)
            #expect(try await store.massEmails.nextScheduledAt() == at)
            #expect(try await store.massEmails.startDue(now: at - 1).isEmpty)
            // Several processes race to start it: exactly one wins.
            let winners = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for _ in 0..<4 { group.addTask { try await store.massEmails.startDue(now: at) } }
                return try await group.reduce(into: [Int64]()) { $0 += $1 }
            }
            #expect(winners == [created.id])
            #expect(try await store.massEmails.find(created.id).status == .sending)
            // A started mass email can no longer be edited.
            await #expect(throws: HeraldError.self) { try await store.massEmails.update(created.id, draft, in: f.contacts, now: now) }
            let stopped = try await store.massEmails.stop(created.id)
            #expect(stopped.status == .stopped)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func enqueueCountsDuplicatesOnceAcrossAResumedResolution(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await Self.fixture(store)
            let m = try await Self.sendNow(f, name: "Dupes")
            let first = try await store.massEmails.enqueue(m.id, step: 0, recipients: [(1, "a@x.org"), (2, "b@x.org"), (3, "a@x.org")],
                                                           cursor: 3, skipped: [.noEmail: 1], now: 0)
            #expect(first == 2)
            var progress = try await store.massEmails.resolutionProgress(m.id)
            #expect(progress.cursor == 3)
            #expect(progress.skipped == [.noEmail: 1, .duplicate: 1])
            _ = try await store.massEmails.enqueue(m.id, step: 0, recipients: [(4, "b@x.org"), (5, "c@x.org")], cursor: 5,
                                                   skipped: progress.skipped, now: 0)
            progress = try await store.massEmails.resolutionProgress(m.id)
            #expect(progress.skipped == [.noEmail: 1, .duplicate: 2])
            #expect(try await store.massEmails.figures([m.id])[m.id]?.recipients == 3)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func claimsAreDisjointAndOutcomesAreGuardedByTheAttempt(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await Self.fixture(store)
            let m = try await Self.sendNow(f, name: "Claims")
            _ = try await store.massEmails.startDue(now: Clock.epochSeconds() + 1)
            _ = try await store.massEmails.enqueue(m.id, step: 0, recipients: (1...300).map { (Int64($0), "r\($0)@x.org") },
                                                   cursor: 300, skipped: [:], now: 0)
            try await store.massEmails.markResolved(m.id, now: 0)
            let batches = try await withThrowingTaskGroup(of: [ClaimedMessage].self) { group in
                for node in ["a", "b", "c"] {
                    group.addTask { try await store.messages.claim(massEmail: m.id, node: node, limit: 120, now: 10) }
                }
                return try await group.reduce(into: [[ClaimedMessage]]()) { $0.append($1) }
            }
            let ids = batches.flatMap { $0.map(\.id) }
            #expect(ids.count == 300)
            #expect(Set(ids).count == 300)
            let one = try #require(batches.first { !$0.isEmpty }?.first)
            #expect(one.attempt == 1)
            // An outcome for another attempt (a stale journal line) changes nothing.
            try await store.messages.record([MessageOutcome(id: one.id, attempt: 2, status: .sent, attempts: 2, sentAt: 10)])
            #expect(try await store.messages.page(massEmail: m.id, status: .sent).isEmpty)
            try await store.messages.record([MessageOutcome(id: one.id, attempt: 1, status: .sent, attempts: 1, code: 250, sentAt: 10)])
            #expect(try await store.messages.page(massEmail: m.id, status: .sent).map(\.id) == [one.id])
            // A restarted node gives back what it held; an expired lease does the same for a node that never came back.
            let heldByA = batches.flatMap { $0 }.count - 1
            let requeued = try await store.messages.requeueClaims(of: "a") + store.messages.requeueExpired(now: 10 + 121)
            #expect(requeued == heldByA)
            #expect(try await store.massEmails.figures([m.id])[m.id]?[.queued] == 299)
            // Stopped: nothing more can be claimed.
            _ = try await store.massEmails.stop(m.id)
            #expect(try await store.messages.claim(massEmail: m.id, node: "a", limit: 10, now: 20).isEmpty)
        }
    }

    /// Renewing leases never waits for a message whose outcome is being written: the two lock
    /// the same rows in different orders, and on PostgreSQL waiting was a deadlock (found by
    /// the 1M benchmark) that cost a batch's outcome write.
    @Test(arguments: TestDatabase.kinds.filter { $0 == .postgres })
    func renewingLeasesSkipsAMessageBeingWritten(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await Self.fixture(store)
            let m = try await Self.sendNow(f, name: "Leases")
            _ = try await store.massEmails.startDue(now: Clock.epochSeconds() + 1)
            _ = try await store.massEmails.enqueue(m.id, step: 0, recipients: (1...3).map { (Int64($0), "r\($0)@x.org") },
                                                   cursor: 3, skipped: [:], now: 0)
            let claimed = try await store.messages.claim(massEmail: m.id, node: "a", limit: 3, now: 10)
            #expect(claimed.count == 3)
            let busy = claimed[0].id
            @Sendable func leases() async throws -> [Int64: Int64] {
                try await store.database.read { db in
                    try await db.raw("SELECT id, lease_until FROM mail_messages WHERE mass_email_id = \(bind: m.id)").all()
                        .reduce(into: [Int64: Int64]()) { $0[try $1.decode(column: "id", as: Int64.self)] = try $1.decode(column: "lease_until", as: Int64.self) }
                }
            }
            let before = try await leases()
            // An outcome write in progress holds its row until it commits; the renewal, on
            // another connection, must not wait for it (if it did, it goes on after the commit).
            let renewed = try await store.database.transaction { db in
                try await db.raw("SELECT id FROM mail_messages WHERE id = \(bind: busy) FOR UPDATE").run()
                _ = Task { try await store.messages.renewLeases(of: "a", until: 999) }
                for _ in 0..<200 {
                    let now = try await leases()
                    if claimed.dropFirst().allSatisfy({ now[$0.id] == 999 }) { return true }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return false
            }
            #expect(renewed, "renewing the leases waited for the locked message")
            let after = try await leases()
            #expect(after[busy] == before[busy])
            #expect(claimed.dropFirst().allSatisfy { after[$0.id] == 999 })
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func theDailyQuotaIsSharedAndGivenBack(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let granted = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<5 { group.addTask { try await store.quota.reserve(30, day: "2026-11-27", limit: 100) } }
                return try await group.reduce(0, +)
            }
            #expect(granted == 100)
            try await store.quota.release(10, day: "2026-11-27")
            #expect(try await store.quota.reserve(50, day: "2026-11-27", limit: 100) == 10)
            #expect(try await store.quota.reserve(50, day: "2026-11-28", limit: 100) == 50)
        }
    }
}
