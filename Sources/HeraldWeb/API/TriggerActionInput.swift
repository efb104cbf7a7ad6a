import HeraldCore

/// Reads and writes a mass email's `trigger_actions` in the API's JSON:
///
/// ```json
/// [{"event": "opened", "action": "update_field", "field": "lead_status", "value": "Contacted"},
///  {"event": "clicked", "action": "add_task", "subject": "Call back", "due_in_days": 2,
///   "status": "not_started", "priority": "high", "assignee": "record_owner"},
///  {"event": "opened", "action": "schedule_call", "subject": "Intro", "owner": 3, "start_after_minutes": 60}]
/// ```
/// A task is due on `due_date` or `due_in_days` after the event; a call starts at `start_at` or
/// `start_after_minutes` after it; an assignee or owner is a user id or `"record_owner"`.
/// Whether the field, the value and the users make sense is checked with the rest of the mass
/// email (``TriggerAction/problems(_:module:userIDs:)``).
enum TriggerActionInput {
    static let recordOwner = "record_owner"

    /// The actions under `trigger_actions`, with every problem noted in `reader`.
    static func parse(_ reader: inout JSONObjectReader) -> [TriggerAction] {
        switch reader.raw("trigger_actions") {
        case nil, .null?:
            return []
        case .array(let items)?:
            var actions: [TriggerAction] = []
            for (i, item) in items.enumerated() {
                let path = "trigger_actions[\(i)]"
                guard var r = try? JSONObjectReader(item, path: path) else {
                    reader.add(path, "must be an object, not \(item.typeName)")
                    continue
                }
                if let action = parse(one: &r) { actions.append(action) }
                reader.absorb(r)
            }
            return actions
        case let other?:
            reader.add("trigger_actions", "must be a list, not \(other.typeName)")
            return []
        }
    }

    static func parse(one r: inout JSONObjectReader) -> TriggerAction? {
        let event: TriggerAction.Event? = r.choice("event", required: true)
        var effect: TriggerAction.Effect?
        switch r.string("action", required: true) {
        case "update_field"?:
            let field = r.string("field", required: true)
            if !r.has("value") { r.add("value", "is required (null clears the field)") }
            if let field { effect = .updateField(field: field, value: r.raw("value") ?? .null) }
        case "add_task"?:
            let subject = r.string("subject", required: true)
            let date = r.date("due_date")
            let days = r.int("due_in_days", range: 0...Int64(TriggerAction.maxDaysAfter))
            var due: TriggerAction.DueDate?
            if let date, days == nil { due = .on(date) }
            if let days, date == nil { due = .daysAfterEvent(Int(days)) }
            if due == nil, !r.allProblems.contains(where: { $0.field.hasSuffix(".due_date") || $0.field.hasSuffix(".due_in_days") }) {
                r.add("due_date", "give either due_date (YYYY-MM-DD) or due_in_days (days after the event)")
            }
            let status: CRMTask.Status? = r.choice("status")
            let priority: CRMTask.Priority? = r.choice("priority")
            let assignee = person(&r, "assignee")
            if let subject, let due, let assignee {
                effect = .addTask(subject: subject, due: due, status: status ?? .notStarted, priority: priority ?? .normal, assignee: assignee)
            }
        case "schedule_call"?:
            let subject = r.string("subject", required: true)
            let at = r.dateTime("start_at")
            let minutes = r.int("start_after_minutes", range: 0...Int64(TriggerAction.maxMinutesAfter))
            var start: TriggerAction.StartTime?
            if let at, minutes == nil { start = .at(at) }
            if let minutes, at == nil { start = .minutesAfterEvent(Int(minutes)) }
            if start == nil, !r.allProblems.contains(where: { $0.field.hasSuffix(".start_at") || $0.field.hasSuffix(".start_after_minutes") }) {
                r.add("start_at", "give either start_at (ISO 8601) or start_after_minutes (minutes after the event)")
            }
            let owner = person(&r, "owner")
            if let subject, let start, let owner { effect = .scheduleCall(subject: subject, owner: owner, start: start) }
        case let other?:
            r.add("action", "'\(other)' is not one of update_field, add_task, schedule_call")
        case nil:
            break
        }
        guard let event, let effect else { return nil }
        return TriggerAction(event: event, effect: effect)
    }

    /// A user id, or "record_owner".
    static func person(_ r: inout JSONObjectReader, _ key: String) -> TriggerAction.Person? {
        switch r.raw(key) {
        case .string(recordOwner)?: return .recordOwner
        case .number(let d)? where d.rounded() == d && d > 0 && d < 9e15: return .user(Int64(d))
        case nil, .null?: r.add(key, "is required: a user id or \"\(recordOwner)\""); return nil
        case let other?: r.add(key, "must be a user id or \"\(recordOwner)\", not \(other.typeName == "a string" ? "'\(other.stringValue ?? "")'" : other.typeName)"); return nil
        }
    }

    /// An action as the API returns it (the same shape it reads).
    static func json(_ action: TriggerAction) -> JSONValue {
        func person(_ p: TriggerAction.Person) -> JSONValue {
            switch p {
            case .user(let id): .number(Double(id))
            case .recordOwner: .string(recordOwner)
            }
        }
        var o: [String: JSONValue] = ["event": .string(action.event.rawValue), "action": .string(action.effect.name)]
        switch action.effect {
        case .updateField(let field, let value):
            o["field"] = .string(field)
            o["value"] = value
        case .addTask(let subject, let due, let status, let priority, let assignee):
            o["subject"] = .string(subject)
            switch due {
            case .on(let date): o["due_date"] = .string(date.description)
            case .daysAfterEvent(let n): o["due_in_days"] = .number(Double(n))
            }
            o["status"] = .string(status.rawValue)
            o["priority"] = .string(priority.rawValue)
            o["assignee"] = person(assignee)
        case .scheduleCall(let subject, let owner, let start):
            o["subject"] = .string(subject)
            switch start {
            case .at(let t): o["start_at"] = .string(ISODateTime.format(epochSeconds: t))
            case .minutesAfterEvent(let n): o["start_after_minutes"] = .number(Double(n))
            }
            o["owner"] = person(owner)
        }
        return .object(o)
    }
}
