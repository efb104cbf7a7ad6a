import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import SQLKit
import Testing

/// Follow-ups through the scheduler and the engine, with the test's clock: when they fire,
/// to whom, threaded, and stopped before and while they fire.
@Suite(.serialized) struct FollowUpEngineTests {
    /// A mass email with `followUps` (given the "Reminder" template's id) sent to `count`
    /// contacts, and sent; returns it.
    static func sent(_ h: EngineHarness, count: Int, followUps: (Int64) -> [FollowUp]) async throws -> MassEmail {
        let reminder = try await h.store.templates.create(in: h.contacts, name: "Reminder", subject: "Reminder for {{first_name}}",
                                                          html: "<p>Still interested, {{first_name}}? <a href=\"https://example.com/offer\">Offer</a></p>",
                                                          text: nil, by: h.admin.id)
        var ids: [Int64] = []
        for i in 1...count { ids.append(try await h.contact("f\(i)@example.org", first: "Reader\(i)")) }
        let m = try await h.sendNow(ids, name: "With follow-ups", followUps: followUps(reminder.id))
        try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
        return try await h.store.massEmails.find(m.id)
    }

    /// Sets columns of the mass email's step 0 message to `address`, as engagement would.
    static func mark(_ h: EngineHarness, _ m: MassEmail, _ address: String, _ assignments: SQLQueryString) async throws {
        try await h.store.database.transaction { db in
            try await db.raw("UPDATE mail_messages SET \(assignments) WHERE mass_email_id = \(bind: m.id) AND step = 0 AND address = \(bind: address)").run()
        }
    }

    static func run(_ h: EngineHarness, _ m: MassEmail, step: Int) async throws -> FollowUpRun? {
        try await h.store.followUpRuns.run(m.id, step: step)
    }

    /// Fires what is due at the clock's time and waits for the resolvers.
    static func tick(_ h: EngineHarness) async throws {
        try await h.delivery.scheduler.tick()
        await h.delivery.scheduler.settle()
        await h.delivery.engine.wake()
    }

    @Test(arguments: TestDatabase.kinds)
    func aFollowUpFiresAtItsTimeToThoseItDoesNotExcludeAsAReply(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind) { h in
            let m = try await Self.sent(h, count: 8) { reminder in
                [FollowUp(templateID: reminder, delay: .days(3),
                          exclusions: FollowUpExclusions(match: .any, rules: [.engagement(.opened), .engagement(.replied)]), threaded: true)]
            }
            try await Self.mark(h, m, "f1@example.org", "opened_at = 1")
            try await Self.mark(h, m, "f2@example.org", "machine_opened_at = 1")  // a machine's open is not an open
            try await Self.mark(h, m, "f3@example.org", "unsubscribed_at = 1")
            try await Self.mark(h, m, "f4@example.org", "status = 'bounced'")
            try await h.store.suppressions.add("f5@example.org", reason: "complaint")
            try await h.store.database.transaction { db in
                let message = try await db.raw("SELECT id, record_id FROM mail_messages WHERE mass_email_id = \(bind: m.id) AND address = 'f6@example.org'").first()!
                try await db.raw("""
                    INSERT INTO replies (message_id, mass_email_id, record_id, headers, text, fingerprint, received_at)
                    VALUES (\(bind: try message.decode(column: "id", as: Int64.self)), \(bind: m.id),
                            \(bind: try message.decode(column: "record_id", as: Int64.self)), '', 'Thanks', 'f6', 1)
                    """).run()
            }
            let finished = try #require(m.finishedAt)
            let due = finished + 3 * 86_400  // UTC: three calendar days are 72 hours
            #expect(try await h.delivery.scheduler.tick() == due)
            #expect(try await Self.run(h, m, step: 1)?.dueAt == due)
            #expect(try await Self.run(h, m, step: 1)?.status == .waiting)

            h.clock.advance(by: due - h.clock.now() - 1)
            try await Self.tick(h)
            #expect(try await Self.run(h, m, step: 1)?.status == .waiting)
            h.clock.advance(by: 1)
            try await Self.tick(h)
            try await h.eventually("the follow-up is sent") { try await Self.run(h, m, step: 1)?.status == .sent }

            let run = try #require(try await Self.run(h, m, step: 1))
            #expect(run.startedAt == due)
            #expect(run.excluded == [.criteria: 2, .unsubscribed: 1, .bounced: 1, .suppressed: 1])
            let originals = Dictionary(h.inbox.deliveries.prefix(8).map { ($0.to, $0.messageID) }, uniquingKeysWith: { a, _ in a })
            let followUps = h.inbox.messages.dropFirst(8)
            #expect(Set(followUps.compactMap(\.envelope.recipients.first)) == ["f2@example.org", "f7@example.org", "f8@example.org"])
            for message in followUps {
                let text = String(decoding: message.data, as: UTF8.self)
                let to = message.envelope.recipients.first!
                let original = try #require(originals[to])
                #expect(text.contains("In-Reply-To: \(original)\r\n"))
                #expect(text.contains("References: \(original)\r\n"))
                #expect(text.contains("Subject: Re: Hi Reader"))
                #expect(text.contains("Still interested, Reader"))
                #expect(text.contains("Message-ID: <herald.\(m.id).1."))
            }
            let figures = try #require(try await h.store.massEmails.figures([m.id], step: 1)[m.id])
            #expect(figures[.sent] == 3)
            // Its links go where the follow-up's template says.
            let links = try await h.store.database.read { db in
                try await db.raw("SELECT url FROM tracked_links WHERE mass_email_id = \(bind: m.id) AND step = 1").all()
                    .map { try $0.decode(column: "url", as: String.self) }
            }
            #expect(links == ["https://example.com/offer"])
            // Firing again changes nothing.
            h.clock.advance(by: 86_400)
            try await Self.tick(h)
            #expect(h.inbox.count == 11)
        }
    }

    @Test func aFollowUpAfterThePreviousOneWaitsForItAndItsWindow() async throws {
        // 2027-01-15 08:00 UTC is a Friday.
        try await EngineHarness.with(.sqlite, clock: TestClock(1_800_000_000)) { h in
            let m = try await Self.sent(h, count: 2) { reminder in
                [FollowUp(templateID: reminder, delay: .hours(10)),
                 FollowUp(templateID: reminder, delay: .hours(1), after: .previousFollowUp,
                          window: SendingWindow(weekdays: [1, 2, 3, 4, 5], from: 9 * 60, to: 17 * 60))]
            }
            try await Self.tick(h)
            let first = try #require(try await Self.run(h, m, step: 1)?.dueAt)
            #expect(try await Self.run(h, m, step: 2)?.dueAt == nil)  // nothing to count from yet
            h.clock.advance(by: first - h.clock.now())
            try await Self.tick(h)
            try await h.eventually("follow-up 1 is sent") { try await Self.run(h, m, step: 1)?.status == .sent }
            try await Self.tick(h)
            // Fired Friday 18:00 or so; an hour later is Friday evening, outside the window:
            // it goes at Monday 09:00.
            let monday = Int64(1_800_000_000 + 3 * 86_400 + 3600)
            #expect(try await Self.run(h, m, step: 2)?.dueAt == monday)
            h.clock.advance(by: monday - h.clock.now())
            try await Self.tick(h)
            try await h.eventually("follow-up 2 is sent") { try await Self.run(h, m, step: 2)?.status == .sent }
            #expect(h.inbox.count == 6)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func stoppingBeforeFiringStopsItAndThoseCountedFromIt(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind) { h in
            let m = try await Self.sent(h, count: 2) { reminder in
                [FollowUp(templateID: reminder, delay: .hours(1)),
                 FollowUp(templateID: reminder, delay: .hours(1), after: .previousFollowUp),
                 FollowUp(templateID: reminder, delay: .hours(5))]
            }
            try await Self.tick(h)
            #expect(try await h.delivery.engine.stopFollowUps(m.id, step: 1) == [1, 2])
            await #expect(throws: HeraldError.self) { try await h.delivery.engine.stopFollowUps(m.id, step: 1) }
            h.clock.advance(by: 6 * 3600)
            try await Self.tick(h)
            try await h.eventually("follow-up 3 is sent") { try await Self.run(h, m, step: 3)?.status == .sent }
            #expect(try await Self.run(h, m, step: 1)?.status == .stopped)
            #expect(try await Self.run(h, m, step: 2)?.status == .stopped)
            #expect(h.inbox.count == 4)
        }
    }

    @Test func stoppingTheMassEmailWhileItSendsStopsItsFollowUps() async throws {
        try await EngineHarness.with(.sqlite, serverDelay: .milliseconds(5)) { h in
            let reminder = try await h.store.templates.create(in: h.contacts, name: "Reminder", subject: "Again", html: "<p>Again</p>",
                                                              text: nil, by: h.admin.id)
            var ids: [Int64] = []
            for i in 1...200 { ids.append(try await h.contact("s\(i)@example.org")) }
            let m = try await h.sendNow(ids, name: "Stopped", followUps: [FollowUp(templateID: reminder.id, delay: .hours(1))])
            try await h.eventually("some are sent") { h.inbox.count >= 10 }
            _ = try await h.delivery.engine.stop(m.id)
            let delivered = h.inbox.count
            h.clock.advance(by: 2 * 3600)
            try await Self.tick(h)
            try await Task.sleep(for: .milliseconds(200))  // room for a late message to show up, if one were sent
            #expect(h.inbox.count == delivered)
            #expect(try await Self.run(h, m, step: 1) == nil)
            #expect(FollowUpRun.Status.of(nil, massEmail: try await h.status(m.id)) == .stopped)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func nothingOfAFollowUpReachesSMTPAfterItsStopReturns(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind, serverDelay: .milliseconds(5)) { h in
            let m = try await Self.sent(h, count: 300) { reminder in [FollowUp(templateID: reminder, delay: .hours(1))] }
            try await Self.tick(h)
            h.clock.advance(by: 3600)
            try await Self.tick(h)
            try await h.eventually("the follow-up is under way") { h.inbox.count >= 310 }
            #expect(try await h.delivery.engine.stopFollowUps(m.id, step: nil) == [1])
            let delivered = h.inbox.count
            try await Task.sleep(for: .milliseconds(300))  // room for a late message to show up, if one were sent
            #expect(h.inbox.count == delivered)
            #expect(delivered < 600)
            let figures = try #require(try await h.store.massEmails.figures([m.id], step: 1)[m.id])
            #expect(figures[.sending] == 0)
            #expect(figures[.sent] == delivered - 300)
            #expect(try await Self.run(h, m, step: 1)?.status == .stopped)
            #expect(try await h.status(m.id) == .sent)
        }
    }
}
