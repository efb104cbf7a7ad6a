import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Logging
import Synchronization
import Testing

/// The outcome writer while the database refuses its writes (the messages' table renamed
/// away): a group that failed its tries is set aside, tried once each retry interval (not a
/// round of tries each time), written once the database takes it, and at shutdown tried once
/// and left to the journal.
@Suite(.serialized, .timeLimit(.minutes(2))) struct OutcomeWriterTests {
    /// Every message the writer logs, to count its tries.
    struct CountingLogHandler: LogHandler {
        final class Lines: Sendable {
            let lines = Mutex<[String]>([])
            func count(_ prefix: String) -> Int { lines.withLock { $0.filter { $0.hasPrefix(prefix) }.count } }
        }
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
                 function: String, line: UInt) {
            lines.lines.withLock { $0.append(message.description) }
        }
    }

    static let retried = "a database write failed; trying again"
    static let setAside = "outcomes could not be written"

    final class Count: Sendable {
        let value = Mutex(0)
        /// Of each write, whether it was of a set-aside group.
        let late = Mutex<[Bool]>([])
    }

    struct Setup {
        let store: Store
        let claimed: [ClaimedMessage]
        let unit: MassEmailStep
        let journal: DeliveryJournal
        let writer: OutcomeWriter
        let lines: CountingLogHandler.Lines
        let written: Count

        func statuses() async throws -> [MessageStatus] {
            try await store.messages.page(massEmail: unit.massEmailID).map(\.status)
        }

        func tableAway(_ away: Bool) async throws {
            try await store.database.transaction { db in
                if away {
                    try await db.raw("ALTER TABLE mail_messages RENAME TO away").run()
                } else {
                    try await db.raw("ALTER TABLE away RENAME TO mail_messages").run()
                }
            }
        }

        /// The table away, an outcome for each message added, and their group set aside.
        func setAsideAll() async throws {
            try await tableAway(true)
            addAll()
            try await OutcomeWriterTests.eventually("the group is set aside") { lines.count(OutcomeWriterTests.setAside) >= 1 }
        }

        func addAll() {
            for c in claimed {
                writer.add(Outcome(outcome: MessageOutcome(id: c.id, claim: c.claim, status: .sent, attempts: c.attempt, code: 250, sentAt: 1),
                                   signal: nil, suppress: false),
                           for: c, unit: unit, sender: 1, quotaDay: nil)
            }
        }
    }

    /// Three claimed messages of a sending mass email, and a writer (2 tries, set-aside groups
    /// tried every 300 ms) running for them.
    static func with(_ kind: DatabaseKind, _ body: (Setup) async throws -> Void) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let template = try await store.templates.create(in: contacts, name: "Hello", subject: "Hi", html: "<p>Hi</p>", text: nil, by: admin.id)
            let sender = try await store.senders.create(email: "news@example.com", name: "News", replyTo: nil)
            let record = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("P"), "owner": .reference(admin.id),
                                                                                    "email": .text("a@example.org")]), owner: admin.id)
            let m = try await store.massEmails.create(
                MassEmailDraft(name: "Writer", recipients: .records([record.id]), templateID: template.id, senderID: sender.id, schedule: .now),
                in: contacts, owner: admin.id)
            _ = try await store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
            _ = try await store.massEmails.enqueue(m.id, step: 0, recipients: (1...3).map { (Int64($0), "r\($0)@x.org") },
                                                   cursor: 3, skipped: [:], now: 0)
            try await store.nodes.register("a", now: 100)
            let claimed = try await store.messages.claim(massEmail: m.id, node: "a", limit: 3, now: 100)
            #expect(claimed.count == 3)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-writer-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let journal = try DeliveryJournal(directory: directory)
            let lines = CountingLogHandler.Lines()
            let writer = OutcomeWriter(store: store, journal: journal, node: "a", interval: .milliseconds(5), size: 100, tries: 2,
                                       retryInterval: .milliseconds(300), logger: Logger(label: "writer") { _ in CountingLogHandler(lines: lines) },
                                       onJournalFailure: { _ in })
            let setup = Setup(store: store, claimed: claimed, unit: MassEmailStep(massEmailID: m.id, step: 0), journal: journal,
                              writer: writer, lines: lines, written: Count())
            let count = setup.written
            let running = Task {
                await writer.run { written in
                    count.value.withLock { $0 += written.entries.count }
                    count.late.withLock { $0.append(written.late) }
                }
            }
            do {
                try await body(setup)
            } catch {
                await writer.stop()
                await running.value
                throw error
            }
            await writer.stop()
            await running.value
        }
    }

    static func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting until \(what)")
        throw CancellationError()
    }

    @Test(arguments: TestDatabase.kinds)
    func aGroupSetAsideIsTriedOnceAnIntervalAndWrittenOnceTheDatabaseTakesIt(kind: DatabaseKind) async throws {
        try await Self.with(kind) { s in
            try await s.setAsideAll()
            try await Self.eventually("the group is tried twice more") { s.lines.count(Self.setAside) >= 3 }
            // One round of tries (two: one retry), then one try each interval.
            #expect(s.lines.count(Self.retried) == 1)
            #expect(s.written.value.withLock { $0 } == 0)
            try await s.tableAway(false)
            try await Self.eventually("the set-aside group is written") { s.written.value.withLock { $0 } == 3 }
            #expect(try await s.statuses() == [.sent, .sent, .sent])
            #expect(s.lines.count(Self.retried) == 1)
            // Written late, and said so: the engine does not take it for news of the relay.
            #expect(s.written.late.withLock { $0 } == [true])
            s.addAll()  // outcomes of no claim any more: written (matching nothing), not late
            try await Self.eventually("a fresh group is written") { s.written.late.withLock { $0 } == [true, false] }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func atShutdownASetAsideGroupIsTriedOnceAndLeftToTheJournal(kind: DatabaseKind) async throws {
        try await Self.with(kind) { s in
            try await s.setAsideAll()
            let setAsideBefore = s.lines.count(Self.setAside)
            await s.writer.stop()
            // run() has returned when the setup's stop() finds it done; here: one more try, no round.
            try await Self.eventually("the writer stopped") { s.writer.backlog == 0 && s.lines.count(Self.setAside) == setAsideBefore + 1 }
            #expect(s.lines.count(Self.retried) == 1)
            try await s.tableAway(false)
            #expect(try await s.statuses() == [.sending, .sending, .sending])
            // The journal keeps them for the next start.
            #expect(Set(try s.journal.replay().map(\.id)) == Set(s.claimed.map(\.id)))
        }
    }
}
