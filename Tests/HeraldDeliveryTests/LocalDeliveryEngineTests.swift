import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Testing

/// A mass email sent at 09:00 in each recipient's time zone, through the scheduler and the
/// engine with the test's clock: each message leaves at its zone's 09:00, not before, once.
@Suite(.serialized) struct LocalDeliveryEngineTests {
    static func at(_ iso: String) -> Int64 { Int64(ISODateTime.parse(iso)!.timeIntervalSince1970) }

    @Test(arguments: TestDatabase.kinds)
    func eachRecipientGetsItAtNineInTheirZoneOnceAcrossADaylightSavingChange(kind: DatabaseKind) async throws {
        // Saturday 27 March 2027, noon UTC; Europe's clocks go forward on Sunday at 01:00 UTC,
        // so Berlin's 09:00 on the 28th is 07:00 UTC, not 08:00.
        let clock = TestClock(Self.at("2027-03-27T12:00:00Z"))
        try await EngineHarness.with(kind, clock: clock) { h in
            try await h.store.settings.set(SettingsStore.organisationTimeZone, to: "Asia/Tokyo")
            _ = try await h.store.modules.addField(Field(apiName: "time_zone", label: "Time Zone", type: .timeZone), to: "contacts")
            let contacts = try await h.store.modules.named("contacts")
            func person(_ name: String, zone: String? = nil, country: String? = nil) async throws -> Int64 {
                var values: [String: FieldValue?] = ["first_name": .text(name), "last_name": .text("Person"), "owner": .reference(h.admin.id),
                                                     "email": .text("\(name)@example.org")]
                if let zone { values["time_zone"] = .text(zone) }
                if let country { values["mailing_country"] = .text(country) }
                return try await h.store.records.create(in: contacts, RecordChanges(values), owner: h.admin.id).id
            }
            let expected: [(String, Int64)] = [
                ("kiritimati", Self.at("2027-03-27T19:00:00Z")),  // UTC+14
                ("apia", Self.at("2027-03-27T20:00:00Z")),  // UTC+13, west of the date line
                ("tokyo", Self.at("2027-03-28T00:00:00Z")),  // no zone, no country: the organisation's
                ("kolkata", Self.at("2027-03-28T03:30:00Z")),  // UTC+05:30
                ("kolkata2", Self.at("2027-03-28T03:30:00Z")),  // its zone field wins over its country
                ("berlin", Self.at("2027-03-28T07:00:00Z")),  // by country name, in summer time
                ("berlin2", Self.at("2027-03-28T07:00:00Z")),  // by country code
                ("london", Self.at("2027-03-28T08:00:00Z")),
                ("newyork", Self.at("2027-03-28T13:00:00Z")),
                ("pagopago", Self.at("2027-03-28T20:00:00Z")),  // UTC-11, east of the date line
            ]
            let ids = [
                try await person("kiritimati", zone: "Pacific/Kiritimati"), try await person("apia", zone: "Pacific/Apia"),
                try await person("tokyo"), try await person("kolkata", zone: "Asia/Kolkata"),
                try await person("kolkata2", zone: "Asia/Kolkata", country: "Germany"), try await person("berlin", country: "Germany"),
                try await person("berlin2", country: "de"), try await person("london", zone: "Europe/London"),
                try await person("newyork", country: "United States"), try await person("pagopago", zone: "Pacific/Pago_Pago"),
            ]
            let draft = MassEmailDraft(name: "Good morning", recipients: .records(ids), templateID: h.template.id, senderID: h.sender.id,
                                       schedule: .localTime(date: LocalDate(year: 2027, month: 3, day: 28)!, hour: 9, minute: 0, ifPassed: .nextDay))
            let m = try await h.store.massEmails.create(draft, in: contacts, owner: h.admin.id,
                                                        now: Date(timeIntervalSince1970: TimeInterval(clock.now())))
            #expect(m.scheduledAt == Self.at("2027-03-27T19:00:00Z"))
            #expect(m.localDelivery?.ifPassed == .nextDay)
            #expect(try await h.delivery.scheduler.tick() == m.scheduledAt)
            // Before it starts, the page can say how many will go when.
            let expectedSends = try await h.delivery.scheduler.plannedSends(m)
            #expect(expectedSends.expected)
            #expect(expectedSends.sends.map(\.at) == Set(expected.map(\.1)).sorted())
            #expect(expectedSends.sends.map(\.messages) == [1, 1, 1, 2, 2, 1, 1, 1])

            func tick() async throws {
                try await h.delivery.scheduler.tick()
                await h.delivery.scheduler.settle()
                await h.delivery.engine.wake()
            }
            var delivered = 0
            for instant in Set(expected.map(\.1)).sorted() {
                let group = Set(expected.filter { $0.1 == instant }.map { "\($0.0)@example.org" })
                clock.advance(by: instant - clock.now() - 1)
                try await tick()
                // A jump of the clock holds the engine until its next heartbeat (each second);
                // then it polls every 20 ms, and must still find nothing due.
                try await Task.sleep(for: .milliseconds(1300))
                await h.delivery.engine.wake()
                try await Task.sleep(for: .milliseconds(100))
                #expect(h.inbox.count == delivered, "nothing of \(group) before its time")
                clock.advance(by: 1)
                try await tick()
                // Arrived, and their outcomes written, before the clock moves on.
                try await h.eventually("\(group) arrive") {
                    let sent = try await h.store.massEmails.figures([m.id])[m.id]?[.sent] ?? 0
                    return h.inbox.count >= delivered + group.count && sent >= delivered + group.count
                }
                let arrived = h.inbox.deliveries.dropFirst(delivered).map(\.to)
                #expect(Set(arrived) == group)
                #expect(arrived.count == group.count)
                delivered += group.count
            }
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            #expect(h.inbox.count == expected.count)
            #expect(Set(h.inbox.deliveries.map(\.to)).count == expected.count)  // none twice

            let rows = try await h.store.messages.page(massEmail: m.id)
            for (name, instant) in expected {
                #expect(rows.first { $0.address == "\(name)@example.org" }?.sentAt == instant, "\(name)")
            }
            let planned = try await h.store.messages.plannedSends(massEmail: m.id)
            #expect(planned.map(\.at) == Set(expected.map(\.1)).sorted())
            #expect(planned.map(\.messages).reduce(0, +) == expected.count)
            #expect(planned.allSatisfy { $0.waiting == 0 })
        }
    }

    @Test func whereNineHadPassedWhenSavedItGoesTheNextDayOrAtOnce() async throws {
        // Saved at 02:00 UTC on the 28th: 09:00 has passed in Tokyo, not yet in Kolkata.
        let clock = TestClock(Self.at("2027-03-28T02:00:00Z"))
        try await EngineHarness.with(.sqlite, clock: clock) { h in
            _ = try await h.store.modules.addField(Field(apiName: "time_zone", label: "Time Zone", type: .timeZone), to: "contacts")
            let contacts = try await h.store.modules.named("contacts")
            var ids: [Int64] = []
            for (name, zone) in [("tokyo", "Asia/Tokyo"), ("kolkata", "Asia/Kolkata")] {
                ids.append(try await h.store.records.create(in: contacts, RecordChanges([
                    "first_name": .text(name), "last_name": .text("P"), "owner": .reference(h.admin.id),
                    "email": .text("\(name)@example.org"), "time_zone": .text(zone),
                ]), owner: h.admin.id).id)
            }
            let date = LocalDate(year: 2027, month: 3, day: 28)!
            for (choice, tokyo) in [(LocalDelivery.IfPassed.nextDay, Self.at("2027-03-29T00:00:00Z")),
                                    (.sendAtOnce, Self.at("2027-03-28T02:00:00Z"))] {
                let draft = MassEmailDraft(name: "Morning \(choice)", recipients: .records(ids), templateID: h.template.id, senderID: h.sender.id,
                                           schedule: .localTime(date: date, hour: 9, minute: 0, ifPassed: choice))
                let m = try await h.store.massEmails.create(draft, in: contacts, owner: h.admin.id,
                                                            now: Date(timeIntervalSince1970: TimeInterval(clock.now())))
                #expect(m.scheduledAt == clock.now())  // some zones have passed: it starts at once
                try await h.delivery.scheduler.tick()
                await h.delivery.scheduler.settle()
                let planned = try await h.store.messages.plannedSends(massEmail: m.id)
                #expect(Set(planned.map(\.at)) == [tokyo, Self.at("2027-03-28T03:30:00Z")], "\(choice)")
            }
        }
    }

    @Test func theDailyQuotaStillHoldsAndWhatItDefersKeepsItsPlace() async throws {
        // The organisation's day is Tokyo's, with room for two messages.
        let clock = TestClock(Self.at("2027-03-27T12:00:00Z"))
        try await EngineHarness.with(.sqlite, clock: clock) { h in
            try await h.store.settings.set(SettingsStore.organisationTimeZone, to: "Asia/Tokyo")
            try await h.store.settings.setDailyQuota(2)
            _ = try await h.store.modules.addField(Field(apiName: "time_zone", label: "Time Zone", type: .timeZone), to: "contacts")
            let contacts = try await h.store.modules.named("contacts")
            var ids: [Int64] = []
            for (name, zone) in [("k1", "Pacific/Kiritimati"), ("k2", "Pacific/Kiritimati"), ("k3", "Pacific/Kiritimati"),
                                 ("b1", "Europe/Berlin"), ("b2", "Europe/Berlin")] {
                ids.append(try await h.store.records.create(in: contacts, RecordChanges([
                    "first_name": .text(name), "last_name": .text("P"), "owner": .reference(h.admin.id),
                    "email": .text("\(name)@example.org"), "time_zone": .text(zone),
                ]), owner: h.admin.id).id)
            }
            let draft = MassEmailDraft(name: "Paced", recipients: .records(ids), templateID: h.template.id, senderID: h.sender.id,
                                       schedule: .localTime(date: LocalDate(year: 2027, month: 3, day: 28)!, hour: 9, minute: 0, ifPassed: .sendAtOnce))
            let m = try await h.store.massEmails.create(draft, in: contacts, owner: h.admin.id,
                                                        now: Date(timeIntervalSince1970: TimeInterval(clock.now())))
            func tick() async throws {
                try await h.delivery.scheduler.tick()
                await h.delivery.scheduler.settle()
                await h.delivery.engine.wake()
            }
            // 09:00 in Kiritimati (04:00 on the 28th in Tokyo): two of its three go; the quota keeps the third.
            clock.advance(by: Self.at("2027-03-27T19:00:00Z") - clock.now())
            try await tick()
            try await h.eventually("the day's quota is used") { h.inbox.count == 2 }
            // 09:00 in Berlin, the same day in Tokyo: nothing more.
            clock.advance(by: Self.at("2027-03-28T07:00:00Z") - clock.now())
            try await tick()
            try await Task.sleep(for: .milliseconds(1500))
            await h.delivery.engine.wake()
            try await Task.sleep(for: .milliseconds(200))
            #expect(h.inbox.count == 2)
            // Midnight in Tokyo: the next day's two are the deferred Kiritimati message and one of
            // Berlin's (one batch, so in either order); the other Berlin one waits a day more.
            clock.advance(by: Self.at("2027-03-28T15:00:00Z") - clock.now())
            try await tick()
            try await h.eventually("the next day's quota is used") { h.inbox.count == 4 }
            let kiritimati: Set = ["k1@example.org", "k2@example.org", "k3@example.org"]
            let order = h.inbox.deliveries.map(\.to)
            #expect(Set(order.prefix(2)).isSubset(of: kiritimati))
            #expect(kiritimati.isSubset(of: Set(order.prefix(4))))
            clock.advance(by: 86_400)
            try await tick()
            try await h.eventually("the mass email is sent") { try await h.status(m.id) == .sent }
            #expect(Set(h.inbox.deliveries.map(\.to)).count == 5)
            #expect(h.inbox.deliveries.last?.to.hasPrefix("b") == true)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aMassEmailOnDealsTakesEachDealsContactsZone(kind: DatabaseKind) async throws {
        let clock = TestClock(Self.at("2027-03-27T12:00:00Z"))
        try await EngineHarness.with(kind, clock: clock) { h in
            _ = try await h.store.modules.addField(Field(apiName: "time_zone", label: "Time Zone", type: .timeZone), to: "contacts")
            let contacts = try await h.store.modules.named("contacts")
            let deals = try await h.store.modules.named("deals")
            var dealIDs: [Int64] = []
            for (name, values) in [("kolkata", ["time_zone": FieldValue.text("Asia/Kolkata")]), ("berlin", ["mailing_country": .text("Germany")])] {
                var fields: [String: FieldValue?] = ["first_name": .text(name), "last_name": .text("P"), "owner": .reference(h.admin.id),
                                                     "email": .text("\(name)@example.org")]
                for (key, value) in values { fields[key] = value }
                let contact = try await h.store.records.create(in: contacts, RecordChanges(fields), owner: h.admin.id).id
                dealIDs.append(try await h.store.records.create(in: deals, RecordChanges([
                    "deal_name": .text("Deal with \(name)"), "stage": .text("Qualification"), "contact": .reference(contact),
                    "owner": .reference(h.admin.id),
                ]), owner: h.admin.id).id)
            }
            let template = try await h.store.templates.create(in: deals, name: "Deal news", subject: "About {{deal_name}}",
                                                              html: "<p>News</p>", text: nil, by: h.admin.id)
            let m = try await h.store.massEmails.create(
                MassEmailDraft(name: "Deals, locally", recipients: .records(dealIDs), templateID: template.id, senderID: h.sender.id,
                               schedule: .localTime(date: LocalDate(year: 2027, month: 3, day: 28)!, hour: 9, minute: 0, ifPassed: .sendAtOnce)),
                in: deals, owner: h.admin.id, now: Date(timeIntervalSince1970: TimeInterval(clock.now())))
            let times = [Self.at("2027-03-28T03:30:00Z"), Self.at("2027-03-28T07:00:00Z")]
            #expect(try await h.delivery.scheduler.plannedSends(m).sends.map(\.at) == times)
            #expect(RecipientZoneFields(deals, source: RecipientAddressSource.of(deals, among: [contacts, deals])).summary
                    == "the Time Zone field of the Contact, else the country in the Mailing Country field of the Contact, else the organisation's time zone")
            clock.advance(by: m.scheduledAt! - clock.now())
            try await h.delivery.scheduler.tick()
            await h.delivery.scheduler.settle()
            let planned = try await h.store.messages.plannedSends(massEmail: m.id)
            #expect(planned.map(\.at) == times)
            #expect(planned.map(\.messages) == [1, 1])
        }
    }
}
