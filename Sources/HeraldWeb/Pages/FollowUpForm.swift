import Foundation
import HeraldCore

/// The "Follow-ups" section of the mass email form, drawn on the server so that it works
/// without JavaScript: "Add follow up", a follow-up's "Remove", its "+" (another exclusion
/// rule) and a rule's "×" post the form back and get it redrawn with the change.
///
/// A follow-up's fields are named `fu<row>_<name>` and its rules' `fu<row>_r<rule>_<name>`;
/// they are turned into the API's `follow_ups` JSON, so ``FollowUpInput`` and the store check
/// them like any other part of the mass email.
enum FollowUpForm {
    /// One follow-up as the form holds it: its fields and its exclusion rules, as typed.
    struct Row: Equatable {
        var fields: [String: String]
        var rules: [[String: String]]
    }

    /// What one of the section's buttons asks for.
    enum Change: Equatable {
        case unchanged
        case addFollowUp
        case removeFollowUp(Int)
        case addRule(to: Int)
        case removeRule(Int, of: Int)
    }

    static let fields = ["row", "template_id", "amount", "unit", "after", "window", "from", "to", "match", "threaded"]
        + SendingWindow.weekdayNames.map { "day_\($0)" }
    /// `kind` is an engagement, `field` (a condition on the record: `field`, `op`, `value`) or
    /// `criteria` (a view's criteria as JSON, for a group the API was given).
    static let ruleFields = ["kind", "field", "op", "value", "json"]

    /// The change a post asks for, or nil when none of the section's buttons was pressed.
    static func change(_ form: [String: String]) -> Change? {
        if form["add_follow_up"] != nil { return .addFollowUp }
        if let i = form["remove_follow_up"].flatMap({ Int($0) }) { return .removeFollowUp(i) }
        if let i = form["add_rule"].flatMap({ Int($0) }) { return .addRule(to: i) }
        if let parts = form["remove_rule"]?.split(separator: "."), parts.count == 2, let i = Int(parts[0]), let j = Int(parts[1]) {
            return .removeRule(j, of: i)
        }
        if form["refresh_follow_ups"] != nil { return .unchanged }
        return nil
    }

    /// The follow-ups posted, renumbered from 0, with `change` made. A follow-up or a rule
    /// stays however incomplete: saving says what it lacks, and its "Remove" drops it.
    static func rows(_ form: [String: String], change: Change = .unchanged) -> [Row] {
        var rows: [Row] = []
        for i in 0..<FollowUp.maxCount where form["fu\(i)_row"] != nil {
            if change == .removeFollowUp(i) { continue }
            var row = Row(fields: [:], rules: [])
            for name in fields { row.fields[name] = form["fu\(i)_\(name)"] ?? "" }
            for j in 0..<FollowUpExclusions.maxRules where form["fu\(i)_r\(j)_kind"] != nil {
                if change == .removeRule(j, of: i) { continue }
                row.rules.append(Dictionary(uniqueKeysWithValues: ruleFields.map { ($0, form["fu\(i)_r\(j)_\($0)"] ?? "") }))
            }
            if change == .addRule(to: i) && row.rules.count < FollowUpExclusions.maxRules { row.rules.append(["kind": ""]) }
            rows.append(row)
        }
        if change == .addFollowUp && rows.count < FollowUp.maxCount {
            // Weekdays from 09:00 to 17:00 are ready for when the window is ticked.
            var fields = ["row": "1", "amount": "3", "unit": "days", "after": rows.isEmpty ? "mass_email" : "previous_follow_up",
                          "match": "any", "from": "09:00", "to": "17:00"]
            for day in SendingWindow.weekdayNames.prefix(5) { fields["day_\(day)"] = "on" }
            rows.append(Row(fields: fields, rules: []))
        }
        return rows
    }

    /// The rows as the form's flat fields again.
    static func flatten(_ rows: [Row]) -> [String: String] {
        var out: [String: String] = [:]
        for (i, row) in rows.enumerated() {
            for (k, v) in row.fields where !v.isEmpty { out["fu\(i)_\(k)"] = v }
            out["fu\(i)_row"] = "1"
            for (j, rule) in row.rules.enumerated() {
                for (k, v) in rule { out["fu\(i)_r\(j)_\(k)"] = v }
                out["fu\(i)_r\(j)_kind"] = rule["kind"] ?? ""
            }
        }
        return out
    }

    /// The form's values with its follow-ups replaced by `rows`.
    static func replacing(_ values: [String: String], with rows: [Row]) -> [String: String] {
        values.filter { !($0.key.hasPrefix("fu") && $0.key.dropFirst(2).first?.isNumber == true) }.merging(flatten(rows)) { _, new in new }
    }

    /// The rows as the API's `follow_ups`. What was typed goes as it is, a word where a number
    /// belongs too, so that the API's reading says what is wrong with it.
    static func json(_ rows: [Row]) -> JSONValue {
        .array(rows.map { row -> JSONValue in
            func text(_ key: String) -> String { row.fields[key] ?? "" }
            func number(_ text: String) -> JSONValue { Double(text).map(JSONValue.number) ?? .string(text) }
            var o: [String: JSONValue] = [
                "delay": .object(["amount": number(text("amount")), "unit": .string(text("unit"))]),
                "after": .string(text("after").isEmpty ? FollowUp.Anchor.massEmail.rawValue : text("after")),
                "exclude": .object([
                    "match": .string(text("match").isEmpty ? FollowUpExclusions.Match.any.rawValue : text("match")),
                    "rules": .array(row.rules.compactMap(rule)),
                ]),
                "threaded": .bool(text("threaded") == "on"),
            ]
            if !text("template_id").isEmpty { o["template_id"] = number(text("template_id")) }
            if text("window") == "on" {
                o["window"] = .object([
                    "weekdays": .array(SendingWindow.weekdayNames.filter { row.fields["day_\($0)"] == "on" }.map(JSONValue.string)),
                    "from": .string(text("from")), "to": .string(text("to")),
                ])
            }
            return .object(o)
        })
    }

    /// A rule as the API's JSON; a rule with nothing chosen yet is left out.
    private static func rule(_ rule: [String: String]) -> JSONValue? {
        func text(_ key: String) -> String { rule[key] ?? "" }
        switch text("kind") {
        case "":
            return nil
        case "criteria":
            return (try? JSONDecoder().decode(JSONValue.self, from: Data(text("json").utf8))) ?? .string(text("json"))
        case "field":
            var o: [String: JSONValue] = ["op": .string(text("op")), "value": conditionValue(text("value"), op: text("op"))]
            if !text("field").isEmpty { o["field"] = .string(text("field")) }
            return .object(o)
        case let engagement:
            return .object(["engagement": .string(engagement)])
        }
    }

    /// A condition's value as typed in its one box: a list for "is any of" and "between"
    /// (separated by commas), a number of days, or nothing at all.
    static func conditionValue(_ text: String, op: String) -> JSONValue {
        switch ConditionOperator(rawValue: op) {
        case .isEmpty?, .isNotEmpty?: .null
        case .withinLastDays?, .withinNextDays?: Double(text).map(JSONValue.number) ?? .string(text)
        case .between?, .inList?:
            .array(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 != .string("") })
        default: .string(text)
        }
    }

    /// The inverse of ``conditionValue(_:op:)``.
    static func conditionText(_ value: JSONValue) -> String {
        switch value {
        case .null, .object: ""
        case .string(let s): s
        case .bool(let b): b ? "true" : "false"
        case .number(let d): FieldValue.number(d).text
        case .array(let items): items.map(conditionText).joined(separator: ", ")
        }
    }

    /// A mass email's follow-ups as rows, to edit it.
    static func rows(of followUps: [FollowUp]) -> [Row] {
        followUps.map { f in
            var fields = ["row": "1", "template_id": String(f.templateID), "amount": String(f.delay.amount), "unit": f.delay.unit.rawValue,
                          "after": f.after.rawValue, "match": f.exclusions.match.rawValue, "from": "09:00", "to": "17:00"]
            if f.threaded { fields["threaded"] = "on" }
            if let w = f.window {
                fields["window"] = "on"
                fields["from"] = SendingWindow.clock(w.from)
                fields["to"] = SendingWindow.clock(w.to)
            }
            let days = f.window?.weekdays ?? Set(1...5)
            for (index, day) in SendingWindow.weekdayNames.enumerated() where days.contains(index + 1) { fields["day_\(day)"] = "on" }
            let rules = f.exclusions.rules.map { rule -> [String: String] in
                switch rule {
                case .engagement(let e): return ["kind": e.rawValue]
                case .field(.condition(let field, let op, let value)):
                    return ["kind": "field", "field": field, "op": op.rawValue, "value": conditionText(value)]
                case .field(let group):
                    return ["kind": "criteria", "json": ViewPages.pretty(group.json)]
                }
            }
            return Row(fields: fields, rules: rules)
        }
    }

    /// Each follow-up in words, "Follow-up 1: 3 days after sending, …"; one not complete yet
    /// says what it lacks first ("Follow-up 2: not complete: template: is required"), rather
    /// than vanishing from the summary.
    static func summaries(_ rows: [Row], module: Module, templates: [MailTemplate]) -> [String] {
        let names = Dictionary(templates.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        return zip(rows.indices, json(rows).arrayValue!).map { i, item in
            guard var r = try? JSONObjectReader(item) else { return "Follow-up \(i + 1): not complete" }
            let followUp = FollowUpInput.parse(one: &r)
            if let problem = r.allProblems.first {
                return "Follow-up \(i + 1): not complete: \(words(Substring(problem.field))): \(problem.reason)"
            }
            guard let followUp, let name = names[followUp.templateID] else { return "Follow-up \(i + 1): not complete: choose a template" }
            return "Follow-up \(i + 1): \(followUp.summary(in: module, templateName: name))"
        }
    }

    /// What the section's template shows for each follow-up: its values, the choices with its
    /// own selected, its rules, and `problems` that are its own.
    static func view(_ rows: [Row], module: Module, templates: [MailTemplate], problems: [RowProblem]) -> [RowView] {
        let engagements: [(String, String)] = FollowUpExclusions.Engagement.allCases.map {
            ($0.rawValue, $0.phrase.prefix(1).uppercased() + String($0.phrase.dropFirst()))
        }
        let fieldChoices: [(String, String)] = [("", "Choose a field")] + module.fields.map { ($0.apiName, "\($0.label) (\($0.type.label))") }
        let operators: [(String, String)] = ConditionOperator.allCases.map { ($0.rawValue, $0.label) }
        func options(_ pairs: [(String, String)], _ chosen: String) -> [SelectOption] {
            pairs.map { SelectOption(value: $0.0, label: $0.1, selected: $0.0 == chosen) }
        }
        return rows.enumerated().map { i, row in
            func value(_ key: String) -> String { row.fields[key] ?? "" }
            let errors = problems.filter { $0.row == i }.map(\.text)
            let rules = row.rules.enumerated().map { j, rule in
                let kind = rule["kind"] ?? ""
                let kinds: [(String, String)] = [("", "Choose a rule")] + engagements + [("field", "A field of the record matches")]
                    + (kind == "criteria" ? [("criteria", "Conditions (JSON)")] : [])
                return RowView.Rule(
                    fi: i, j: j, ruleNumber: j + 1, fuNumber: i + 1, kind: kind,
                    kinds: options(kinds, kind), fields: options(fieldChoices, rule["field"] ?? ""),
                    ops: options(operators, rule["op"] ?? ""), value: rule["value"] ?? "",
                    isJSON: kind == "criteria", json: rule["json"] ?? "")
            }
            return RowView(
                i: i, number: i + 1,
                templates: options([("", "Choose a template")] + templates.map { (String($0.id), $0.name) }, value("template_id")),
                amount: value("amount"),
                units: options(FollowUp.Delay.Unit.allCases.map { ($0.rawValue, $0.rawValue) }, value("unit")),
                afters: options([("mass_email", "after sending"), ("previous_follow_up", "after the previous follow-up")], value("after")),
                windowChecked: value("window") == "on",
                days: SendingWindow.weekdayNames.map { day in
                    RowView.Day(name: day, label: day.prefix(3).capitalized, checked: row.fields["day_\(day)"] == "on")
                },
                from: value("from"), to: value("to"),
                matches: options([("any", "any"), ("all", "all")], value("match")),
                rules: rules, canAddRule: row.rules.count < FollowUpExclusions.maxRules,
                threadedChecked: value("threaded") == "on",
                rowErrors: errors, hasRowErrors: !errors.isEmpty)
        }
    }

    /// One follow-up of the form's section as the page draws it.
    struct RowView: PageModel {
        struct Rule: PageModel {
            let fi: Int, j: Int, ruleNumber: Int, fuNumber: Int
            let kind: String
            let kinds: [SelectOption], fields: [SelectOption], ops: [SelectOption]
            let value: String
            let isJSON: Bool
            let json: String
        }
        struct Day: PageModel { let name: String, label: String, checked: Bool }

        let i: Int, number: Int
        let templates: [SelectOption]
        let amount: String
        let units: [SelectOption], afters: [SelectOption]
        let windowChecked: Bool
        let days: [Day]
        let from: String, to: String
        let matches: [SelectOption]
        let rules: [Rule]
        let canAddRule: Bool, threadedChecked: Bool
        let rowErrors: [String]
        let hasRowErrors: Bool
    }

    /// A follow-up's problem path in the form's words: `exclude.rules[0].field` is "rule 1,
    /// field", `template_id` is "template".
    static func words(_ path: Substring) -> String {
        if path == "template_id" { return "template" }
        var text = String(path)
        if let match = text.firstMatch(of: /^exclude\.rules\[(\d+)\]/), let j = Int(match.1) {
            text = "rule \(j + 1)" + text[match.range.upperBound...]
        }
        return text.replacingOccurrences(of: ".", with: ", ")
    }
}
