import HeraldCore

/// The "A/B test" section of the mass email form, without JavaScript: variant A is the
/// template chosen above (with its own subject if typed), and rows B–E count when they have
/// a template or a subject of their own. Posted, it becomes the API's `ab_test` JSON, so
/// that the form and the API say the same about the same mistake (``ABTestInput``).
enum ABTestForm {
    static let rows = ABTest.variantCount.upperBound

    /// The `ab_test` JSON from the posted form; nil when the box is not ticked.
    static func json(_ form: [String: String]) -> JSONValue? {
        guard form["ab_on"] == "on" else { return nil }
        var variants: [JSONValue] = []
        for i in 0..<rows {
            let subject = form["ab_subject_\(i)"].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
            let template = i == 0 ? nil : form["ab_template_\(i)"].flatMap { $0.isEmpty ? nil : $0 }
            guard i == 0 || subject != nil || template != nil else { continue }
            var variant: [String: JSONValue] = [:]
            if let subject { variant["subject"] = .string(subject) }
            if let template { variant["template_id"] = Int64(template).map { .number(Double($0)) } ?? .string(template) }
            variants.append(.object(variant))
        }
        func number(_ key: String) -> JSONValue {
            let text = form[key] ?? ""
            return Int(text).map { .number(Double($0)) } ?? .string(text)
        }
        return .object([
            "variants": .array(variants), "test_percent": number("ab_percent"), "measure": .string(form["ab_measure"] ?? ""),
            "wait": .object(["amount": number("ab_wait_amount"), "unit": .string(form["ab_wait_unit"] ?? "")]),
        ])
    }

    /// The form's values for a saved test.
    static func values(_ test: ABTest?) -> [String: String] {
        guard let test else { return [:] }
        var values = ["ab_on": "on", "ab_percent": String(test.testPercent), "ab_measure": test.measure.rawValue,
                      "ab_wait_amount": String(test.wait.amount), "ab_wait_unit": test.wait.unit.rawValue]
        for (i, variant) in test.variants.enumerated() {
            if let subject = variant.subject { values["ab_subject_\(i)"] = subject }
            if i > 0, let id = variant.templateID { values["ab_template_\(i)"] = String(id) }
        }
        return values
    }

    /// The section's data for the page.
    static func view(_ values: [String: String], templates: [MailTemplate]) -> Section {
        Section(
            on: values["ab_on"] == "on",
            rows: (0..<rows).map { i in
                Section.Variant(index: i, letter: ABTest.letter(i), first: i == 0, subject: values["ab_subject_\(i)"] ?? "",
                                templates: templates.map {
                                    Section.Choice(id: $0.id, name: $0.name, selected: values["ab_template_\(i)"] == String($0.id))
                                })
            },
            percent: values["ab_percent"] ?? "20",
            measures: ABTest.Measure.allCases.map {
                SelectOption(value: $0.rawValue, label: $0.label, selected: (values["ab_measure"] ?? ABTest.Measure.clicks.rawValue) == $0.rawValue)
            },
            waitAmount: values["ab_wait_amount"] ?? "4",
            units: FollowUp.Delay.Unit.allCases.map {
                SelectOption(value: $0.rawValue, label: $0.rawValue, selected: (values["ab_wait_unit"] ?? "hours") == $0.rawValue)
            },
            minimum: ABTest.minimumEvents)
    }

    /// The A/B test section of the mass email form.
    struct Section: PageModel {
        struct Choice: PageModel { let id: Int64, name: String, selected: Bool }
        struct Variant: PageModel {
            let index: Int
            let letter: String
            let first: Bool
            let subject: String
            let templates: [Choice]
        }

        let on: Bool
        let rows: [Variant]
        let percent: String
        let measures: [SelectOption]
        let waitAmount: String
        let units: [SelectOption]
        let minimum: Int
    }

    /// A problem's path in the form's words: `ab_test.variants[1].subject` → "Variant B's subject".
    static func label(_ field: String) -> String {
        let path = field.dropFirst("ab_test".count).drop { $0 == "." }
        if path.hasPrefix("variants["), let close = path.firstIndex(of: "]"),
           let index = Int(path[path.index(path.startIndex, offsetBy: 9)..<close]) {
            let rest = path[path.index(after: close)...].drop { $0 == "." }
            let part = rest == "template_id" ? "'s template" : rest == "subject" ? "'s subject" : ""
            return "Variant \(ABTest.letter(index))\(part)"
        }
        switch path {
        case "test_percent": return "Test share"
        case "measure": return "Winner by"
        case "wait", "wait.amount", "wait.unit": return "Wait"
        case "variants": return "Variants"
        default: return "A/B test"
        }
    }
}
