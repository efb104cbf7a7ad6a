import Foundation
import HeraldCore
import Testing

/// "At 09:00 in each recipient's time zone": the instant in each zone, across the date line,
/// a half-hour offset and a daylight-saving change; zones that had passed; where a
/// recipient's zone comes from; and the schedule's checks.
@Suite struct LocalDeliveryTests {
    static func at(_ iso: String) -> Int64 { Int64(ISODateTime.parse(iso)!.timeIntervalSince1970) }
    static func zone(_ name: String) -> TimeZone { TimeZone(identifier: name)! }
    /// Sunday 28 March 2027: Europe's summer time begins at 01:00 UTC.
    static let changeDay = LocalDate(year: 2027, month: 3, day: 28)!

    static func nine(ifPassed: LocalDelivery.IfPassed = .sendAtOnce, savedAt: Int64 = at("2027-03-01T00:00:00Z")) -> LocalDelivery {
        LocalDelivery(date: changeDay, hour: 9, minute: 0, ifPassed: ifPassed, savedAt: savedAt)
    }

    @Test(arguments: [
        ("Pacific/Kiritimati", "2027-03-27T19:00:00Z"),  // UTC+14: the first 09:00 of the day, on the 27th in UTC
        ("Asia/Tokyo", "2027-03-28T00:00:00Z"),
        ("Asia/Kolkata", "2027-03-28T03:30:00Z"),  // UTC+05:30
        ("Europe/Berlin", "2027-03-28T07:00:00Z"),  // already summer time (CEST) by 09:00
        ("Europe/London", "2027-03-28T08:00:00Z"),  // BST
        ("UTC", "2027-03-28T09:00:00Z"),
        ("America/New_York", "2027-03-28T13:00:00Z"),  // EDT since 14 March
        ("Pacific/Pago_Pago", "2027-03-28T20:00:00Z"),  // UTC-11, across the date line from Apia
        ("Pacific/Apia", "2027-03-27T20:00:00Z"),  // UTC+13: the same wall time, a day earlier than Pago Pago
    ])
    func nineOClockFallsOnTheZonesOwnInstant(zone: String, expected: String) {
        #expect(Self.nine().instant(on: Self.changeDay, in: Self.zone(zone)) == Self.at(expected))
        #expect(Self.nine().sendTime(in: Self.zone(zone)) == Self.at(expected))
    }

    @Test func aSkippedTimeIsTakenAfterTheJumpAndARepeatedOneAtItsFirstOccurrence() {
        let berlin = Self.zone("Europe/Berlin")
        let skipped = LocalDelivery(date: Self.changeDay, hour: 2, minute: 30, ifPassed: .sendAtOnce, savedAt: 0)
        #expect(skipped.instant(on: Self.changeDay, in: berlin) == Self.at("2027-03-28T03:30:00+02:00"))
        let autumn = LocalDate(year: 2027, month: 10, day: 31)!
        let repeated = LocalDelivery(date: autumn, hour: 2, minute: 30, ifPassed: .sendAtOnce, savedAt: 0)
        #expect(repeated.instant(on: autumn, in: berlin) == Self.at("2027-10-31T02:30:00+02:00"))
        // The days around a change keep their own offsets.
        #expect(Self.nine().instant(on: Self.changeDay.adding(days: -1), in: berlin) == Self.at("2027-03-27T08:00:00Z"))
    }

    @Test func aZoneWhoseTimeHadPassedWhenSavedGetsItAtOnceOrTheNextDay() {
        let saved = Self.at("2027-03-28T02:00:00Z")  // after 09:00 in Tokyo and Kiritimati, before it in Kolkata
        let atOnce = Self.nine(ifPassed: .sendAtOnce, savedAt: saved)
        #expect(atOnce.sendTime(in: Self.zone("Asia/Tokyo")) == saved)
        #expect(atOnce.sendTime(in: Self.zone("Asia/Kolkata")) == Self.at("2027-03-28T03:30:00Z"))
        let nextDay = Self.nine(ifPassed: .nextDay, savedAt: saved)
        #expect(nextDay.sendTime(in: Self.zone("Asia/Tokyo")) == Self.at("2027-03-29T00:00:00Z"))
        #expect(nextDay.sendTime(in: Self.zone("Pacific/Kiritimati")) == Self.at("2027-03-28T19:00:00Z"))
        #expect(nextDay.sendTime(in: Self.zone("Asia/Kolkata")) == Self.at("2027-03-28T03:30:00Z"))
        // Not passed: the day's own time, whichever the choice.
        #expect(nextDay.sendTime(in: Self.zone("Europe/Berlin")) == Self.at("2027-03-28T07:00:00Z"))
        #expect(atOnce.sendTime(in: Self.zone("Europe/Berlin")) == Self.at("2027-03-28T07:00:00Z"))
    }

    @Test func theSpanRunsFromTheFirstZoneToTheLast() {
        let span = Self.nine().span
        #expect(span.first == Self.at("2027-03-27T19:00:00Z"))  // UTC+14
        #expect(span.last == Self.at("2027-03-28T20:00:00Z"))  // UTC-11 (no one lives in UTC-12)
    }

    @Test func theScheduleStartsAtTheFirstZoneOrAtOnceAndIsRefusedWhenPastEverywhere() throws {
        func draft(_ date: LocalDate, _ hour: Int = 9, _ ifPassed: LocalDelivery.IfPassed = .sendAtOnce) -> MassEmailDraft {
            MassEmailDraft(name: "Local", recipients: .records([1]), templateID: 1, senderID: 1,
                           schedule: .localTime(date: date, hour: hour, minute: 0, ifPassed: ifPassed))
        }
        let early = Date(timeIntervalSince1970: TimeInterval(Self.at("2027-03-20T00:00:00Z")))
        let timing = try draft(Self.changeDay).validate(now: early)
        #expect(timing.scheduledAt == Self.at("2027-03-27T19:00:00Z"))
        #expect(timing.localDelivery == LocalDelivery(date: Self.changeDay, hour: 9, minute: 0, ifPassed: .sendAtOnce,
                                                      savedAt: Self.at("2027-03-20T00:00:00Z")))
        // Saved when some zones have passed 09:00: it starts at once.
        let late = Date(timeIntervalSince1970: TimeInterval(Self.at("2027-03-28T05:00:00Z")))
        #expect(try draft(Self.changeDay, 9, .nextDay).validate(now: late).scheduledAt == Self.at("2027-03-28T05:00:00Z"))
        // Past everywhere, or not a time of day.
        let after = Date(timeIntervalSince1970: TimeInterval(Self.at("2027-03-29T00:00:00Z")))
        #expect(throws: HeraldError.self) { try draft(Self.changeDay).validate(now: after) }
        #expect(throws: HeraldError.self) { try draft(Self.changeDay, 24).validate(now: early) }
    }

    @Test func aRecipientsZoneComesFromTheFieldThenTheCountryThenTheOrganisation() {
        let fallback = Self.zone("Asia/Tokyo")
        #expect(LocalDelivery.zone(field: "Asia/Kolkata", country: "Germany", fallback: fallback).identifier == "Asia/Kolkata")
        #expect(LocalDelivery.zone(field: nil, country: "Germany", fallback: fallback).identifier == "Europe/Berlin")
        #expect(LocalDelivery.zone(field: "", country: "us", fallback: fallback).identifier == "America/New_York")
        #expect(LocalDelivery.zone(field: nil, country: "United Kingdom", fallback: fallback).identifier == "Europe/London")
        #expect(LocalDelivery.zone(field: nil, country: "Korea (South)", fallback: fallback).identifier == "Asia/Seoul")
        #expect(LocalDelivery.zone(field: nil, country: " india ", fallback: fallback).identifier == "Asia/Kolkata")
        #expect(LocalDelivery.zone(field: "Not/AZone", country: "Atlantis", fallback: fallback).identifier == "Asia/Tokyo")
        #expect(LocalDelivery.zone(field: nil, country: nil, fallback: fallback).identifier == "Asia/Tokyo")
    }

    @Test func everyCountryInTheTableHasAZoneHeraldKnows() {
        #expect(CountryTimeZones.table.count > 240)
        for row in CountryTimeZones.table {
            #expect(TimeZone(identifier: row.zone) != nil, "\(row.code) \(row.name): \(row.zone)")
        }
        #expect(Set(CountryTimeZones.table.map(\.code)).count == CountryTimeZones.table.count)
    }

    @Test func aTimeZoneFieldTakesZoneNamesInAnyCaseAndNothingElse() throws {
        let field = Field(apiName: "time_zone", label: "Time Zone", type: .timeZone)
        #expect(try FieldValueParser.parse(.text("europe/berlin"), for: field).get() == .text("Europe/Berlin"))
        #expect(try FieldValueParser.parse(.text("Asia/Kolkata"), for: field).get() == .text("Asia/Kolkata"))
        #expect(try FieldValueParser.parse(.text(""), for: field).get() == nil)
        guard case .failure(let problem) = FieldValueParser.parse(.text("Mars/Olympus"), for: field) else {
            Issue.record("a made-up zone was accepted")
            return
        }
        #expect(problem.field == "time_zone")
        #expect(problem.reason.contains("is not a time zone"))
        if case .success = FieldValueParser.parse(.text("GMT+2"), for: field) { Issue.record("an offset is not a zone name") }
    }
}
