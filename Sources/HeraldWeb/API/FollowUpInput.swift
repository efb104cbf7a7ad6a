import HeraldCore

/// Reads and writes a mass email's `follow_ups` in the API's JSON:
///
/// ```json
/// [{"template_id": 7, "delay": {"amount": 3, "unit": "days"}, "after": "mass_email",
///   "window": {"weekdays": ["monday", "tuesday", "wednesday", "thursday", "friday"], "from": "09:00", "to": "17:00"},
///   "exclude": {"match": "any", "rules": [{"engagement": "opened"}, {"engagement": "replied"},
///                                         {"field": "mailing_country", "op": "equals", "value": "DE"}]},
///   "threaded": true}]
/// ```
/// A rule is an engagement (`opened`, `not_opened`, `clicked`, `not_clicked`, `replied`,
/// `bounced`, `unsubscribed`) or a view's criteria (a condition, or an `all`/`any` group).
/// Whether the template, the delay, the window and the fields make sense is checked with the
/// rest of the mass email (``FollowUp/problems(_:module:templateIDs:)``).
enum FollowUpInput {
    /// The follow-ups under `follow_ups`, with every problem noted in `reader`.
    static func parse(_ reader: inout JSONObjectReader) -> [FollowUp] {
        switch reader.raw("follow_ups") {
        case nil, .null?:
            return []
        case .array(let items)?:
            var followUps: [FollowUp] = []
            for (i, item) in items.enumerated() {
                let path = "follow_ups[\(i)]"
                guard var r = try? JSONObjectReader(item, path: path) else {
                    reader.add(path, "must be an object, not \(item.typeName)")
                    continue
                }
                if let followUp = parse(one: &r) { followUps.append(followUp) }
                reader.absorb(r)
            }
            return followUps
        case let other?:
            reader.add("follow_ups", "must be a list, not \(other.typeName)")
            return []
        }
    }

    /// A delay under `key` (`{"amount": 3, "unit": "days"}`), a follow-up's or an A/B test's
    /// wait. Any whole number is read here; its range is the rule's to say.
    static func delay(_ key: String, in r: inout JSONObjectReader, example: Int, unit: FollowUp.Delay.Unit) -> FollowUp.Delay? {
        guard var d = r.nested(key) else {
            if !r.allProblems.contains(where: { $0.field.hasSuffix(".\(key)") }) {
                r.add(key, "is required: {\"amount\": \(example), \"unit\": \"\(unit.rawValue)\"} (or \"\(unit == .days ? "hours" : "days")\")")
            }
            return nil
        }
        defer { r.absorb(d) }
        let amount = d.int("amount", required: true, range: 0...Int64.max)
        let unit: FollowUp.Delay.Unit? = d.choice("unit", required: true)
        guard let amount, let unit else { return nil }
        return FollowUp.Delay(amount: Int(clamping: amount), unit: unit)
    }

    static func parse(one r: inout JSONObjectReader) -> FollowUp? {
        let templateID = r.int("template_id", required: true)
        let delay = delay("delay", in: &r, example: 3, unit: .days)
        let after: FollowUp.Anchor? = r.choice("after")
        var window: SendingWindow?
        if var w = r.nested("window") {
            var weekdays = Set<Int>()
            for (i, name) in (w.strings("weekdays", maxCount: 7) ?? []).enumerated() {
                if let index = SendingWindow.weekdayNames.firstIndex(of: name) { weekdays.insert(index + 1) }
                else { w.add("weekdays[\(i)]", "'\(name)' is not one of \(SendingWindow.weekdayNames.joined(separator: ", "))") }
            }
            if !w.has("weekdays") { w.add("weekdays", "is required: the days it may send on, e.g. [\"monday\", \"friday\"]") }
            func time(_ key: String) -> Int? {
                guard let text = w.string(key, required: true) else { return nil }
                guard let minutes = SendingWindow.minutes(text) else { w.add(key, "'\(text)' is not a time of day (HH:MM)"); return nil }
                return minutes
            }
            let from = time("from")
            let to = time("to")
            if let from, let to { window = SendingWindow(weekdays: weekdays, from: from, to: to) }
            r.absorb(w)
        }
        var exclusions = FollowUpExclusions.none
        if var e = r.nested("exclude") {
            let match: FollowUpExclusions.Match? = e.choice("match")
            var rules: [FollowUpExclusions.Rule] = []
            switch e.raw("rules") {
            case nil, .null?: break
            case .array(let items)?:
                for (i, item) in items.enumerated() {
                    if let rule = self.rule(item, path: "rules[\(i)]", reader: &e) { rules.append(rule) }
                }
            case let other?: e.add("rules", "must be a list, not \(other.typeName)")
            }
            exclusions = FollowUpExclusions(match: match ?? .any, rules: rules)
            r.absorb(e)
        }
        let threaded = r.bool("threaded") ?? false
        guard let templateID, let delay else { return nil }
        return FollowUp(templateID: templateID, delay: delay, after: after ?? .massEmail, window: window,
                        exclusions: exclusions, threaded: threaded)
    }

    /// `{"engagement": "opened"}`, or a view's criteria; `path` is relative to `reader`.
    private static func rule(_ item: JSONValue, path: String, reader: inout JSONObjectReader) -> FollowUpExclusions.Rule? {
        if let object = item.objectValue, let engagement = object["engagement"] {
            guard object.count == 1 else {
                reader.add(path, "an engagement rule has only 'engagement'")
                return nil
            }
            guard let name = engagement.stringValue, let e = FollowUpExclusions.Engagement(rawValue: name) else {
                let names = FollowUpExclusions.Engagement.allCases.map(\.rawValue).joined(separator: ", ")
                reader.add("\(path).engagement", "must be one of \(names)")
                return nil
            }
            return .engagement(e)
        }
        switch Criteria.parse(item, path: path) {
        case .success(let criteria): return .field(criteria)
        case .failure(let error):
            for problem in error.problems { reader.add(problem.field, problem.reason) }
            return nil
        }
    }

    /// A follow-up as the API returns it (the same shape it reads).
    static func json(_ f: FollowUp) -> JSONValue {
        var o: [String: JSONValue] = [
            "template_id": .number(Double(f.templateID)),
            "delay": .object(["amount": .number(Double(f.delay.amount)), "unit": .string(f.delay.unit.rawValue)]),
            "after": .string(f.after.rawValue),
            "window": .null,
            "exclude": .object([
                "match": .string(f.exclusions.match.rawValue),
                "rules": .array(f.exclusions.rules.map { rule in
                    switch rule {
                    case .engagement(let e): .object(["engagement": .string(e.rawValue)])
                    case .field(let criteria): criteria.json
                    }
                }),
            ]),
            "threaded": .bool(f.threaded),
        ]
        if let w = f.window {
            o["window"] = .object([
                "weekdays": .array(w.weekdays.sorted().filter { (1...7).contains($0) }.map { .string(SendingWindow.weekdayNames[$0 - 1]) }),
                "from": .string(SendingWindow.clock(w.from)),
                "to": .string(SendingWindow.clock(w.to)),
            ])
        }
        return .object(o)
    }
}
