import Foundation
import HeraldCore

/// The "Follow-up action" section of the mass email form: one server-rendered row per
/// trigger action, so it works without JavaScript. "Trigger an action" posts the form back
/// with one more row; each row's fields are named `ta<row>_<name>` and turned into the API's
/// `trigger_actions` JSON, so ``MassEmailInput`` checks them like any other part.
enum TriggerActionForm {
    static let fields = ["event", "action", "field", "value", "subject", "call_subject", "due_kind", "due_days", "due_date", "status", "priority",
                         "assignee", "owner", "start_kind", "start_amount", "start_unit", "start_at"]

    /// The rows with an action chosen, renumbered from 0 (a row left empty is dropped), plus an
    /// empty one when `adding`.
    static func rows(_ form: [String: String], adding: Bool, removing: Int? = nil) -> [[String: String]] {
        var rows: [[String: String]] = []
        for i in 0..<TriggerAction.maxCount where i != removing {
            guard let action = form["ta\(i)_action"], !action.isEmpty else { continue }
            var row: [String: String] = [:]
            for name in fields { row[name] = form["ta\(i)_\(name)"] ?? "" }
            rows.append(row)
        }
        if adding && rows.count < TriggerAction.maxCount { rows.append(["event": "opened", "action": ""]) }
        return rows
    }

    /// The rows as the form's flat fields again.
    static func flatten(_ rows: [[String: String]]) -> [String: String] {
        var out: [String: String] = [:]
        for (i, row) in rows.enumerated() { for (k, v) in row { out["ta\(i)_\(k)"] = v } }
        return out
    }

    /// The rows as the API's `trigger_actions`; times are in the user's zone.
    static func json(_ rows: [[String: String]], zone: TimeZone) -> JSONValue {
        .array(rows.map { row -> JSONValue in
            func text(_ key: String) -> String { row[key] ?? "" }
            func person(_ key: String) -> JSONValue {
                if let id = Int64(text(key)) { return .number(Double(id)) }
                return .string(text(key).isEmpty ? TriggerActionInput.recordOwner : text(key))
            }
            func number(_ key: String) -> JSONValue { Double(text(key)).map(JSONValue.number) ?? .string(text(key)) }
            var o: [String: JSONValue] = ["event": .string(text("event")), "action": .string(text("action"))]
            switch text("action") {
            case "update_field":
                o["field"] = .string(text("field"))
                o["value"] = .string(text("value"))
            case "add_task":
                o["subject"] = .string(text("subject"))
                if text("due_kind") == "date" { o["due_date"] = .string(text("due_date")) } else { o["due_in_days"] = number("due_days") }
                o["status"] = .string(text("status").isEmpty ? "not_started" : text("status"))
                o["priority"] = .string(text("priority").isEmpty ? "normal" : text("priority"))
                o["assignee"] = person("assignee")
            case "schedule_call":
                o["subject"] = .string(text("call_subject"))
                if text("start_kind") == "at" {
                    o["start_at"] = .string(LocalTime(zone: zone).parseInput(text("start_at")).map(ISODateTime.format) ?? text("start_at"))
                } else if let amount = Int(text("start_amount")) {
                    let unit = ["hours": 60, "days": 1440][text("start_unit")] ?? 1
                    o["start_after_minutes"] = .number(Double(amount * unit))
                } else {
                    o["start_after_minutes"] = .string(text("start_amount"))
                }
                o["owner"] = person("owner")
            default:
                break
            }
            return .object(o)
        })
    }

    /// A mass email's actions as rows, to edit it.
    static func rows(of actions: [TriggerAction], zone: TimeZone) -> [[String: String]] {
        actions.map { action -> [String: String] in
            var row = ["event": action.event.rawValue, "action": action.effect.name]
            func person(_ p: TriggerAction.Person) -> String {
                if case .user(let id) = p { return String(id) }
                return TriggerActionInput.recordOwner
            }
            switch action.effect {
            case .updateField(let field, let value):
                row["field"] = field
                row["value"] = switch value {
                case .string(let s): s
                case .bool(let b): b ? "true" : "false"
                case .number(let d): FieldValue.number(d).text
                default: ""
                }
            case .addTask(let subject, let due, let status, let priority, let assignee):
                row["subject"] = subject
                switch due {
                case .on(let date): row["due_kind"] = "date"; row["due_date"] = date.description
                case .daysAfterEvent(let n): row["due_kind"] = "days"; row["due_days"] = String(n)
                }
                row["status"] = status.rawValue
                row["priority"] = priority.rawValue
                row["assignee"] = person(assignee)
            case .scheduleCall(let subject, let owner, let start):
                row["call_subject"] = subject
                switch start {
                case .at(let t):
                    row["start_kind"] = "at"
                    let date = Date(timeIntervalSince1970: TimeInterval(t))
                    var calendar = Calendar(identifier: .gregorian)
                    calendar.timeZone = zone
                    let c = calendar.dateComponents([.hour, .minute], from: date)
                    row["start_at"] = "\(LocalDate(date, in: zone))T\(String(format: "%02d:%02d", c.hour ?? 0, c.minute ?? 0))"
                case .minutesAfterEvent(let n):
                    row["start_kind"] = "after"
                    let (amount, unit) = n > 0 && n % 1440 == 0 ? (n / 1440, "days") : n > 0 && n % 60 == 0 ? (n / 60, "hours") : (n, "minutes")
                    row["start_amount"] = String(amount)
                    row["start_unit"] = unit
                }
                row["owner"] = person(owner)
            }
            return row
        }
    }

    /// What the section's template shows for each row: its values, and the choices with the
    /// row's own selected.
    static func view(_ rows: [[String: String]], module: Module, users: [(id: Int64, name: String)]) -> [Row] {
        rows.enumerated().map { i, row in
            func options(_ pairs: [(String, String)], _ key: String, default fallback: String = "") -> [SelectOption] {
                let chosen = (row[key] ?? "").isEmpty ? fallback : row[key]!
                return pairs.map { SelectOption(value: $0.0, label: $0.1, selected: $0.0 == chosen) }
            }
            let people: [(String, String)] = [(TriggerActionInput.recordOwner, "The record's owner")] + users.map { (String($0.id), $0.name) }
            let events: [(String, String)] = TriggerAction.Event.allCases.map { ($0.rawValue, String($0.rawValue.prefix(1).uppercased() + $0.rawValue.dropFirst())) }
            let kinds: [(String, String)] = [("", "Choose an action"), ("update_field", "Update a field"), ("add_task", "Add a follow-up task"),
                                             ("schedule_call", "Schedule a call")]
            let fields: [(String, String)] = [("", "Choose a field")] + module.fields.filter { !$0.isSystem }.map { ($0.apiName, "\($0.label) (\($0.type.label))") }
            let statuses: [(String, String)] = CRMTask.Status.allCases.map { ($0.rawValue, $0.label) }
            let priorities: [(String, String)] = CRMTask.Priority.allCases.map { ($0.rawValue, $0.label) }
            let units: [(String, String)] = [("minutes", "minutes"), ("hours", "hours"), ("days", "days")]
            func value(_ key: String, default fallback: String = "") -> String {
                let v = row[key] ?? ""
                return v.isEmpty ? fallback : v
            }
            return Row(
                i: i, number: i + 1, kind: value("action"),
                events: options(events, "event"), actions: options(kinds, "action"), fields: options(fields, "field"),
                statuses: options(statuses, "status", default: "not_started"),
                priorities: options(priorities, "priority", default: "normal"),
                assignees: options(people, "assignee", default: TriggerActionInput.recordOwner),
                owners: options(people, "owner", default: TriggerActionInput.recordOwner),
                units: options(units, "start_unit", default: "hours"),
                value: value("value"), subject: value("subject"), callSubject: value("call_subject"),
                dueDaysChecked: row["due_kind"] != "date", dueDateChecked: row["due_kind"] == "date",
                dueDays: value("due_days", default: "2"), dueDate: value("due_date"),
                startAfterChecked: row["start_kind"] != "at", startAtChecked: row["start_kind"] == "at",
                startAmount: value("start_amount", default: "1"), startAt: value("start_at"))
        }
    }

    /// One action row of the form's section: its values, and the choices with its own selected.
    struct Row: PageModel {
        let i: Int, number: Int
        let kind: String
        let events: [SelectOption], actions: [SelectOption], fields: [SelectOption], statuses: [SelectOption]
        let priorities: [SelectOption], assignees: [SelectOption], owners: [SelectOption], units: [SelectOption]
        let value: String, subject: String, callSubject: String
        let dueDaysChecked: Bool, dueDateChecked: Bool
        let dueDays: String, dueDate: String
        let startAfterChecked: Bool, startAtChecked: Bool
        let startAmount: String, startAt: String
    }
}
