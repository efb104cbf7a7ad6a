import Foundation
import HeraldCore
import Testing

@Suite struct FollowUpTests {
    static let berlin = TimeZone(identifier: "Europe/Berlin")!
    static let utc = TimeZone(identifier: "UTC")!
    /// Monday to Friday, 09:00 to 17:00.
    static let office = SendingWindow(weekdays: [1, 2, 3, 4, 5], from: 9 * 60, to: 17 * 60)

    static func at(_ iso: String) -> Int64 { Int64(ISODateTime.parse(iso)!.timeIntervalSince1970) }

    @Test func daysAreCalendarDaysInTheZoneAcrossADaylightSavingChange() {
        // Thursday 22 October 2026, 10:00 in Berlin (CEST); summer time ends on Sunday the 25th.
        let finished = Self.at("2026-10-22T10:00:00+02:00")
        let days = FollowUp(templateID: 1, delay: .days(3))
        #expect(days.dueAt(after: finished, zone: Self.berlin) == Self.at("2026-10-25T10:00:00+01:00"))
        let hours = FollowUp(templateID: 1, delay: .hours(72))
        #expect(hours.dueAt(after: finished, zone: Self.berlin) == Self.at("2026-10-25T09:00:00+01:00"))
    }

    @Test func aDueTimeOutsideTheWindowMovesToItsNextOpening() {
        let twoHours = FollowUp(templateID: 1, delay: .hours(2), window: Self.office)
        // Inside the window it stays.
        #expect(twoHours.dueAt(after: Self.at("2026-11-26T10:00:00+01:00"), zone: Self.berlin) == Self.at("2026-11-26T12:00:00+01:00"))
        // Before the opening it waits for 09:00 the same day.
        #expect(twoHours.dueAt(after: Self.at("2026-11-24T04:00:00+01:00"), zone: Self.berlin) == Self.at("2026-11-24T09:00:00+01:00"))
        // Friday 16:30 + 2 hours is Friday evening: it goes on Monday at 09:00.
        #expect(twoHours.dueAt(after: Self.at("2026-11-27T16:30:00+01:00"), zone: Self.berlin) == Self.at("2026-11-30T09:00:00+01:00"))
        // 17:00 is closed already.
        #expect(twoHours.dueAt(after: Self.at("2026-11-26T15:00:00+01:00"), zone: Self.berlin) == Self.at("2026-11-27T09:00:00+01:00"))
    }

    @Test func aWeekendThatEndsSummerTimeOpensAtNineInWinterTime() {
        // Friday 23 October 2026, 18:00 CEST; the next opening is Monday the 26th, 09:00 CET.
        let oneHour = FollowUp(templateID: 1, delay: .hours(1), window: Self.office)
        let due = oneHour.dueAt(after: Self.at("2026-10-23T18:00:00+02:00"), zone: Self.berlin)
        #expect(due == Self.at("2026-10-26T09:00:00+01:00"))
        #expect(due == Self.at("2026-10-26T08:00:00Z"))
        // The same window in spring: Saturday 28 March 2026 (summer time starts on the 29th).
        let spring = oneHour.dueAt(after: Self.at("2026-03-28T12:00:00+01:00"), zone: Self.berlin)
        #expect(spring == Self.at("2026-03-30T09:00:00+02:00"))
    }

    @Test func aWindowOnTheWeekendOnlyAndToMidnight() {
        let weekend = SendingWindow(weekdays: [6, 7], from: 20 * 60, to: 24 * 60)
        let f = FollowUp(templateID: 1, delay: .hours(1), window: weekend)
        // Wednesday → Saturday 20:00.
        #expect(f.dueAt(after: Self.at("2026-11-25T10:00:00Z"), zone: Self.utc) == Self.at("2026-11-28T20:00:00Z"))
        // Saturday 23:30 is inside (the window closes at midnight).
        #expect(f.dueAt(after: Self.at("2026-11-28T22:30:00Z"), zone: Self.utc) == Self.at("2026-11-28T23:30:00Z"))
    }

    @Test func aFollowUpCountsFromTheMassEmailOrFromThePreviousOne() {
        let followUps = [
            FollowUp(templateID: 1, delay: .days(3)),
            FollowUp(templateID: 2, delay: .hours(24), after: .previousFollowUp),
            FollowUp(templateID: 3, delay: .days(7), after: .massEmail),
        ]
        let finished = Self.at("2026-11-02T08:00:00Z")
        #expect(FollowUp.dueAt(0, of: followUps, massEmailFinishedAt: nil, previousFiredAt: nil, zone: Self.utc) == nil)
        #expect(FollowUp.dueAt(0, of: followUps, massEmailFinishedAt: finished, previousFiredAt: nil, zone: Self.utc) == Self.at("2026-11-05T08:00:00Z"))
        // Not due while the previous one has not fired.
        #expect(FollowUp.dueAt(1, of: followUps, massEmailFinishedAt: finished, previousFiredAt: nil, zone: Self.utc) == nil)
        let fired = Self.at("2026-11-05T08:03:10Z")
        #expect(FollowUp.dueAt(1, of: followUps, massEmailFinishedAt: finished, previousFiredAt: fired, zone: Self.utc) == Self.at("2026-11-06T08:03:10Z"))
        #expect(FollowUp.dueAt(2, of: followUps, massEmailFinishedAt: finished, previousFiredAt: fired, zone: Self.utc) == Self.at("2026-11-09T08:00:00Z"))
    }

    @Test func everyProblemIsReportedAtOnceWithItsPath() {
        let module = BuiltinModules.contacts
        let followUps = [
            FollowUp(templateID: 9, delay: .days(0), after: .previousFollowUp),
            FollowUp(templateID: 1, delay: .hours(9000), window: SendingWindow(weekdays: [], from: 17 * 60, to: 9 * 60)),
            FollowUp(templateID: 1, delay: .days(2), exclusions: FollowUpExclusions(match: .all, rules: [
                .engagement(.opened),
                .field(.condition(field: "shoe_size", op: .equals, value: "44")),
                .field(.all([.condition(field: "mailing_country", op: .greaterThan, value: "DE")])),
            ])),
            FollowUp(templateID: 2, delay: .days(1), after: .previousFollowUp, window: SendingWindow(weekdays: [8], from: 0, to: 60)),
        ]
        let problems = Dictionary(grouping: FollowUp.problems(followUps, module: module, templateIDs: [1, 2]), by: \.field)
            .mapValues { $0.map(\.reason) }
        #expect(Set(problems.keys) == [
            "follow_ups[0].template_id", "follow_ups[0].delay", "follow_ups[0].after",
            "follow_ups[1].delay", "follow_ups[1].window.weekdays", "follow_ups[1].window.to",
            "follow_ups[2].exclude.rules[1].field", "follow_ups[2].exclude.rules[2].all[0].op",
            "follow_ups[3].window.weekdays",
        ])
        #expect(problems["follow_ups[0].template_id"] == ["no template 9 in module Contacts"])
        #expect(problems["follow_ups[0].delay"] == ["must be from 1 to 366 days"])
        #expect(problems["follow_ups[1].delay"] == ["must be from 1 to 8784 hours"])
        #expect(problems["follow_ups[1].window.to"] == ["must be after 17:00; a window does not span midnight"])
        #expect(problems["follow_ups[2].exclude.rules[1].field"] == ["no field 'shoe_size' in module Contacts"])

        let six = Array(repeating: FollowUp(templateID: 1, delay: .days(1)), count: 6)
        #expect(FollowUp.problems(six, module: module, templateIDs: [1]).isEmpty)
        let eleven = Array(repeating: FollowUp(templateID: 1, delay: .days(1)), count: 11)
        #expect(FollowUp.problems(eleven, module: module, templateIDs: [1]).map(\.field) == ["follow_ups"])
    }

    @Test func itRoundTripsAsJSONAndReadsInWords() throws {
        let f = FollowUp(templateID: 4, delay: .days(3), after: .massEmail, window: Self.office,
                         exclusions: FollowUpExclusions(match: .any, rules: [
                             .engagement(.opened), .engagement(.replied),
                             .field(.condition(field: "mailing_country", op: .equals, value: "DE")),
                         ]), threaded: true)
        let again = try JSONDecoder().decode(FollowUp.self, from: JSONEncoder().encode(f))
        #expect(again == f)
        #expect(f.summary(in: BuiltinModules.contacts, templateName: "Reminder")
            == "3 days after sending, template “Reminder”, Mon, Tue, Wed, Thu, Fri 09:00–17:00, "
            + "not to those who opened or replied or match “Mailing Country is DE”, as a reply")
        #expect(FollowUp(templateID: 1, delay: .hours(1), after: .previousFollowUp).summary(in: BuiltinModules.contacts, templateName: "X")
            == "1 hour after the previous follow-up, template “X”")
    }

    @Test func timesOfDayAreReadStrictly() {
        #expect(SendingWindow.minutes("09:30") == 570)
        #expect(SendingWindow.minutes("24:00") == 1440)
        #expect(SendingWindow.minutes("24:01") == nil)
        #expect(SendingWindow.minutes("9:30") == nil)
        #expect(SendingWindow.minutes("09:60") == nil)
    }
}
