/// A follow-up action configured on a mass email (SPEC §3): when a recipient first opens,
/// clicks or bounces, update a field of their record, add a task, or schedule a call.
///
/// ```swift
/// TriggerAction(event: .opened, effect: .addTask(subject: "Call {{name}} back", due: .daysAfterEvent(2),
///               status: .notStarted, priority: .high, assignee: .recordOwner))
/// ```
/// Each action runs once per recipient record, whichever step's message the event came from.
public struct TriggerAction: Sendable, Hashable, Codable {
    /// The events an action can react to.
    public enum Event: String, Sendable, Hashable, CaseIterable, Codable {
        case opened, clicked, bounced

        public init?(_ kind: EngagementEvent.Kind) { self.init(rawValue: kind.rawValue) }

        /// Only a field update makes sense for a bounce: there is nobody to call.
        public var allowsTasksAndCalls: Bool { self != .bounced }
    }

    /// Who a task is assigned to, or who makes a call.
    public enum Person: Sendable, Hashable, Codable {
        case user(Int64)
        /// The owner of the recipient's record when the action runs.
        case recordOwner
    }

    /// A task's due date: a fixed day, or N days after the day of the event in the
    /// organisation's time zone.
    public enum DueDate: Sendable, Hashable, Codable {
        case on(LocalDate)
        case daysAfterEvent(Int)
    }

    /// A call's start: a fixed instant (epoch seconds), or an offset after the event.
    public enum StartTime: Sendable, Hashable, Codable {
        case at(Int64)
        case minutesAfterEvent(Int)
    }

    public enum Effect: Sendable, Hashable, Codable {
        /// Sets a field of the recipient's record; `value` is what the user wrote, checked
        /// against the field's type when the action is saved and again when it runs.
        case updateField(field: String, value: JSONValue)
        case addTask(subject: String, due: DueDate, status: CRMTask.Status, priority: CRMTask.Priority, assignee: Person)
        case scheduleCall(subject: String, owner: Person, start: StartTime)

        /// The name of the kind of action in the API: `update_field`, `add_task`, `schedule_call`.
        public var name: String {
            switch self {
            case .updateField: "update_field"
            case .addTask: "add_task"
            case .scheduleCall: "schedule_call"
            }
        }
    }

    public var event: Event
    public var effect: Effect

    public init(event: Event, effect: Effect) {
        self.event = event
        self.effect = effect
    }

    /// At most this many actions a mass email.
    public static let maxCount = 20
    /// Relative due dates and start times reach at most a year after the event.
    public static let maxDaysAfter = 366
    public static let maxMinutesAfter = 366 * 24 * 60

    /// Every problem with `actions` on a mass email of `module`, each with its path
    /// (`trigger_actions[1].value`): a bounce may only update a field; the field must exist and
    /// be one users may change, and the value must suit its type; users must exist.
    public static func problems(_ actions: [TriggerAction], module: Module, userIDs: Set<Int64>) -> [Problem] {
        var problems = ProblemList()
        if actions.count > maxCount { problems.add("trigger_actions", "at most \(maxCount) actions") }
        for (i, action) in actions.enumerated() {
            let path = "trigger_actions[\(i)]"
            if !action.event.allowsTasksAndCalls, action.effect.name != "update_field" {
                problems.add("\(path).action", "'\(action.event.rawValue)' can only update a field")
            }
            func checkPerson(_ person: Person, _ key: String) {
                if case .user(let id) = person, !userIDs.contains(id) { problems.add("\(path).\(key)", "no user \(id)") }
            }
            func checkSubject(_ subject: String) {
                if let reason = CRMTask.subjectProblem(subject) { problems.add("\(path).subject", reason) }
            }
            switch action.effect {
            case .updateField(let name, let value):
                guard let field = module.field(name) else {
                    problems.add("\(path).field", "no field '\(name)' in module \(module.pluralLabel)")
                    continue
                }
                if field.isSystem {
                    problems.add("\(path).field", "\(field.label) is set by Herald and cannot be changed")
                    continue
                }
                switch FieldValueParser.parse(.json(value), for: field) {
                case .success(nil) where field.isRequired:
                    problems.add("\(path).value", "\(field.label) is required and cannot be cleared")
                case .success(.reference(let id)?) where field.type == .user && !userIDs.contains(id):
                    problems.add("\(path).value", "no user \(id)")
                case .success:
                    break
                case .failure(let problem):
                    problems.add("\(path).value", problem.reason)
                }
            case .addTask(let subject, let due, _, _, let assignee):
                checkSubject(subject)
                if case .daysAfterEvent(let n) = due, !(0...maxDaysAfter).contains(n) {
                    problems.add("\(path).due_in_days", "must be from 0 to \(maxDaysAfter)")
                }
                checkPerson(assignee, "assignee")
            case .scheduleCall(let subject, let owner, let start):
                checkSubject(subject)
                if case .minutesAfterEvent(let n) = start, !(0...maxMinutesAfter).contains(n) {
                    problems.add("\(path).start_after_minutes", "must be from 0 to \(maxMinutesAfter) (a year)")
                }
                checkPerson(owner, "owner")
            }
        }
        return problems.problems
    }

    /// The action in words, for the form's summary and the mass email's page:
    /// "When opened: add the task “Call back”, due 2 days after, High priority, for the record's owner".
    public func summary(in module: Module, userName: (Int64) -> String) -> String {
        func person(_ p: Person) -> String {
            switch p {
            case .user(let id): userName(id)
            case .recordOwner: "the record's owner"
            }
        }
        let what: String
        switch effect {
        case .updateField(let name, let value):
            let field = module.field(name)
            let label = field?.label ?? name
            // A user field's value is an id (from the form, as text): the user's name says more.
            let text: String
            if let field, field.type == .user, case .success(.reference(let id)?) = FieldValueParser.parse(.json(value), for: field) {
                text = userName(id)
            } else {
                text = switch value {
                case .null: ""
                case .string(let s): s
                case .bool(let b): b ? "true" : "false"
                case .number(let d): FieldValue.format(number: d)
                default: "\(value)"
                }
            }
            what = text.isEmpty ? "clear \(label)" : "set \(label) to “\(text)”"
        case .addTask(let subject, let due, let status, let priority, let assignee):
            let when: String = switch due {
            case .on(let date): "due \(date)"
            case .daysAfterEvent(0): "due the same day"
            case .daysAfterEvent(let n): "due \(n) day\(n == 1 ? "" : "s") after"
            }
            what = "add the task “\(subject)”, \(when), \(status.label), \(priority.label) priority, for \(person(assignee))"
        case .scheduleCall(let subject, let owner, let start):
            let when: String = switch start {
            case .at(let t): "at \(ISODateTime.format(epochSeconds: t))"
            case .minutesAfterEvent(let n): "\(Self.offsetText(minutes: n)) after"
            }
            what = "schedule the call “\(subject)” \(when), made by \(person(owner))"
        }
        return "When \(event.rawValue): \(what)"
    }

    /// "2 days", "3 hours", "90 minutes".
    public static func offsetText(minutes n: Int) -> String {
        func plural(_ k: Int, _ unit: String) -> String { "\(k) \(unit)\(k == 1 ? "" : "s")" }
        if n > 0, n % 1440 == 0 { return plural(n / 1440, "day") }
        if n > 0, n % 60 == 0 { return plural(n / 60, "hour") }
        return plural(n, "minute")
    }
}
