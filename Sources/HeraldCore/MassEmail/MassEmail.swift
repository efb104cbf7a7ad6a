import Foundation

/// A mass email: one template sent from one sender to the recipients of a module, now or
/// at a scheduled time.
public struct MassEmail: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable, Codable {
        case draft, scheduled, sending, paused, sent, stopped, failed

        /// Whether a user can still change what it sends and to whom.
        public var isEditable: Bool { self == .draft || self == .scheduled }
        /// Whether Stop applies.
        public var isStoppable: Bool { self == .scheduled || self == .sending || self == .paused }
    }

    /// Who receives it; resolved into addresses only when sending starts.
    public enum Recipients: Sendable, Hashable {
        case view(Int64)
        case list(Int64)
        case records([Int64])
        /// Every record of the module that its owner may see ("All Contacts").
        case all
    }

    public var id: Int64
    public var name: String
    /// The module's API name.
    public var module: String
    public var ownerID: Int64
    public var templateID: Int64
    public var senderID: Int64
    public var recipients: Recipients
    public var status: Status
    /// Why it is paused or failed.
    public var statusReason: String?
    /// When it is to start (epoch seconds); nil for a draft.
    public var scheduledAt: Int64?
    /// The time zone the user scheduled in, to show the time as they wrote it.
    public var timeZone: String
    /// Set when it goes at one time of day in each recipient's time zone; ``scheduledAt`` is
    /// then when that time comes in the first zone.
    public var localDelivery: LocalDelivery?
    public var startedAt: Int64?
    public var finishedAt: Int64?
    /// When its recipients were resolved into messages; nil until then.
    public var resolvedAt: Int64?
    /// Records skipped when resolving, by reason.
    public var skipped: [SkipReason: Int]
    public var createdAt: Int64
    public var modifiedAt: Int64
    /// What to do when recipients open, click or bounce.
    public var triggerActions: [TriggerAction]
    /// Whether machines' opens and clicks (privacy proxies, link scanners) fire trigger
    /// actions too; by default only people's do.
    public var triggersOnMachineEvents: Bool
    /// The follow-up emails, in the order they go: follow-up k is step k.
    public var followUps: [FollowUp]
    /// Its A/B test, if it has one.
    public var abTest: ABTest?
    /// When the A/B test's winner is chosen by the rule; set when its test share is drawn.
    public var abDecideAt: Int64?
    /// The A/B test's winner, once chosen.
    public var abDecision: ABDecision?

    public init(id: Int64, name: String, module: String, ownerID: Int64, templateID: Int64, senderID: Int64,
                recipients: Recipients, status: Status, statusReason: String? = nil, scheduledAt: Int64?, timeZone: String,
                localDelivery: LocalDelivery? = nil, startedAt: Int64? = nil, finishedAt: Int64? = nil, resolvedAt: Int64? = nil, skipped: [SkipReason: Int] = [:],
                createdAt: Int64, modifiedAt: Int64, triggerActions: [TriggerAction] = [], triggersOnMachineEvents: Bool = false,
                followUps: [FollowUp] = [], abTest: ABTest? = nil, abDecideAt: Int64? = nil, abDecision: ABDecision? = nil) {
        self.id = id
        self.name = name
        self.module = module
        self.ownerID = ownerID
        self.templateID = templateID
        self.senderID = senderID
        self.recipients = recipients
        self.status = status
        self.statusReason = statusReason
        self.scheduledAt = scheduledAt
        self.timeZone = timeZone
        self.localDelivery = localDelivery
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.resolvedAt = resolvedAt
        self.skipped = skipped
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
        self.triggerActions = triggerActions
        self.triggersOnMachineEvents = triggersOnMachineEvents
        self.followUps = followUps
        self.abTest = abTest
        self.abDecideAt = abDecideAt
        self.abDecision = abDecision
    }
}

/// Why a record of the recipients gets no message.
public enum SkipReason: String, Sendable, CaseIterable, Codable, Hashable {
    case noEmail = "no_email"
    case invalidEmail = "invalid_email"
    case optedOut = "opted_out"
    case suppressed
    /// Another record with the same address already gets it.
    case duplicate

    public var label: String {
        switch self {
        case .noEmail: "No email address"
        case .invalidEmail: "Invalid email address"
        case .optedOut: "Opted out"
        case .suppressed: "On the suppression list"
        case .duplicate: "Duplicate address"
        }
    }
}

/// What a user asks for when creating or editing a mass email, checked by ``validate(now:)``.
public struct MassEmailDraft: Sendable, Hashable {
    public enum Schedule: Sendable, Hashable {
        /// Saved, not sent.
        case draft
        /// Starts at once.
        case now
        /// Starts at this wall-clock time in the named zone.
        case at(date: LocalDate, hour: Int, minute: Int, timeZone: String)
        /// Goes at this time of day on this date in each recipient's own time zone.
        case localTime(date: LocalDate, hour: Int, minute: Int, ifPassed: LocalDelivery.IfPassed)
    }

    /// A checked schedule: when it starts and in what zone it was written (UTC for each
    /// recipient's own zone).
    public struct Timing: Sendable, Hashable {
        /// When it starts (epoch seconds); nil for a draft.
        public var scheduledAt: Int64?
        public var timeZone: String
        public var localDelivery: LocalDelivery?
    }

    public var name: String
    public var recipients: MassEmail.Recipients
    public var templateID: Int64
    public var senderID: Int64
    public var schedule: Schedule
    public var triggerActions: [TriggerAction]
    public var triggersOnMachineEvents: Bool
    public var followUps: [FollowUp]
    public var abTest: ABTest?

    public init(name: String, recipients: MassEmail.Recipients, templateID: Int64, senderID: Int64, schedule: Schedule,
                triggerActions: [TriggerAction] = [], triggersOnMachineEvents: Bool = false, followUps: [FollowUp] = [],
                abTest: ABTest? = nil) {
        self.name = name
        self.recipients = recipients
        self.templateID = templateID
        self.senderID = senderID
        self.schedule = schedule
        self.triggerActions = triggerActions
        self.triggersOnMachineEvents = triggersOnMachineEvents
        self.followUps = followUps
        self.abTest = abTest
    }

    public static let maxNameLength = 200
    /// Selected records are kept in the mass email itself; beyond this, use a view or a list.
    public static let maxSelectedRecords = 10_000

    /// What is wrong with `name` as a mass email's name, or nil: checked with the input's other
    /// fields (so that a form lists it with them) and again here.
    public static func nameProblem(_ name: String) -> String? {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return "is required" }
        if trimmed.count > maxNameLength { return "must be at most \(maxNameLength) characters" }
        return nil
    }

    /// When it starts, or the problems: an empty name, no records, an unknown time zone, a
    /// time that does not exist or is in the past (for each recipient's own zone: past in
    /// every zone).
    public func validate(now: Date) throws -> Timing {
        var problems = ProblemList()
        if let problem = Self.nameProblem(name) { problems.add("name", problem) }
        if case .records(let ids) = recipients {
            if ids.isEmpty { problems.add("recipients.record_ids", "select at least one record") }
            if ids.count > Self.maxSelectedRecords {
                problems.add("recipients.record_ids", "at most \(Self.maxSelectedRecords) selected records; use a view or a static list for more")
            }
        }
        if let abTest {
            problems.add(contentsOf: abTest.problems())
            if case .localTime = schedule {
                problems.add("ab_test", "an A/B test cannot be sent in each recipient's time zone; choose a start time instead")
            }
        }
        var result = Timing(scheduledAt: nil, timeZone: "UTC")
        switch schedule {
        case .draft:
            break
        case .now:
            result.scheduledAt = WallClock.epochSeconds(now)
        case .localTime(let date, let hour, let minute, let ifPassed):
            guard (0...23).contains(hour), (0...59).contains(minute) else {
                problems.add("schedule.time", "must be a time of day, HH:MM")
                break
            }
            let saved = WallClock.epochSeconds(now)
            let local = LocalDelivery(date: date, hour: hour, minute: minute, ifPassed: ifPassed, savedAt: saved)
            let span = local.span
            if span.last < saved - 60 {
                problems.add("schedule.date", "\(date) \(local.timeText) has passed in every time zone")
                break
            }
            result = Timing(scheduledAt: max(span.first, saved), timeZone: "UTC", localDelivery: local)
        case .at(let date, let hour, let minute, let zoneName):
            guard let zone = TimeZone(identifier: zoneName) else {
                problems.add("schedule.time_zone", "'\(zoneName)' is not a time zone (use a name such as Europe/Berlin)")
                break
            }
            guard (0...23).contains(hour), (0...59).contains(minute) else {
                problems.add("schedule.time", "must be a time of day, HH:MM")
                break
            }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let components = DateComponents(year: date.year, month: date.month, day: date.day, hour: hour, minute: minute)
            guard let instant = calendar.date(from: components),
                  calendar.component(.hour, from: instant) == hour, calendar.component(.minute, from: instant) == minute else {
                problems.add("schedule.time", "\(date) \(Self.twoDigits(hour)):\(Self.twoDigits(minute)) does not exist in \(zoneName) (a daylight-saving change)")
                break
            }
            if instant < now.addingTimeInterval(-60) {
                problems.add("schedule.at", "\(date) \(Self.twoDigits(hour)):\(Self.twoDigits(minute)) \(zoneName) is in the past")
            }
            result = Timing(scheduledAt: WallClock.epochSeconds(instant), timeZone: zoneName)
        }
        try problems.check()
        return result
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
