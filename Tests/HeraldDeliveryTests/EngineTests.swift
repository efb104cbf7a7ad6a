import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Logging
import Mail
import ServiceLifecycle
import Synchronization
import Testing

/// A clock the test moves by hand: retries and schedules fall due without sleeping.
final class TestClock: Sendable {
    private let value: Mutex<Int64>
    init(_ start: Int64) { value = Mutex(start) }
    func now() -> Int64 { value.withLock { $0 } }
    func advance(by seconds: Int64) { value.withLock { $0 += seconds } }
}

/// What the in-process SMTP server received.
final class Inbox: Sendable {
    private let received = Mutex<[ReceivedMessage]>([])
    func add(_ message: ReceivedMessage) { received.withLock { $0.append(message) } }
    var messages: [ReceivedMessage] { received.withLock { $0 } }
    var count: Int { received.withLock { $0.count } }

    /// Message-ID and recipient of each message received.
    var deliveries: [(messageID: String, to: String, subject: String)] {
        messages.map { message in
            let text = String(decoding: message.data, as: UTF8.self)
            func header(_ name: String) -> String {
                text.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                    .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) } ?? ""
            }
            return (header("Message-ID"), message.envelope.recipients.first ?? "", header("Subject"))
        }
    }
}

/// A store with contacts, a template and a sender; an SMTP server of our own (real TCP,
/// faults on demand); and Herald's delivery services running against both.
struct EngineHarness {
    let store: Store
    let contacts: Module
    let admin: User
    let template: MailTemplate
    let sender: Sender
    let delivery: Delivery
    /// With `processes` above 1: the other processes' delivery services, on the same
    /// database and SMTP server, each with its own state folder (node).
    let others: [Delivery]
    let clock: TestClock
    let inbox: Inbox

    static func with(
        _ kind: DatabaseKind, clock: TestClock = TestClock(1_800_000_000), retry: RetryPolicy = RetryPolicy(), processes: Int = 1,
        state: StateDirectory? = nil, serverDelay: Duration? = nil, bounceDomain: String? = nil,
        acceptRecipient: @escaping SMTPServer.RecipientCheck = { _ in nil },
        configure: (inout EngineConfiguration) -> Void = { _ in },
        beforeStart: (EngineHarness) async throws -> Void = { _ in },
        _ body: (EngineHarness) async throws -> Void
    ) async throws {
        try await TestDatabase.withStore(kind) { store in
            let inbox = Inbox()
            let server = SMTPServer(configuration: SMTPServerConfiguration(port: 0, maximumRecipients: 10), acceptRecipient: acceptRecipient) { message in
                if let serverDelay { try await Task.sleep(for: serverDelay) }
                inbox.add(message)
            }
            let port = try await server.start()
            var logger = Logger(label: "delivery-test")
            logger.logLevel = .warning
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-delivery-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let state = try state ?? StateDirectory(path: directory.appendingPathComponent("state").path)
            let transports = TransportSource(override: "smtp://127.0.0.1:\(port)?tls=none", outbox: directory.appendingPathComponent("outbox").path,
                                             settings: store.settings, logger: logger)
            var configuration = EngineConfiguration(node: state.node)
            configuration.idlePoll = .milliseconds(20)
            configuration.policy.batchSize = 50
            configuration.policy.retry = retry
            configure(&configuration)
            let links = EngagementLinks(secret: try await store.settings.engagementSecret(), publicURL: PublicURL("http://herald.test"))
            let returnPaths = ReturnPathSource(override: bounceDomain, settings: store.settings, signer: links.signer)
            let delivery = try Delivery(store: store, transports: transports,
                                        maker: TemplateMessageMaker(store: store, links: links, returnPaths: returnPaths),
                                        state: state, links: links, configuration: configuration, returnPaths: returnPaths,
                                        logger: logger, now: clock.now)
            var others: [Delivery] = []
            for n in 1..<max(processes, 1) {
                let otherState = try StateDirectory(path: directory.appendingPathComponent("state\(n)").path)
                var otherConfiguration = configuration
                otherConfiguration.node = otherState.node
                others.append(try Delivery(store: store, transports: transports,
                                           maker: TemplateMessageMaker(store: store, links: links, returnPaths: returnPaths),
                                           state: otherState, links: links, configuration: otherConfiguration, returnPaths: returnPaths,
                                           logger: logger, now: clock.now))
            }
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let template = try await store.templates.create(
                in: contacts, name: "Hello", subject: "Hi {{first_name | \"there\"}}",
                html: "<p>Hello {{first_name | \"there\"}} from {{sender.name}}</p>", text: nil, by: admin.id)
            let sender = try await store.senders.create(email: "news@example.com", name: "News", replyTo: nil)
            let harness = EngineHarness(store: store, contacts: contacts, admin: admin, template: template, sender: sender,
                                        delivery: delivery, others: others, clock: clock, inbox: inbox)
            try await beforeStart(harness)
            let group = ServiceGroup(configuration: .init(services: [transports, delivery.engine] + others.map(\.engine), logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                do {
                    try await body(harness)
                } catch {
                    await group.triggerGracefulShutdown()
                    await server.stop()
                    throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await server.stop()
        }
    }

    @discardableResult
    func contact(_ email: String?, first: String = "Ann", optOut: Bool = false) async throws -> Int64 {
        var values: [String: FieldValue?] = ["first_name": .text(first), "last_name": .text("Person"), "owner": .reference(admin.id)]
        if let email { values["email"] = .text(email) }
        if optOut { values["email_opt_out"] = .bool(true) }
        return try await store.records.create(in: contacts, RecordChanges(values), owner: admin.id).id
    }

    func sendNow(_ ids: [Int64], name: String = "Launch", followUps: [FollowUp] = []) async throws -> MassEmail {
        let draft = MassEmailDraft(name: name, recipients: .records(ids), templateID: template.id, senderID: sender.id, schedule: .now,
                                   followUps: followUps)
        let created = try await store.massEmails.create(draft, in: contacts, owner: admin.id,
                                                        now: Date(timeIntervalSince1970: TimeInterval(clock.now())))
        try await delivery.scheduler.tick()
        await delivery.scheduler.settle()
        await delivery.engine.wake()
        return created
    }

    /// Waits (polling, bounded) until `condition` holds; fails the test when it never does.
    func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Where every mass email stands says whether it ended elsewhere (sent instead of paused)
        // or never got there.
        let standing = ((try? await store.massEmails.all()) ?? [])
            .map { "\($0.name) #\($0.id): \($0.status.rawValue)\($0.statusReason.map { " (\($0))" } ?? "")" }
        Issue.record("timed out waiting until \(what) (\(inbox.count) messages received; \(standing.joined(separator: ", ")))")
        throw CancellationError()
    }

    func status(_ id: Int64) async throws -> MassEmail.Status { try await store.massEmails.find(id).status }
}

@Suite(.serialized) struct EngineTests {
    @Test(arguments: TestDatabase.kinds)
    func everyRecipientGetsExactlyOnePersonalisedMessage(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind) { h in
            var ids: [Int64] = []
            for i in 1...20 { ids.append(try await h.contact("r\(i)@example.org", first: "Reader\(i)")) }
            ids.append(try await h.contact("Ada@Example.org", first: "Ada"))
            ids.append(try await h.contact(" ada@example.org ", first: "Ada again"))  // the same address
            ids.append(try await h.contact("bob@example.org", first: "Bob", optOut: true))
            ids.append(try await h.contact("carol@example.org", first: "Carol"))
            ids.append(try await h.contact(nil, first: "Nobody"))
            try await h.store.suppressions.add("carol@example.org", reason: "unsubscribed")
            let m = try await h.sendNow(ids)
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            let deliveries = h.inbox.deliveries
            #expect(deliveries.count == 21)
            #expect(Set(deliveries.map(\.messageID)).count == 21)
            #expect(Set(deliveries.map(\.to)) == Set((1...20).map { "r\($0)@example.org" } + ["ada@example.org"]))
            #expect(deliveries.first { $0.to == "r7@example.org" }?.subject == "Hi Reader7")
            let sent = try await h.store.massEmails.find(m.id)
            #expect(sent.skipped == [.duplicate: 1, .optedOut: 1, .suppressed: 1, .noEmail: 1])
            let figures = try #require(try await h.store.massEmails.figures([m.id])[m.id])
            #expect(figures[.sent] == 21)
            #expect(figures.recipients == 21)
        }
    }

    @Test func aScheduledMassEmailStartsAtItsTimeNotBefore() async throws {
        let clock = TestClock(1_800_000_000)
        try await EngineHarness.with(.sqlite, clock: clock) { h in
            let id = try await h.contact("sched@example.org")
            let zone = TimeZone(identifier: "America/New_York")!
            let start = Date(timeIntervalSince1970: TimeInterval(clock.now() + 3600))
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let parts = calendar.dateComponents([.hour, .minute], from: start)
            let draft = MassEmailDraft(name: "Later", recipients: .records([id]), templateID: h.template.id, senderID: h.sender.id,
                                       schedule: .at(date: LocalDate(start, in: zone), hour: parts.hour!, minute: parts.minute!,
                                                     timeZone: zone.identifier))
            let m = try await h.store.massEmails.create(draft, in: h.contacts, owner: h.admin.id,
                                                        now: Date(timeIntervalSince1970: TimeInterval(clock.now())))
            let due = try #require(m.scheduledAt)
            #expect(try await h.delivery.scheduler.tick() == due)
            #expect(try await h.status(m.id) == .scheduled)
            clock.advance(by: due - clock.now() - 1)
            try await h.delivery.scheduler.tick()
            #expect(try await h.status(m.id) == .scheduled)
            clock.advance(by: 1)
            try await h.delivery.scheduler.tick()
            await h.delivery.scheduler.settle()
            #expect(try await h.status(m.id) == .sending)
            await h.delivery.engine.wake()
            try await h.eventually("the message arrives") { h.inbox.count == 1 }
        }
    }

    /// A resolution that meets an error is tried again a few seconds later, not when the
    /// process's 60 s lease on it ends.
    @Test(arguments: TestDatabase.kinds)
    func aResolutionThatFailsIsTriedAgainWithinSeconds(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind) { h in
            let ids = [try await h.contact("r1@example.org"), try await h.contact("r2@example.org")]
            let draft = MassEmailDraft(name: "Retried", recipients: .records(ids), templateID: h.template.id, senderID: h.sender.id, schedule: .now)
            let m = try await h.store.massEmails.create(draft, in: h.contacts, owner: h.admin.id,
                                                        now: Date(timeIntervalSince1970: TimeInterval(h.clock.now())))
            // The records' table out of the way: the recipients' query fails, as on a passing
            // database error, and then works again.
            let table = h.contacts.table
            try await h.store.database.transaction { db in try await db.raw("ALTER TABLE \(ident: table) RENAME TO away").run() }
            try await h.delivery.scheduler.tick()
            await h.delivery.scheduler.settle()
            try await h.store.database.transaction { db in try await db.raw("ALTER TABLE away RENAME TO \(ident: table)").run() }
            #expect(try await h.store.massEmails.find(m.id).resolvedAt == nil)

            h.clock.advance(by: MassEmailScheduler.retryAfterFailure - 1)
            try await h.delivery.scheduler.tick()
            await h.delivery.scheduler.settle()
            #expect(try await h.store.massEmails.find(m.id).resolvedAt == nil, "tried again before the retry delay")

            h.clock.advance(by: 2)
            try await h.delivery.scheduler.tick()
            await h.delivery.scheduler.settle()
            #expect(try await h.store.massEmails.find(m.id).resolvedAt != nil, "not tried again after the retry delay")
            await h.delivery.engine.wake()
            try await h.eventually("both messages arrive") { h.inbox.count == 2 }
        }
    }

    /// The database refuses the outcomes' writes for longer than the writer tries (here its
    /// table is out of the way): the groups are set aside and written once it takes them
    /// again, so the mass email ends `sent` without a restart and nobody gets it twice.
    @Test(arguments: TestDatabase.kinds)
    func outcomesTheDatabaseRefusedForAWhileAreWrittenOnceItTakesThem(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind, serverDelay: .milliseconds(5), configure: {
            $0.outcomeWriteTries = 2
            $0.outcomeRetryInterval = .milliseconds(300)
        }) { h in
            var ids: [Int64] = []
            for i in 1...150 { ids.append(try await h.contact("later\(i)@example.org")) }
            let m = try await h.sendNow(ids)
            try await h.eventually("some messages arrived") { h.inbox.count >= 10 }
            try await h.store.database.transaction { db in try await db.raw("ALTER TABLE mail_messages RENAME TO away").run() }
            let atOutage = h.inbox.count
            try await h.eventually("messages answered while their outcomes cannot be written") { h.inbox.count > atOutage + 5 }
            try await Task.sleep(for: .seconds(1))  // well past the writer's two tries (50 ms apart)
            try await h.store.database.transaction { db in try await db.raw("ALTER TABLE away RENAME TO mail_messages").run() }
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            let deliveries = h.inbox.deliveries
            #expect(deliveries.count == 150)
            #expect(Set(deliveries.map(\.to)).count == 150)
            let figures = try #require(try await h.store.massEmails.figures([m.id])[m.id])
            #expect(figures[.sent] == 150)
            #expect(figures[.sending] == 0)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func nothingReachesSMTPAfterStopReturns(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind, serverDelay: .milliseconds(5)) { h in
            var ids: [Int64] = []
            for i in 1...300 { ids.append(try await h.contact("stop\(i)@example.org")) }
            let m = try await h.sendNow(ids)
            try await h.eventually("some messages arrived") { h.inbox.count >= 10 }
            let stopped = try await h.delivery.engine.stop(m.id)
            let atStop = h.inbox.count
            #expect(stopped.status == .stopped)
            try await Task.sleep(for: .milliseconds(300))  // room for a late message to show up, if one were sent
            #expect(h.inbox.count == atStop)
            let figures = try #require(try await h.store.massEmails.figures([m.id])[m.id])
            #expect(figures[.sending] == 0)
            #expect(figures[.sent] == atStop)
            #expect(figures[.queued] == 300 - atStop)
        }
    }

    @Test func throttlingDefersWithoutLosingAndHardBouncesSuppress() async throws {
        let clock = TestClock(1_800_000_000)
        let refusals = Mutex(0)
        var retry = RetryPolicy()
        retry.throttleDelay = 30
        try await EngineHarness.with(.sqlite, clock: clock, retry: retry, acceptRecipient: { address in
            if address == "gone@example.org" { return SMTPReply(code: 550, enhancedCode: .init(statusClass: 5, subject: 1, detail: 1), lines: ["no such user"]) }
            let throttle = refusals.withLock { n -> Bool in n += 1; return n <= 4 }
            return throttle ? SMTPReply(code: 451, enhancedCode: .init(statusClass: 4, subject: 7, detail: 0), lines: ["rate limit exceeded"]) : nil
        }) { h in
            var ids: [Int64] = []
            for i in 1...12 { ids.append(try await h.contact("t\(i)@example.org")) }
            ids.append(try await h.contact("gone@example.org"))
            let m = try await h.sendNow(ids)
            // Those not yet handed over when the first 451 came back wait queued for the
            // sender's rest (how many depends on how the batches were fed): either way none is lost.
            try await h.eventually("the throttled messages wait") {
                let f = try await h.store.massEmails.figures([m.id])[m.id]
                return f?[.deferred] == 4 && f?[.sending] == 0
            }
            #expect(try await h.status(m.id) == .sending)
            clock.advance(by: 61)  // past the sender's rest and the deferred messages' time
            await h.delivery.engine.wake()
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            #expect(Set(h.inbox.deliveries.map(\.to)) == Set((1...12).map { "t\($0)@example.org" }))
            #expect(h.inbox.count == 12)
            let bounced = try await h.store.messages.page(massEmail: m.id, status: .bounced)
            #expect(bounced.map(\.address) == ["gone@example.org"])
            #expect(bounced.first?.enhancedCode == "5.1.1")
            #expect(try await h.store.suppressions.suppressed(among: ["gone@example.org"]) == ["gone@example.org"])
            // Throttling did not use up attempts.
            #expect(try await h.store.messages.page(massEmail: m.id, status: .sent, limit: 100).allSatisfy { $0.attempts == 1 })
        }
    }

    @Test func aHardBounceAtSendTimeRunsTheBouncedActionsOnce() async throws {
        try await EngineHarness.with(.sqlite, acceptRecipient: { address in
            address == "gone@example.org" ? SMTPReply(code: 550, enhancedCode: .init(statusClass: 5, subject: 1, detail: 1), lines: ["no such user"]) : nil
        }) { h in
            let gone = try await h.contact("gone@example.org")
            let fine = try await h.contact("fine@example.org")
            var draft = MassEmailDraft(name: "Bounces", recipients: .records([gone, fine]), templateID: h.template.id,
                                       senderID: h.sender.id, schedule: .now)
            draft.triggerActions = [TriggerAction(event: .bounced, effect: .updateField(field: "mailing_city", value: .string("Bounced")))]
            let m = try await h.store.massEmails.create(draft, in: h.contacts, owner: h.admin.id,
                                                        now: Date(timeIntervalSince1970: TimeInterval(h.clock.now())))
            try await h.delivery.scheduler.tick()
            await h.delivery.scheduler.settle()
            await h.delivery.engine.wake()
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            // The action runs after the outcome is written, not before the mass email is sent.
            try await h.eventually("the bounced action ran") {
                try await h.store.records.find(in: h.contacts, id: gone, scope: .all)?["mailing_city"] != nil
            }
            let goneRecord = try await h.store.records.find(in: h.contacts, id: gone, scope: .all)
            let fineRecord = try await h.store.records.find(in: h.contacts, id: fine, scope: .all)
            #expect(goneRecord?["mailing_city"] == .text("Bounced"))
            #expect(fineRecord?["mailing_city"] == nil)
        }
    }

    @Test func manyRefusalsPauseTheMassEmailWithTheReason() async throws {
        try await EngineHarness.with(.sqlite, acceptRecipient: { _ in
            SMTPReply(code: 554, enhancedCode: .init(statusClass: 5, subject: 7, detail: 1), lines: ["relay access denied"])
        }) { h in
            var ids: [Int64] = []
            for i in 1...60 { ids.append(try await h.contact("p\(i)@example.org")) }
            let m = try await h.sendNow(ids)
            try await h.eventually("the mass email pauses") { try await h.status(m.id) == .paused }
            let paused = try await h.store.massEmails.find(m.id)
            #expect(paused.statusReason?.contains("relay access denied") == true)
            #expect(h.inbox.count == 0)
        }
    }

    @Test func aRestartReplaysTheJournalAndSendsOnlyWhatWasNotAnswered() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-restart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = try StateDirectory(path: directory.path)
        let answered = Mutex<[String]>([])
        try await EngineHarness.with(.sqlite, state: state, beforeStart: { h in
            // The state a kill -9 leaves: ten messages claimed by this node, four of them
            // answered 250 and noted in the journal, none of it written to the database.
            var ids: [Int64] = []
            for i in 1...10 { ids.append(try await h.contact("j\(i)@example.org")) }
            let draft = MassEmailDraft(name: "Crash", recipients: .records(ids), templateID: h.template.id, senderID: h.sender.id, schedule: .now)
            let m = try await h.store.massEmails.create(draft, in: h.contacts, owner: h.admin.id,
                                                        now: Date(timeIntervalSince1970: TimeInterval(h.clock.now())))
            _ = try await h.store.massEmails.startDue(now: h.clock.now())
            try await RecipientResolver(store: h.store, logger: Logger(label: "test")).resolve(m.id, node: state.node, now: h.clock.now)
            try await h.store.nodes.register(state.node, now: h.clock.now())
            let claimed = try await h.store.messages.claim(massEmail: m.id, node: state.node, limit: 10, now: h.clock.now())
            #expect(claimed.count == 10)
            let journal = try DeliveryJournal(directory: state.journal)
            for message in claimed.prefix(4) {
                try journal.append(MessageOutcome(id: message.id, claim: message.claim, status: .sent, attempts: 1, code: 250,
                                              text: "ok", sentAt: h.clock.now()))
            }
            answered.withLock { $0 = claimed.prefix(4).map(\.address) }
        }) { h in
            try await h.eventually("the mass email is sent") {
                try await h.store.massEmails.all(statuses: [.sent]).count == 1
            }
            let delivered = Set(h.inbox.deliveries.map(\.to))
            #expect(h.inbox.count == 6)
            #expect(delivered.isDisjoint(with: answered.withLock { $0 }))
        }
    }
    @Test func theDailyQuotaHoldsBackUntilTheNextDayAndLosesNothing() async throws {
        // 23:00 in Berlin: the organisation's day ends in an hour.
        let clock = TestClock(Int64(ISODateTime.parse("2026-11-27T22:00:00Z")!.timeIntervalSince1970))
        try await EngineHarness.with(.sqlite, clock: clock) { h in
            try await h.store.settings.set(SettingsStore.organisationTimeZone, to: "Europe/Berlin")
            try await h.store.settings.setDailyQuota(3)
            var ids: [Int64] = []
            for i in 1...5 { ids.append(try await h.contact("q\(i)@example.org")) }
            let m = try await h.sendNow(ids)
            try await h.eventually("the quota is used up") { h.inbox.count == 3 }
            try await Task.sleep(for: .milliseconds(200))  // room for a fourth message, if the quota leaked one
            #expect(h.inbox.count == 3)
            #expect(try await h.status(m.id) == .sending)
            #expect(try await h.store.massEmails.figures([m.id])[m.id]?[.queued] == 2)
            clock.advance(by: 3600)  // midnight in Berlin
            await h.delivery.engine.wake()
            try await h.eventually("the rest goes out the next day") { try await h.status(m.id) == .sent }
            #expect(h.inbox.count == 5)
            // A look for more work reserves quota before it claims and gives back what it found no
            // messages for, so the day's count may stand higher for a moment: wait for it to settle.
            try await h.eventually("the next day's count settles at what was sent") {
                try await h.store.quota.used(day: "2026-11-28") == 2
            }
        }
    }

    @Test func aSendersRatePerMinuteIsKept() async throws {
        let clock = TestClock(1_800_000_000)
        try await EngineHarness.with(.sqlite, clock: clock) { h in
            _ = try await h.store.senders.update(h.sender.id, email: h.sender.email, name: h.sender.name, replyTo: nil, ratePerMinute: 4)
            var ids: [Int64] = []
            for i in 1...10 { ids.append(try await h.contact("rate\(i)@example.org")) }
            let m = try await h.sendNow(ids)
            // The clock moves on only once the replies are noted: a reply noted after the move
            // would count, rightly, in the next minute.
            func sent() async throws -> Int { try await h.store.massEmails.figures([m.id])[m.id]?[.sent] ?? 0 }
            try await h.eventually("a minute's worth is sent") { try await sent() == 4 }
            try await Task.sleep(for: .milliseconds(200))
            #expect(h.inbox.count == 4)
            clock.advance(by: 61)
            await h.delivery.engine.wake()
            try await h.eventually("the next minute's") { try await sent() == 8 }
            #expect(h.inbox.count == 8)
            clock.advance(by: 61)
            await h.delivery.engine.wake()
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            #expect(h.inbox.count == 10)
        }
    }

    /// "All Contacts": every record its owner may see, each address once; a user's own only.
    @Test(arguments: TestDatabase.kinds)
    func aMassEmailToAllGoesToEveryRecordItsOwnerMaySee(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind) { h in
            try await h.contact("a@example.org")
            try await h.contact("b@example.org")
            try await h.contact("A@example.org")  // the same address: one message
            try await h.contact(nil)
            let user = try await h.store.users.create(email: "user@example.com", name: "User", role: .user, passwordHash: "x", timeZone: "UTC")
            try await h.store.records.create(in: h.contacts, RecordChanges(["last_name": .text("Own"), "email": .text("own@example.org"),
                                                                           "owner": .reference(user.id)]), owner: user.id)
            func send(_ name: String, by owner: Int64) async throws -> MassEmail {
                let m = try await h.store.massEmails.create(
                    MassEmailDraft(name: name, recipients: .all, templateID: h.template.id, senderID: h.sender.id, schedule: .now),
                    in: h.contacts, owner: owner, now: Date(timeIntervalSince1970: TimeInterval(h.clock.now())))
                #expect(try await h.store.massEmails.find(m.id).recipients == .all)
                try await h.delivery.scheduler.tick()
                await h.delivery.scheduler.settle()
                await h.delivery.engine.wake()
                try await h.eventually("\(name) is sent") { try await h.status(m.id) == .sent }
                return try await h.store.massEmails.find(m.id)
            }
            let everyone = try await send("Everyone", by: h.admin.id)
            #expect(Set(h.inbox.deliveries.map(\.to)) == ["a@example.org", "b@example.org", "own@example.org"])
            #expect(h.inbox.count == 3)
            #expect(everyone.skipped == [.noEmail: 1, .duplicate: 1])
            _ = try await send("Mine", by: user.id)
            #expect(h.inbox.deliveries.dropFirst(3).map(\.to) == ["own@example.org"])
        }
    }

    /// A record's mail history: what each mass email sent it, found by its address (a deal's
    /// through its contact), only of mass emails the reader may see; suppressed addresses too.
    @Test(arguments: TestDatabase.kinds)
    func aRecordsMailHistoryListsWhatItWasSent(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind) { h in
            let ann = try await h.contact("Ann@Example.org")
            let bob = try await h.contact("bob@example.org")
            let first = try await h.sendNow([ann, bob], name: "First")
            try await h.eventually("the first is sent") { try await h.status(first.id) == .sent }
            let second = try await h.sendNow([ann], name: "Second")
            try await h.eventually("the second is sent") { try await h.status(second.id) == .sent }
            let record = try #require(try await h.store.records.find(in: h.contacts, id: ann, scope: .all))
            let history = try await h.delivery.records.mailHistory(of: record, in: h.contacts, for: h.admin)
            #expect(history.messages.map(\.massEmailName) == ["Second", "First"])
            #expect(history.messages.allSatisfy { $0.status == .sent && $0.sentAt != nil && $0.step == 0 })
            #expect(history.suppressed.isEmpty)
            // A user sees only their own mass emails' messages.
            let user = try await h.store.users.create(email: "u@example.com", name: "U", role: .user, passwordHash: "x", timeZone: "UTC")
            #expect(try await h.delivery.records.mailHistory(of: record, in: h.contacts, for: user).messages.isEmpty)
            try await h.store.suppressions.add("ann@example.org", reason: "complaint")
            #expect(try await h.delivery.records.mailHistory(of: record, in: h.contacts, for: h.admin).suppressed.map(\.reason) == ["complaint"])

            // A deal's messages went to its contact's address.
            let deals = try await h.store.modules.named("deals")
            let deal = try await h.store.records.create(in: deals, RecordChanges([
                "deal_name": .text("Big deal"), "stage": .text("Qualification"), "contact": .reference(bob), "owner": .reference(h.admin.id),
            ]), owner: h.admin.id)
            let template = try await h.store.templates.create(in: deals, name: "Deal news", subject: "About {{deal_name}}, {{contact.first_name}}",
                                                              html: "<p>News for {{contact.last_name}}</p>", text: nil, by: h.admin.id)
            let onDeals = try await h.store.massEmails.create(
                MassEmailDraft(name: "Deals", recipients: .records([deal.id]), templateID: template.id, senderID: h.sender.id, schedule: .now),
                in: deals, owner: h.admin.id, now: Date(timeIntervalSince1970: TimeInterval(h.clock.now())))
            try await h.delivery.scheduler.tick()
            await h.delivery.scheduler.settle()
            await h.delivery.engine.wake()
            try await h.eventually("the deal's mass email is sent") { try await h.status(onDeals.id) == .sent }
            #expect(try await h.delivery.records.mailHistory(of: deal, in: deals, for: h.admin).messages.map(\.massEmailName) == ["Deals"])
            // Its template greets the deal's contact by name, through the lookup.
            #expect(h.inbox.deliveries.last?.subject == "About Big deal, Ann")
            // Bob's own page lists his contact mass email, not the deal's (another record got it).
            let bobs = try #require(try await h.store.records.find(in: h.contacts, id: bob, scope: .all))
            #expect(try await h.delivery.records.mailHistory(of: bobs, in: h.contacts, for: h.admin).messages.map(\.massEmailName) == ["First"])
        }
    }

    @Test func aMassEmailOnDealsGoesToEachDealsContact() async throws {
        try await EngineHarness.with(.sqlite) { h in
            let contact = try await h.contact("buyer@example.org", first: "Bea")
            let deals = try await h.store.modules.named("deals")
            let deal = try await h.store.records.create(in: deals, RecordChanges([
                "deal_name": .text("Big deal"), "stage": .text("Qualification"), "contact": .reference(contact), "owner": .reference(h.admin.id),
            ]), owner: h.admin.id)
            let noContact = try await h.store.records.create(in: deals, RecordChanges([
                "deal_name": .text("Lonely deal"), "stage": .text("Qualification"), "owner": .reference(h.admin.id),
            ]), owner: h.admin.id)
            let template = try await h.store.templates.create(in: deals, name: "Deal news", subject: "About {{deal_name}}",
                                                              html: "<p>News about {{deal_name}}</p>", text: nil, by: h.admin.id)
            let m = try await h.store.massEmails.create(
                MassEmailDraft(name: "Deals", recipients: .records([deal.id, noContact.id]), templateID: template.id, senderID: h.sender.id,
                               schedule: .now),
                in: deals, owner: h.admin.id, now: Date(timeIntervalSince1970: TimeInterval(h.clock.now())))
            try await h.delivery.scheduler.tick()
            await h.delivery.scheduler.settle()
            await h.delivery.engine.wake()
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            #expect(h.inbox.deliveries.map(\.to) == ["buyer@example.org"])
            #expect(h.inbox.deliveries.first?.subject == "About Big deal")
            #expect(try await h.store.massEmails.find(m.id).skipped == [.noEmail: 1])
        }
    }
}
