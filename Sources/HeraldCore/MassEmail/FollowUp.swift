import Foundation

/// A follow-up email of a mass email (SPEC §4): another template of the same module, sent
/// some time after the mass email finished sending (or after the previous follow-up) to the
/// recipients who got the mass email, minus those its exclusion criteria rule out then.
///
/// ```swift
/// FollowUp(templateID: 7, delay: .days(3), exclusions: .init(match: .any, rules: [.engagement(.opened), .engagement(.replied)]),
///          threaded: true)
/// ```
/// Follow-up k (counting from 1, in the order of ``MassEmail/followUps``) goes out as the
/// mass email's step k messages.
public struct FollowUp: Sendable, Hashable, Codable {
    /// How long after its starting point a follow-up is due.
    public struct Delay: Sendable, Hashable, Codable {
        public enum Unit: String, Sendable, Hashable, Codable, CaseIterable {
            case hours, days
        }

        public var amount: Int
        public var unit: Unit

        public init(amount: Int, unit: Unit) {
            self.amount = amount
            self.unit = unit
        }

        public static func hours(_ n: Int) -> Delay { Delay(amount: n, unit: .hours) }
        public static func days(_ n: Int) -> Delay { Delay(amount: n, unit: .days) }

        /// "3 days", "1 hour".
        public var text: String { "\(amount) \(amount == 1 ? String(unit.rawValue.dropLast()) : unit.rawValue)" }
    }

    /// What the delay is counted from.
    public enum Anchor: String, Sendable, Hashable, Codable, CaseIterable {
        /// When the mass email finished sending.
        case massEmail = "mass_email"
        /// When the previous follow-up fired.
        case previousFollowUp = "previous_follow_up"
    }

    public var templateID: Int64
    public var delay: Delay
    public var after: Anchor
    /// When set, the follow-up goes only inside the window; a due time outside it moves to
    /// the window's next opening.
    public var window: SendingWindow?
    public var exclusions: FollowUpExclusions
    /// Sent as a reply to the recipient's original message: `In-Reply-To` and `References`
    /// name its Message-ID, and the subject reads "Re: " and the original subject.
    public var threaded: Bool

    public init(templateID: Int64, delay: Delay, after: Anchor = .massEmail, window: SendingWindow? = nil,
                exclusions: FollowUpExclusions = .none, threaded: Bool = false) {
        self.templateID = templateID
        self.delay = delay
        self.after = after
        self.window = window
        self.exclusions = exclusions
        self.threaded = threaded
    }

    /// At most this many follow-ups a mass email (the issue asks for at least five).
    public static let maxCount = 10
    /// A delay reaches at most a year.
    public static let maxDelayHours = 366 * 24
    public static let maxDelayDays = 366

    /// Every problem with `followUps` on a mass email of `module`, each with its path
    /// (`follow_ups[1].delay`): the template must be one of `templateIDs` (the module's), the
    /// delay positive and at most a year, the first follow-up counted from the mass email, the
    /// window sensible, and the field conditions must fit the module's fields.
    public static func problems(_ followUps: [FollowUp], module: Module, templateIDs: Set<Int64>) -> [Problem] {
        var problems = ProblemList()
        if followUps.count > maxCount { problems.add("follow_ups", "at most \(maxCount) follow-ups") }
        for (i, followUp) in followUps.enumerated() {
            let path = "follow_ups[\(i)]"
            if !templateIDs.contains(followUp.templateID) {
                problems.add("\(path).template_id", "no template \(followUp.templateID) in module \(module.pluralLabel)")
            }
            let limit = followUp.delay.unit == .hours ? maxDelayHours : maxDelayDays
            if !(1...limit).contains(followUp.delay.amount) {
                problems.add("\(path).delay", "must be from 1 to \(limit) \(followUp.delay.unit.rawValue)")
            }
            if i == 0, followUp.after == .previousFollowUp {
                problems.add("\(path).after", "the first follow-up has no previous one; count it from the mass email")
            }
            if let window = followUp.window {
                problems.add(contentsOf: window.problems(path: "\(path).window"))
            }
            problems.add(contentsOf: followUp.exclusions.problems(in: module, path: "\(path).exclude"))
        }
        return problems.problems
    }

    /// When follow-up `index` (0 for the first) of `followUps` is due, in epoch seconds: its
    /// delay after the mass email's finish or after the previous follow-up fired, moved into
    /// its window. Nil while what it counts from has not happened yet.
    ///
    /// Days are calendar days in `zone` (3 days after 10:00 is 10:00, across a daylight-saving
    /// change too); hours are elapsed hours.
    public static func dueAt(_ index: Int, of followUps: [FollowUp], massEmailFinishedAt: Int64?,
                             previousFiredAt: Int64?, zone: TimeZone) -> Int64? {
        let followUp = followUps[index]
        let start = index > 0 && followUp.after == .previousFollowUp ? previousFiredAt : massEmailFinishedAt
        guard let start else { return nil }
        return followUp.dueAt(after: start, zone: zone)
    }

    /// Its delay after `start` (epoch seconds), moved into its window.
    public func dueAt(after start: Int64, zone: TimeZone) -> Int64 {
        let instant = Date(timeIntervalSince1970: TimeInterval(start))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let due: Date = switch delay.unit {
        case .hours: instant.addingTimeInterval(TimeInterval(delay.amount) * 3600)
        case .days: calendar.date(byAdding: .day, value: delay.amount, to: instant)!
        }
        let opened = window?.nextOpening(atOrAfter: due, zone: zone) ?? due
        return Int64(opened.timeIntervalSince1970.rounded(.down))
    }

    /// The follow-up in words: "3 days after sending, template “Reminder”, weekdays 09:00–17:00,
    /// not to those who opened or replied".
    public func summary(in module: Module, templateName: String) -> String {
        var parts = ["\(delay.text) after \(after == .massEmail ? "sending" : "the previous follow-up")", "template “\(templateName)”"]
        if let window { parts.append(window.summary) }
        if !exclusions.rules.isEmpty { parts.append("not to those who \(exclusions.summary(in: module))") }
        if threaded { parts.append("as a reply") }
        return parts.joined(separator: ", ")
    }
}

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

/// Who a follow-up leaves out: recipients matching all (or any) of the rules. No rules leave
/// out nobody.
///
/// Those who bounced, unsubscribed, opted out or are suppressed never get a follow-up,
/// whatever the rules say.
public struct FollowUpExclusions: Sendable, Hashable, Codable {
    public enum Match: String, Sendable, Hashable, Codable, CaseIterable {
        case all, any
    }

    /// What a recipient did with any message of the mass email so far (the mass email's or
    /// an earlier follow-up's), as of when the follow-up fires.
    public enum Engagement: String, Sendable, Hashable, Codable, CaseIterable {
        case opened
        case notOpened = "not_opened"
        case clicked
        case notClicked = "not_clicked"
        case replied
        /// Any bounce report, a soft one included (a hard bounce is always left out anyway).
        case bounced
        case unsubscribed

        /// As it reads after "not to those who": "opened", "did not click".
        public var phrase: String {
            switch self {
            case .opened: "opened"
            case .notOpened: "did not open"
            case .clicked: "clicked"
            case .notClicked: "did not click"
            case .replied: "replied"
            case .bounced: "bounced"
            case .unsubscribed: "unsubscribed"
            }
        }
    }

    public enum Rule: Sendable, Hashable, Codable {
        case engagement(Engagement)
        /// A condition (or a group of them) on the recipient's record, as in a view.
        case field(Criteria)
    }

    public var match: Match
    public var rules: [Rule]

    public init(match: Match, rules: [Rule]) {
        self.match = match
        self.rules = rules
    }

    /// Leaves out nobody.
    public static let none = FollowUpExclusions(match: .any, rules: [])

    /// At most this many rules a follow-up.
    public static let maxRules = 50

    func problems(in module: Module, path: String) -> [Problem] {
        var problems = ProblemList()
        if rules.count > Self.maxRules { problems.add("\(path).rules", "at most \(Self.maxRules) rules") }
        for (i, rule) in rules.enumerated() {
            guard case .field(let criteria) = rule else { continue }
            if case .failure(let error) = criteria.resolve(in: module, path: "\(path).rules[\(i)]") {
                problems.add(contentsOf: error.problems)
            }
        }
        return problems.problems
    }

    /// The rules with their field conditions checked against `module`: what storage compiles.
    public func resolve(in module: Module) -> Result<ResolvedFollowUpExclusions, HeraldError> {
        var resolved: [ResolvedFollowUpExclusions.Rule] = []
        var problems = ProblemList()
        for (i, rule) in rules.enumerated() {
            switch rule {
            case .engagement(let e): resolved.append(.engagement(e))
            case .field(let criteria):
                switch criteria.resolve(in: module, path: "exclude.rules[\(i)]") {
                case .success(let c): resolved.append(.field(c))
                case .failure(let error): problems.add(contentsOf: error.problems)
                }
            }
        }
        if !problems.isEmpty { return .failure(.invalid(problems.problems)) }
        return .success(ResolvedFollowUpExclusions(match: match, rules: resolved))
    }

    /// "opened or replied", "did not click and Country is DE".
    public func summary(in module: Module) -> String {
        rules.map { rule in
            switch rule {
            case .engagement(let e): e.phrase
            case .field(let c): "match “\(c.summary(in: module))”"
            }
        }.joined(separator: match == .all ? " and " : " or ")
    }
}

/// Exclusions whose field conditions fit the module.
public struct ResolvedFollowUpExclusions: Sendable, Hashable {
    public enum Rule: Sendable, Hashable {
        case engagement(FollowUpExclusions.Engagement)
        case field(ResolvedCriteria)
    }

    public var match: FollowUpExclusions.Match
    public var rules: [Rule]

    public init(match: FollowUpExclusions.Match, rules: [Rule]) {
        self.match = match
        self.rules = rules
    }
}

/// Why a recipient of the mass email gets no follow-up, in the order they are counted: a
/// recipient is counted under the first that applies.
public enum FollowUpExclusionReason: String, Sendable, Hashable, Codable, CaseIterable {
    case bounced, unsubscribed
    case optedOut = "opted_out"
    case suppressed
    /// The follow-up's own exclusion rules.
    case criteria
}
