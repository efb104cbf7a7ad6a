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
