import Foundation

/// The days and hours a follow-up may go out, in the organisation's time zone: for example
/// Monday to Friday from 09:00 to 17:00.
public struct SendingWindow: Sendable, Hashable, Codable {
    /// ISO weekdays: 1 is Monday, 7 is Sunday.
    public var weekdays: Set<Int>
    /// Minutes after midnight at which the window opens, and at which it closes (exclusive).
    public var from: Int
    public var to: Int

    public init(weekdays: Set<Int>, from: Int, to: Int) {
        self.weekdays = weekdays
        self.from = from
        self.to = to
    }

    public static let weekdayNames = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    func problems(path: String) -> [Problem] {
        var problems = ProblemList()
        if weekdays.isEmpty { problems.add("\(path).weekdays", "choose at least one day") }
        if !weekdays.allSatisfy({ (1...7).contains($0) }) { problems.add("\(path).weekdays", "days are 1 (Monday) to 7 (Sunday)") }
        let minutes = 0...(24 * 60)
        if !minutes.contains(from) { problems.add("\(path).from", "must be a time of day, HH:MM") }
        if !minutes.contains(to) { problems.add("\(path).to", "must be a time of day, HH:MM, or 24:00") }
        if minutes.contains(from), minutes.contains(to), from >= to {
            problems.add("\(path).to", "must be after \(Self.clock(from)); a window does not span midnight")
        }
        return problems.problems
    }

    /// `instant` if it is inside the window, otherwise the window's next opening.
    ///
    /// A local time that a daylight-saving change skips is taken as the first instant after
    /// the gap, as Foundation's calendar resolves it.
    public func nextOpening(atOrAfter instant: Date, zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var day = LocalDate(instant, in: zone)
        // Eight days reach every weekday again; an empty set (refused when saved) sends at once.
        for _ in 0..<8 {
            if weekdays.contains(Self.isoWeekday(day)) {
                let opening = at(day, minutes: from, calendar: calendar)
                let closing = at(day, minutes: to, calendar: calendar)
                if instant < opening { return opening }
                if instant < closing { return instant }
            }
            day = day.adding(days: 1)
        }
        return instant
    }

    private func at(_ day: LocalDate, minutes: Int, calendar: Calendar) -> Date {
        if minutes >= 24 * 60 { return day.adding(days: 1).startOfDay(in: calendar.timeZone) }
        return calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day,
                                                  hour: minutes / 60, minute: minutes % 60))!
    }

    /// 1 for Monday … 7 for Sunday.
    static func isoWeekday(_ day: LocalDate) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let weekday = calendar.component(.weekday, from: day.startOfDay(in: calendar.timeZone))  // 1 is Sunday
        return (weekday + 5) % 7 + 1
    }

    /// "09:00".
    public static func clock(_ minutes: Int) -> String {
        String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    /// Reads "09:30" (and "24:00" for the end of the day) as minutes after midnight.
    public static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              let h = Int(parts[0]), let m = Int(parts[1]), (0...59).contains(m), (0...24).contains(h),
              h < 24 || m == 0 else { return nil }
        return h * 60 + m
    }

    /// "Mon, Tue, Wed, Thu, Fri 09:00–17:00".
    public var summary: String {
        let days = weekdays.sorted().compactMap { (1...7).contains($0) ? Self.weekdayNames[$0 - 1].prefix(3).capitalized : nil }
        return "\(days.joined(separator: ", ")) \(Self.clock(from))–\(Self.clock(to))"
    }
}
