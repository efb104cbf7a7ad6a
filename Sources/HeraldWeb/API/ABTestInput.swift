import HeraldCore

/// Reads and writes a mass email's `ab_test` in the API's JSON:
///
/// ```json
/// {"variants": [{"subject": "Our spring offer"}, {"template_id": 9}, {"template_id": 9, "subject": "Last chance"}],
///  "test_percent": 20, "measure": "clicks", "wait": {"amount": 4, "unit": "hours"}}
/// ```
/// A variant without `template_id` uses the mass email's template, without `subject` its
/// template's subject. Whether the numbers make sense is ``ABTest/problems(templateIDs:)``'s
/// to say, with the rest of the mass email.
enum ABTestInput {
    /// The test under `ab_test` (nil when absent or null), with every problem noted in `reader`.
    static func parse(_ reader: inout JSONObjectReader) -> ABTest? {
        guard reader.has("ab_test"), reader.raw("ab_test") != .null, var r = reader.nested("ab_test") else { return nil }
        defer { reader.absorb(r) }
        var variants: [ABTest.Variant] = []
        switch r.raw("variants") {
        case .array(let items)?:
            for (i, item) in items.enumerated() {
                guard var v = try? JSONObjectReader(item, path: "ab_test.variants[\(i)]") else {
                    r.add("variants[\(i)]", "must be an object, not \(item.typeName)")
                    continue
                }
                variants.append(ABTest.Variant(templateID: v.int("template_id"), subject: v.string("subject", maxLength: 998)))
                r.absorb(v)
            }
        case let other?:
            r.add("variants", "must be a list of 2 to 5 variants, not \(other.typeName)")
        case nil:
            r.add("variants", "is required: [{\"subject\": …}, {\"template_id\": …}]")
        }
        let percent = r.int("test_percent", required: true, range: 0...100)
        let measure: ABTest.Measure? = r.choice("measure", required: true)
        let wait = FollowUpInput.delay("wait", in: &r, example: 4, unit: .hours)
        guard let percent, let measure, let wait else { return nil }
        return ABTest(variants: variants, testPercent: Int(percent), measure: measure, wait: wait)
    }

    /// The index of the variant a person picked by its letter (`"B"` → 1), from the API or the page.
    static func variant(_ letter: String?) throws -> Int {
        guard let index = letter.flatMap(ABTest.index(letter:)) else {
            throw HeraldError.invalid(field: "variant", "'\(letter ?? "")' is not a variant letter (A to E)")
        }
        return index
    }

    /// The test as the API shows it; with `results` (a single mass email), each variant's
    /// figures and rate by the measure, the winner marked.
    static func json(_ m: MassEmail, results: [ABVariantResult]?) -> JSONValue {
        guard let test = m.abTest else { return .null }
        let winner = m.abDecision?.winner
        let variants: [JSONValue] = test.variants.enumerated().map { i, variant in
            var o: [String: JSONValue] = [
                "letter": .string(ABTest.letter(i)),
                "template_id": variant.templateID.map { .number(Double($0)) } ?? .null,
                "subject": variant.subject.map(JSONValue.string) ?? .null,
                "winner": .bool(winner == i),
            ]
            if let r = results?.first(where: { $0.variant == i }) {
                o["sent"] = .number(Double(r.sent))
                o["opened"] = .number(Double(r.opened))
                o["clicked"] = .number(Double(r.clicked))
                o["replied"] = .number(Double(r.replied))
                o["rate"] = .number((r.rate(test.measure) * 10_000).rounded() / 10_000)
            }
            return .object(o)
        }
        return .object([
            "variants": .array(variants),
            "test_percent": .number(Double(test.testPercent)),
            "measure": .string(test.measure.rawValue),
            "wait": .object(["amount": .number(Double(test.wait.amount)), "unit": .string(test.wait.unit.rawValue)]),
            "decide_at": m.abDecideAt.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null,
            "decision": m.abDecision.map { d in
                .object(["winner": .string(ABTest.letter(d.winner)), "by_hand": .bool(d.byHand), "note": .string(d.note),
                         "at": .string(ISODateTime.format(epochSeconds: d.at))])
            } ?? .null,
        ])
    }
}
