import Foundation
import HeraldCore
import HeraldStore
import Testing

/// Each operator, run by the database on both SQLite and PostgreSQL, against a small known set.
@Suite struct ViewQueryTests {
    struct Person {
        var last: String
        var email: String?
        var country: String?
        var source: String?
        var score: Double?
        var born: String?
        var optOut = false
        var ageDays = 0
    }

    static let people: [Person] = [
        Person(last: "Adams", email: "ADA@example.com", country: "Germany", source: "Partner", score: 10, born: "1990-01-15", ageDays: 1),
        Person(last: "Becker", email: "ben@example.com", country: "germany", source: "Seminar", score: 20, born: "1985-06-30", ageDays: 10),
        Person(last: "O'Brien", email: "ob@example.com", country: "Ireland", source: "Trade Show", score: 30, born: nil, optOut: true, ageDays: 100),
        Person(last: "100%_Costa", email: nil, country: nil, source: "Partner", score: nil, born: "2000-02-29", ageDays: 400),
    ]

    static func seed(_ store: Store) async throws -> Module {
        _ = try await store.modules.addField(Field(apiName: "score", label: "Score", type: .number), to: "contacts")
        _ = try await store.modules.addField(Field(apiName: "born", label: "Born", type: .date), to: "contacts")
        let contacts = try await store.modules.named("contacts")
        let admin = try await store.testAdmin()
        for p in people {
            var inputs: [String: FieldInput] = ["last_name": .text(p.last), "email_opt_out": .json(.bool(p.optOut))]
            if let e = p.email { inputs["email"] = .text(e) }
            if let c = p.country { inputs["mailing_country"] = .text(c) }
            if let s = p.source { inputs["lead_source"] = .text(s) }
            if let s = p.score { inputs["score"] = .json(.number(s)) }
            if let b = p.born { inputs["born"] = .text(b) }
            _ = try await store.records.create(in: contacts, try RecordChanges.validate(inputs, module: contacts, creating: true).get(),
                                               owner: admin.id, now: Date().addingTimeInterval(-Double(p.ageDays) * 86_400))
        }
        return contacts
    }

    static let cases: [(String, JSONValue, [String])] = [
        ("equals ignores case", .object(["field": "mailing_country", "op": "equals", "value": "GERMANY"]), ["Adams", "Becker"]),
        ("not equals keeps empty", .object(["field": "mailing_country", "op": "not_equals", "value": "germany"]), ["O'Brien", "100%_Costa"]),
        ("contains with quote", .object(["field": "last_name", "op": "contains", "value": "'bri"]), ["O'Brien"]),
        ("contains treats % and _ literally", .object(["field": "last_name", "op": "contains", "value": "0%_"]), ["100%_Costa"]),
        ("contains a wildcard matches nothing else", .object(["field": "last_name", "op": "contains", "value": "%"]), ["100%_Costa"]),
        ("starts with", .object(["field": "email", "op": "starts_with", "value": "b"]), ["Becker"]),
        ("is empty", .object(["field": "email", "op": "is_empty"]), ["100%_Costa"]),
        ("is not empty", .object(["field": "born", "op": "is_not_empty"]), ["Adams", "Becker", "100%_Costa"]),
        ("greater than", .object(["field": "score", "op": "greater_than", "value": 10]), ["Becker", "O'Brien"]),
        ("less than", .object(["field": "score", "op": "less_than", "value": 30]), ["Adams", "Becker"]),
        ("between inclusive", .object(["field": "score", "op": "between", "value": [10, 20]]), ["Adams", "Becker"]),
        ("in list", .object(["field": "lead_source", "op": "in", "value": ["Partner", "Seminar"]]), ["Adams", "Becker", "100%_Costa"]),
        ("in list of text ignores case", .object(["field": "mailing_country", "op": "in", "value": ["IRELAND"]]), ["O'Brien"]),
        ("before a date", .object(["field": "born", "op": "before", "value": "1990-01-15"]), ["Becker"]),
        ("after a date", .object(["field": "born", "op": "after", "value": "1990-01-15"]), ["100%_Costa"]),
        ("boolean", .object(["field": "email_opt_out", "op": "equals", "value": true]), ["O'Brien"]),
        ("created within the last 30 days", .object(["field": "created_at", "op": "within_last_days", "value": 30]), ["Adams", "Becker"]),
        ("created before a date", .object(["field": "created_at", "op": "before", "value": .string(LocalDate(Date().addingTimeInterval(-200 * 86_400), in: .gmt).description)]), ["100%_Costa"]),
        ("an injection attempt is a value", .object(["field": "last_name", "op": "equals", "value": "x'); DROP TABLE rec_contacts; --"]), []),
        ("nested any inside all", .object(["all": [
            .object(["field": "lead_source", "op": "equals", "value": "Partner"]),
            .object(["any": [.object(["field": "score", "op": "is_empty"]), .object(["field": "mailing_country", "op": "equals", "value": "Germany"])]]),
        ]]), ["Adams", "100%_Costa"]),
        ("empty any matches nothing", .object(["any": []]), []),
    ]

    @Test(arguments: TestDatabase.kinds)
    func operators(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await ViewQueryTests.seed(store)
            for (name, json, expected) in ViewQueryTests.cases {
                let criteria = try Criteria.parse(.object(["all": [json]])).get()
                let resolved = try criteria.resolve(in: contacts).get()
                let page = try await store.records.list(in: contacts, RecordQuery(criteria: resolved, limit: 100), scope: .all)
                let names = page.records.map { $0["last_name"]?.text ?? "" }
                #expect(Set(names) == Set(expected), "\(name) on \(kind)")
                #expect(page.total == expected.count, "\(name) count on \(kind)")
                #expect(try await store.records.count(in: contacts, criteria: resolved, scope: .all) == expected.count)
            }
            // The table survived the injection attempt.
            #expect(try await store.records.count(in: contacts, criteria: .all([]), scope: .all) == 4)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func sortSearchPageAndStream(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await ViewQueryTests.seed(store)
            let byScore = try await store.records.list(in: contacts, RecordQuery(sort: "score", descending: true), scope: .all)
            #expect(byScore.records.map { $0["last_name"]!.text } == ["O'Brien", "Becker", "Adams", "100%_Costa"])
            let ascending = try await store.records.list(in: contacts, RecordQuery(sort: "score"), scope: .all)
            #expect(ascending.records.last?["last_name"]?.text == "100%_Costa", "empty values sort last")
            let page2 = try await store.records.list(in: contacts, RecordQuery(sort: "last_name", limit: 2, offset: 2), scope: .all)
            #expect(page2.records.count == 2 && page2.total == 4)
            let found = try await store.records.list(in: contacts, RecordQuery(search: "EXAMPLE.com"), scope: .all)
            #expect(found.total == 3)
            let collected = IDCollector()
            try await store.records.forEachID(in: contacts, criteria: .all([]), scope: .all) { collected.add($0) }
            #expect(collected.ids.count == 4 && collected.ids == collected.ids.sorted())
            var csv = ""
            try await store.records.exportCSV(in: contacts, criteria: .all([]), scope: .all) { csv += $0 }
            #expect(csv.hasPrefix("id,first_name,last_name"))
            #expect(csv.contains("\"100%_Costa\"") || csv.contains("100%_Costa"))
            #expect(csv.split(separator: "\r\n").count == 5)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func viewsAreCheckedWhenSaved(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            do {
                _ = try await store.views.create(in: contacts, name: " ", criteria: .all([
                    .condition(field: "nope", op: .equals, value: "x"),
                    .condition(field: "email_opt_out", op: .contains, value: "x"),
                    .condition(field: "created_at", op: .withinLastDays, value: "ten"),
                ]), by: nil)
                Issue.record("expected a refusal")
            } catch let error as HeraldError {
                #expect(error.problems.map(\.field) == ["name", "criteria.all[0].field", "criteria.all[1].op", "criteria.all[2].value"])
            }
            let view = try await store.views.create(in: contacts, name: "Partners", criteria: .all([.condition(field: "lead_source", op: .equals, value: "Partner")]), by: nil)
            await #expect(throws: HeraldError.self) {
                _ = try await store.views.create(in: contacts, name: "partners", criteria: .everything, by: nil)
            }
            let updated = try await store.views.update(view.id, in: contacts, name: "Partner contacts", criteria: .everything)
            #expect(updated.name == "Partner contacts" && updated.criteria == .everything)
        }
    }
}

final class IDCollector: @unchecked Sendable {
    // Appended to from the database's row callback, read after it returns; the lock keeps it sound.
    private let lock = NSLock()
    private var storage: [Int64] = []
    func add(_ id: Int64) { lock.lock(); storage.append(id); lock.unlock() }
    var ids: [Int64] { lock.lock(); defer { lock.unlock() }; return storage }
}
