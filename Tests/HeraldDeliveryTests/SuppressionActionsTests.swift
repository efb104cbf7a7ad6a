import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Testing

/// The suppression list's one way in for the page and the API.
@Suite struct SuppressionActionsTests {
    @Test(arguments: TestDatabase.kinds)
    func adminsOnlyEveryProblemAtOnceAndEachEntrySaysWhoAddedIt(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let actions = SuppressionActions(store: store)
            let admin = try await store.testAdmin()
            let user = try await store.users.create(email: "uma@example.com", name: "Uma", role: .user, passwordHash: "x", timeZone: "UTC")

            let refused = await #expect(throws: HeraldError.self) { try await actions.add("x@example.org", reason: nil, by: user) }
            #expect(refused?.kind == .forbidden)
            await #expect(throws: HeraldError.self) { try await actions.remove("x@example.org", by: user) }
            await #expect(throws: HeraldError.self) { _ = try await actions.importList(SuppressionImport(text: "x@example.org"), reason: "", by: user) }

            do {
                try await actions.add("not an address", reason: String(repeating: "r", count: 201), by: admin)
                Issue.record("a bad address was accepted")
            } catch let error as HeraldError {
                #expect(error.kind == .invalid)
                #expect(error.problems.map(\.field) == ["address", "reason"], "both problems at once")
            }

            let added = try await actions.add("  Ann@Example.ORG ", reason: "  ", by: admin)
            #expect(added.address == "ann@example.org" && added.reason == "added by an admin")
            let report = try await actions.importList(SuppressionImport(text: "email\nbob@example.org\nann@example.org\nbob@example.org\nnope\n"),
                                                  reason: "", by: admin)
            #expect(report.added == 1 && report.alreadySuppressed == 1 && report.repeated == 1 && report.problems.count == 1)
            let rows = try await store.suppressions.page()
            #expect(rows.map(\.address).sorted() == ["ann@example.org", "bob@example.org"])
            #expect(rows.first { $0.address == "ann@example.org" }?.detail == "added by admin@example.com")
            #expect(rows.first { $0.address == "bob@example.org" }?.detail == "imported by admin@example.com")
            try await actions.remove("ann@example.org", by: admin)
            #expect(try await store.suppressions.page().map(\.address) == ["bob@example.org"])
        }
    }
}
