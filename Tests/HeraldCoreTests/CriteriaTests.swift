import HeraldCore
import Testing

@Suite struct CriteriaTests {
    @Test func parseReportsWhereTheJSONIsWrong() {
        func problem(_ json: JSONValue) -> String? {
            if case .failure(let e) = Criteria.parse(json) { return e.problems.first?.field }
            return nil
        }
        #expect(problem("x") == "criteria")
        #expect(problem(["all": "x"]) == "criteria.all")
        #expect(problem(["all": [["field": "a"]]]) == "criteria.all[0].op")
        #expect(problem(["all": [["field": "a", "op": "like"]]]) == "criteria.all[0].op")
        #expect(problem(["any": [["field": "a", "op": "equals", "value": 1, "extra": 2]]]) == "criteria.any[0]")
        var deep: JSONValue = ["field": "a", "op": "is_empty"]
        for _ in 0..<10 { deep = ["all": [deep]] }
        #expect(problem(deep) != nil)
    }

    @Test func operatorsFitTypes() {
        #expect(ConditionOperator.contains.applies(to: .email))
        #expect(!ConditionOperator.contains.applies(to: .number))
        #expect(!ConditionOperator.between.applies(to: .text))
        #expect(ConditionOperator.withinLastDays.applies(to: .datetime))
        #expect(!ConditionOperator.greaterThan.applies(to: .boolean))
    }

    @Test func roundTripAndSummary() throws {
        let c: Criteria = .all([.condition(field: "mailing_country", op: .equals, value: "DE"),
                               .any([.condition(field: "lead_source", op: .inList, value: ["Partner", "Seminar"])])])
        let again = try Criteria.parse(c.json).get()
        #expect(again == c)
        #expect(c.summary(in: BuiltinModules.contacts) == "Mailing Country is DE and (Lead Source is any of Partner, Seminar)")
        #expect(c.fieldNames == ["mailing_country", "lead_source"])
    }

    @Test func betweenAndInNeedLists() {
        let m = BuiltinModules.deals
        if case .success = Criteria.condition(field: "amount", op: .between, value: 5).resolve(in: m) { Issue.record("between needs two") }
        if case .success = Criteria.condition(field: "stage", op: .inList, value: []).resolve(in: m) { Issue.record("in needs values") }
        if case .failure(let e) = Criteria.condition(field: "amount", op: .between, value: [1, 2]).resolve(in: m) { Issue.record("\(e)") }
    }
}
