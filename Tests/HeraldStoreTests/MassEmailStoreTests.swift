import Foundation
import HeraldCore
@testable import HeraldStore
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

    /// A mass email that is sending, its `count` messages (to r1@x.org, …) queued and due since 0.
    static func sendingWithMessages(_ store: Store, name: String, count: Int) async throws -> MassEmail {
        let m = try await sendNow(try await fixture(store), name: name)
        _ = try await store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
        _ = try await store.massEmails.enqueue(m.id, step: 0, recipients: (1...count).map { (Int64($0), "r\($0)@x.org") },
                                               cursor: Int64(count), skipped: [:], now: 0)
        try await store.massEmails.markResolved(m.id, now: 0)
        return m
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
            let m = try await Self.sendingWithMessages(store, name: "Claims", count: 300)
            for node in ["a", "b", "c"] { try await store.nodes.register(node, now: 10) }
            // Each batch goes with the node that claimed it: the group yields them in the
            // order they finish, not the order they were started.
            let batches = try await withThrowingTaskGroup(of: (node: String, claimed: [ClaimedMessage]).self) { group in
                for node in ["a", "b", "c"] {
                    group.addTask { (node, try await store.messages.claim(massEmail: m.id, node: node, limit: 120, now: 10)) }
                }
                return try await group.reduce(into: [(node: String, claimed: [ClaimedMessage])]()) { $0.append($1) }
            }
            let ids = batches.flatMap { $0.claimed.map(\.id) }
            #expect(ids.count == 300)
            #expect(Set(ids).count == 300)
            let first = try #require(batches.first { !$0.claimed.isEmpty })
            let one = try #require(first.claimed.first)
            #expect(one.attempt == 1)
            let holder = first.node
            // An outcome for another attempt (a stale journal line), or from another node,
            // changes nothing.
            try await store.messages.record([MessageOutcome(id: one.id, claim: 2, status: .sent, attempts: 2, sentAt: 10)], node: holder)
            try await store.messages.record([MessageOutcome(id: one.id, claim: 1, status: .sent, attempts: 1, sentAt: 10)], node: "someone-else")
            #expect(try await store.messages.page(massEmail: m.id, status: .sent).isEmpty)
            try await store.messages.record([MessageOutcome(id: one.id, claim: 1, status: .sent, attempts: 1, code: 250, sentAt: 10)], node: holder)
            #expect(try await store.messages.page(massEmail: m.id, status: .sent).map(\.id) == [one.id])
            // A restarted node gives back what it held.
            var requeued = 0
            for node in ["a", "b", "c"] { requeued += try await store.messages.requeueClaims(of: node) }
            #expect(requeued == 299)
            #expect(try await store.massEmails.figures([m.id])[m.id]?[.queued] == 299)
            // Stopped: nothing more can be claimed.
            _ = try await store.massEmails.stop(m.id)
            #expect(try await store.messages.claim(massEmail: m.id, node: "a", limit: 10, now: 20).isEmpty)
        }
    }

    /// A process whose heartbeat lapses is declared dead by another: what it held goes back
    /// to the queue (its attempt not counted), its resolution is freed, its row goes; it
    /// learns so at its next heartbeat, and its late outcomes change nothing.
    @Test(arguments: TestDatabase.kinds)
    func aProcessWhoseHeartbeatLapsesIsTakenOver(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await Self.fixture(store)
            let m = try await Self.sendNow(f, name: "Heartbeats")
            _ = try await store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
            _ = try await store.massEmails.enqueue(m.id, step: 0, recipients: (1...10).map { (Int64($0), "r\($0)@x.org") },
                                                   cursor: 10, skipped: [:], now: 0)
            try await store.nodes.register("a", now: 100)
            try await store.nodes.register("b", now: 100)
            let heldByA = try await store.messages.claim(massEmail: m.id, node: "a", limit: 4, now: 100)
            let heldByB = try await store.messages.claim(massEmail: m.id, node: "b", limit: 4, now: 100)
            // "a" wrote one outcome before it died.
            try await store.messages.record([MessageOutcome(id: heldByA[0].id, claim: 1, status: .sent, attempts: 1, code: 250, sentAt: 101)],
                                            node: "a")
            #expect(try await store.nodes.beat("b", now: 103))
            // Not stale yet at 105 (5 s): nothing is taken.
            #expect(try await store.nodes.takeOver(now: 105, by: "b").messages == 0)
            #expect(try await store.nodes.beat("b", now: 106))
            let taken = try await store.nodes.takeOver(now: 106, by: "b")
            #expect(taken.nodes == ["a"])
            #expect(taken.messages == 3)
            #expect(try await store.nodes.alive(now: 106) == ["b"])
            // Declared dead, "a" claims nothing until its heartbeat registers it again.
            #expect(try await store.messages.claim(massEmail: m.id, node: "a", limit: 10, now: 106).isEmpty)
            let rows = try await store.messages.page(massEmail: m.id)
            #expect(rows.filter { $0.status == .sent }.map(\.id) == [heldByA[0].id])
            #expect(rows.filter { $0.status == .sending }.map(\.id).sorted() == heldByB.map(\.id).sorted())
            // Given back with the attempt not counted, due now.
            for row in rows where heldByA.dropFirst().contains(where: { $0.id == row.id }) {
                #expect(row.status == .queued && row.attempts == 0 && row.nextAttemptAt == 106)
            }
            // "a" comes back: its late outcome changes nothing; its heartbeat says it was declared dead.
            try await store.messages.record([MessageOutcome(id: heldByA[1].id, claim: 1, status: .sent, attempts: 1, code: 250, sentAt: 107)],
                                            node: "a")
            #expect(try await store.messages.page(massEmail: m.id, status: .sent).count == 1)
            #expect(try await store.nodes.beat("a", now: 107) == false)
            #expect(try await store.nodes.alive(now: 107) == ["a", "b"])
            // Replaying a journal applies to what was given back and not claimed since.
            try await store.messages.record([MessageOutcome(id: heldByA[2].id, claim: 1, status: .sent, attempts: 1, code: 250, sentAt: 101)],
                                            node: "a", alsoRequeued: true)
            #expect(try await store.messages.page(massEmail: m.id, status: .sent).count == 2)
            // What "a" held and did not answer goes again, as a first attempt, with the two never claimed.
            let again = try await store.messages.claim(massEmail: m.id, node: "b", limit: 10, now: 108)
            #expect(again.count == 4)
            #expect(Set([heldByA[1].id, heldByA[3].id]).isSubset(of: Set(again.map(\.id))))
            #expect(again.allSatisfy { $0.attempt == 1 })
            #expect(try await store.massEmails.figures([m.id])[m.id]?.byStatus == [.sent: 2, .sending: 8])
            #expect(try await store.messages.page(massEmail: m.id, status: .sending).count == 8)
            #expect(try await store.messages.page(massEmail: m.id, status: .queued).isEmpty)
        }
    }

    /// Messages held by a node that has no row (left by an older Herald, whose claims did not
    /// need one) go back only when the orphans are asked for; a dead node's go back at every
    /// takeover. A node without a row claims nothing.
    @Test(arguments: TestDatabase.kinds)
    func orphanedClaimsGoBackWhenAskedFor(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let m = try await Self.sendingWithMessages(store, name: "Orphans", count: 5)
            #expect(try await store.messages.claim(massEmail: m.id, node: "ghost", limit: 2, now: 100).isEmpty)
            try await store.nodes.register("live", now: 100)
            try await store.nodes.register("dying", now: 100)
            try await store.nodes.register("ghost", now: 100)
            #expect(try await store.messages.claim(massEmail: m.id, node: "ghost", limit: 2, now: 100).count == 2)
            try await store.database.transaction { db in try await db.raw("DELETE FROM delivery_nodes WHERE node = 'ghost'").run() }
            #expect(try await store.messages.claim(massEmail: m.id, node: "dying", limit: 2, now: 100).count == 2)
            #expect(try await store.messages.claim(massEmail: m.id, node: "live", limit: 1, now: 100).count == 1)
            #expect(try await store.nodes.beat("live", now: 110))
            let dead = try await store.nodes.takeOver(now: 110, by: "live", orphans: false)
            #expect(dead.nodes == ["dying"] && dead.messages == 2)
            #expect(try await store.messages.page(massEmail: m.id, status: .sending).count == 3)
            #expect(try await store.nodes.takeOver(now: 111, by: "live", orphans: false).messages == 0)
            let orphans = try await store.nodes.takeOver(now: 112, by: "live", orphans: true)
            #expect(orphans.nodes.isEmpty && orphans.messages == 2)
            let sending = try await store.messages.page(massEmail: m.id, status: .sending)
            #expect(sending.count == 1)
        }
    }

    /// A takeover racing the claims of a node whose heartbeat lapsed (a process that stalled
    /// and claims still): whatever order they meet in, no message is left held by a node
    /// without a row, which only the sweep once a minute would find.
    @Test(arguments: TestDatabase.kinds)
    func aTakeoverRacingClaimsLeavesNoOrphans(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let m = try await Self.sendingWithMessages(store, name: "Stalled", count: 600)
            try await store.nodes.register("stalled", now: 100)
            try await store.nodes.register("b", now: 200)
            let claiming = Task {
                var claimed = 0
                // Bounded: 600 messages in batches of 5 need 120 claims.
                for _ in 0..<120 {
                    let batch = try await store.messages.claim(massEmail: m.id, node: "stalled", limit: 5, now: 200)
                    if batch.isEmpty { break }
                    claimed += batch.count
                }
                return claimed
            }
            try await Task.sleep(for: .milliseconds(5))
            let taken = try await store.nodes.takeOver(now: 200, by: "b", orphans: false)
            let claimed = try await claiming.value
            #expect(taken.nodes == ["stalled"])
            #expect(claimed < 600, "every claim came before the takeover: the race was not run")
            let orphans = try await store.database.read { db in
                try await db.raw("""
                    SELECT COUNT(*) AS n FROM mail_messages
                    WHERE status = 'sending' AND claimed_by NOT IN (SELECT node FROM delivery_nodes)
                    """).first()!.decode(column: "n", as: Int.self)
            }
            #expect(orphans == 0)
        }
    }

    /// Of two outcomes of one claim in one write, the last counts, whatever the database would
    /// join first. A message given back uncounted and claimed again keeps its attempt number
    /// but not its claim number: a late outcome of the claim before (a batch of a process
    /// declared dead, a write retried after it committed) lands on the new claim no more.
    @Test(arguments: TestDatabase.kinds)
    func ofTwoOutcomesOfOneMessageTheLastCounts(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let m = try await Self.sendingWithMessages(store, name: "Replay", count: 3)
            try await store.nodes.register("a", now: 100)
            let claimed = try await store.messages.claim(massEmail: m.id, node: "a", limit: 3, now: 100).sorted { $0.id < $1.id }
            let back = claimed.map {
                MessageOutcome(id: $0.id, claim: $0.claim, status: .queued, attempts: $0.attempt - 1, nextAttemptAt: 100, text: "the relay is out")
            }
            let sent = claimed.map { MessageOutcome(id: $0.id, claim: $0.claim, status: .sent, attempts: $0.attempt, code: 250, sentAt: 101) }
            // As journaled: the give-backs, then the deliveries of the first and the last.
            try await store.messages.record(back + [sent[0], sent[2]], node: "a", alsoRequeued: true)
            #expect(try await store.messages.page(massEmail: m.id).map(\.status) == [.sent, .queued, .sent])
            let again = try await store.messages.claim(massEmail: m.id, node: "a", limit: 3, now: 100)
            #expect(again.map(\.id) == [claimed[1].id])
            #expect(again[0].attempt == claimed[1].attempt)
            #expect(again[0].claim == claimed[1].claim + 1)
            // The claim before's give-back and delivery, late: nothing changes.
            try await store.messages.record([back[1]], node: "a")
            try await store.messages.record([sent[1]], node: "a", alsoRequeued: true)
            #expect(try await store.messages.page(massEmail: m.id).map(\.status) == [.sent, .sending, .sent])
            // The other order, for the new claim: the give-back came last.
            let now = again[0]
            try await store.messages.record([
                MessageOutcome(id: now.id, claim: now.claim, status: .sent, attempts: now.attempt, code: 250, sentAt: 102),
                MessageOutcome(id: now.id, claim: now.claim, status: .queued, attempts: now.attempt - 1, nextAttemptAt: 102, text: "a rest"),
            ], node: "a")
            #expect(try await store.messages.page(massEmail: m.id).map(\.status) == [.sent, .queued, .sent])
        }
    }

    /// Of one message's outcomes in one write, the last of its latest claim: a late outcome of
    /// the claim before, coming after the new claim's, does not push it out.
    @Test func ofAMessagesOutcomesTheLastOfItsLatestClaimCounts() {
        let outcomes = [
            MessageOutcome(id: 1, claim: 2, status: .sent, attempts: 1),
            MessageOutcome(id: 2, claim: 1, status: .queued, attempts: 0),
            MessageOutcome(id: 1, claim: 1, status: .queued, attempts: 0),
            MessageOutcome(id: 2, claim: 1, status: .sent, attempts: 1),
            MessageOutcome(id: 3, claim: 4, status: .deferred, attempts: 2),
        ]
        #expect(MessageStore.lastOfEach(outcomes).map { [$0.id, Int64($0.claim)] } == [[1, 2], [2, 1], [3, 4]])
        #expect(MessageStore.lastOfEach(outcomes).map(\.status) == [.sent, .sent, .deferred])
    }

    /// A bounce at send time is listed once: a late bounced outcome of the claim before (given
    /// back uncounted, so under the same attempt number) adds no second row.
    @Test(arguments: TestDatabase.kinds)
    func aLateBounceOfTheClaimBeforeIsNotListedAgain(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let m = try await Self.sendingWithMessages(store, name: "Bounced once", count: 1)
            try await store.nodes.register("a", now: 100)
            let first = try #require(try await store.messages.claim(massEmail: m.id, node: "a", limit: 1, now: 100).first)
            try await store.messages.record([MessageOutcome(id: first.id, claim: first.claim, status: .queued, attempts: first.attempt - 1,
                                                            nextAttemptAt: 100)], node: "a")
            let second = try #require(try await store.messages.claim(massEmail: m.id, node: "a", limit: 1, now: 100).first)
            #expect(second.attempt == first.attempt)
            func bounced(_ c: ClaimedMessage) -> MessageOutcome {
                MessageOutcome(id: c.id, claim: c.claim, status: .bounced, attempts: c.attempt, code: 550, enhancedCode: "5.1.1",
                               text: "no such user")
            }
            try await store.messages.record([bounced(second)], node: "a")
            try await store.messages.record([bounced(first)], node: "a")
            #expect(try await store.bounces.list(massEmail: m.id).count == 1)
        }
    }

    /// Migration 20 starts each message's claim number where a journal written before it still
    /// matches: a held message's at its attempt, one given back (by a takeover, unclaimed
    /// since) at the attempt it was given back from, so that replaying that journal after the
    /// upgrade writes what was delivered.
    @Test(arguments: TestDatabase.kinds)
    func claimNumbersStartWhereAJournalOfBeforeMatches(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let m = try await Self.sendingWithMessages(store, name: "Upgraded", count: 3)
            try await store.nodes.register("a", now: 100)
            try await store.nodes.register("b", now: 100)
            let held = try await store.messages.claim(massEmail: m.id, node: "a", limit: 3, now: 100).sorted { $0.id < $1.id }
            // The first delivered and written; the other two held by "a" when it died, and the
            // third given back by a takeover.
            try await store.messages.record([MessageOutcome(id: held[0].id, claim: held[0].claim, status: .sent, attempts: 1, sentAt: 101)],
                                            node: "a")
            try await store.database.transaction { db in
                try await db.raw("UPDATE mail_messages SET status = 'queued', attempts = 0, claimed_by = NULL WHERE id = \(bind: held[2].id)").run()
                try await db.raw("ALTER TABLE mail_messages DROP COLUMN claims").run()
                try await #require(Migrations.all.first { $0.version == 20 }).apply(db, kind)
            }
            // The journal of before: attempt numbers, 1 for each.
            let journal = held.map { MessageOutcome(id: $0.id, claim: 1, status: .sent, attempts: 1, code: 250, sentAt: 102) }
            try await store.messages.record(journal, node: "a", alsoRequeued: true)
            #expect(try await store.messages.page(massEmail: m.id).map(\.status) == [.sent, .sent, .sent])
        }
    }

    /// A message given back unsent, by a restart, a takeover or an outcome that returns it to
    /// the queue (a rest, the relay out), keeps the status it had when claimed: an uncertain
    /// one stays counted apart until a server accepts it, a deferred one stays deferred.
    @Test(arguments: TestDatabase.kinds)
    func aMessageGivenBackKeepsTheStatusItHadWhenClaimed(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let m = try await Self.sendingWithMessages(store, name: "Kept", count: 2)
            try await store.nodes.register("a", now: 100)
            try await store.nodes.register("b", now: 100)
            let first = try await store.messages.claim(massEmail: m.id, node: "a", limit: 2, now: 100).sorted { $0.id < $1.id }
            try await store.messages.record([
                MessageOutcome(id: first[0].id, claim: 1, status: .uncertain, attempts: 1, nextAttemptAt: 100, text: "lost after the data"),
                MessageOutcome(id: first[1].id, claim: 1, status: .deferred, attempts: 1, nextAttemptAt: 100, code: 451),
            ], node: "a")
            func statuses() async throws -> [MessageStatus] { try await store.messages.page(massEmail: m.id).map(\.status) }
            #expect(try await statuses() == [.uncertain, .deferred])
            // A restart gives back what was claimed.
            #expect(try await store.messages.claim(massEmail: m.id, node: "a", limit: 2, now: 101).count == 2)
            #expect(try await statuses() == [.sending, .sending])
            #expect(try await store.messages.requeueClaims(of: "a") == 2)
            #expect(try await statuses() == [.uncertain, .deferred])
            // An outcome that gives a message back unsent.
            let again = try await store.messages.claim(massEmail: m.id, node: "a", limit: 2, now: 102).sorted { $0.id < $1.id }
            try await store.messages.record(again.map { MessageOutcome(id: $0.id, claim: $0.claim, status: .queued, attempts: $0.attempt - 1,
                                                                        nextAttemptAt: 130, text: "the relay is out") }, node: "a")
            #expect(try await statuses() == [.uncertain, .deferred])
            // A takeover of a process that died holding them.
            #expect(try await store.messages.claim(massEmail: m.id, node: "a", limit: 2, now: 130).count == 2)
            #expect(try await store.nodes.beat("b", now: 110))
            #expect(try await store.nodes.takeOver(now: 110, by: "b").messages == 2)
            #expect(try await statuses() == [.uncertain, .deferred])
            #expect(try await store.massEmails.figures([m.id])[m.id]?.byStatus == [.uncertain: 1, .deferred: 1])
            // Accepted at last: sent.
            let last = try await store.messages.claim(massEmail: m.id, node: "b", limit: 2, now: 130).sorted { $0.id < $1.id }
            #expect(last.map(\.attempt) == [2, 2])
            try await store.messages.record(last.map { MessageOutcome(id: $0.id, claim: $0.claim, status: .sent, attempts: $0.attempt,
                                                                       code: 250, sentAt: 131) }, node: "b")
            #expect(try await statuses() == [.sent, .sent])
        }
    }

    /// Many processes claiming small batches of one mass email at once, again and again until
    /// nothing is left (on PostgreSQL claims race: a claim may find rows another has just
    /// claimed): every message is claimed exactly once.
    @Test(arguments: TestDatabase.kinds)
    func racingClaimsTakeEachMessageOnce(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let m = try await Self.sendingWithMessages(store, name: "Race", count: 2_000)
            for node in 0..<6 { try await store.nodes.register("n\(node)", now: 10) }
            let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for node in 0..<6 {
                    group.addTask {
                        var mine: [Int64] = []
                        var empty = 0
                        // Bounded: 2,000 messages in batches of 25 need 80 claims in all.
                        for _ in 0..<400 where empty < 3 {
                            let batch = try await store.messages.claim(massEmail: m.id, node: "n\(node)", limit: 25, now: 10)
                            empty = batch.isEmpty ? empty + 1 : 0
                            mine += batch.map(\.id)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [Int64]()) { $0 += $1 }
            }
            #expect(ids.count == 2_000)
            #expect(Set(ids).count == 2_000)
            #expect(try await store.massEmails.figures([m.id])[m.id]?.byStatus == [.sending: 2_000])
        }
    }

    /// What holds a process's sending up is reported and shown while it is alive.
    @Test(arguments: TestDatabase.kinds)
    func conditionsOfLiveProcessesAreShown(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            try await store.nodes.register("a", now: 100)
            try await store.nodes.register("b", now: 100)
            try await store.nodes.report("a", NodeStore.Condition(node: "a", kind: .waitingForRelay, since: 100, nextTry: 130,
                                                                  reason: "connection refused"))
            #expect(try await store.nodes.conditions(now: 101) == [
                NodeStore.Condition(node: "a", kind: .waitingForRelay, since: 100, nextTry: 130, reason: "connection refused")])
            try await store.nodes.report("a", nil)
            #expect(try await store.nodes.conditions(now: 101).isEmpty)
            try await store.nodes.report("b", NodeStore.Condition(node: "b", kind: .journalUnwritable, since: 100, reason: "No space left on device"))
            // A dead process's condition is not shown.
            #expect(try await store.nodes.conditions(now: 200).isEmpty)
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
