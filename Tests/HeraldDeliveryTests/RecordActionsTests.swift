import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Testing

/// Records' changes and imports: one way in for the pages and the API.
@Suite struct RecordActionsTests {
    @Test(arguments: TestDatabase.kinds)
    func ownersAndAdminsOnlyAndASelectionIsCheckedWhole(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let records = RecordActions(store: store)
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let uma = try await store.users.create(email: "uma@example.com", name: "Uma", role: .user, passwordHash: "x", timeZone: "UTC")
            let ian = try await store.users.create(email: "ian@example.com", name: "Ian", role: .user, passwordHash: "x", timeZone: "UTC")

            let given = RecordChanges(["last_name": .text("Gift"), "owner": .reference(ian.id)])
            let refused = await #expect(throws: HeraldError.self) { _ = try await records.create(in: contacts, given, by: uma) }
            #expect(refused?.kind == .forbidden, "only admins give a record to someone else")
            #expect(try await records.create(in: contacts, given, by: admin)["owner"] == .reference(ian.id))

            let umas = try await records.create(in: contacts, RecordChanges(["last_name": .text("Uma's")]), by: uma)
            #expect(umas["owner"] == .reference(uma.id), "users own what they create")
            let ians = try await records.create(in: contacts, RecordChanges(["last_name": .text("Ian's")]), by: ian)
            let hidden = await #expect(throws: HeraldError.self) { _ = try await records.find(ians.id, in: contacts, for: uma) }
            #expect(hidden?.kind == .notFound, "another user's record does not exist for her")
            await #expect(throws: HeraldError.self) {
                _ = try await records.update(ians.id, in: contacts, RecordChanges(["last_name": .text("Mine")]), by: uma)
            }

            // A selection with a record she may not change deletes none of it.
            await #expect(throws: HeraldError.self) { try await records.delete([umas.id, ians.id], in: contacts, by: uma) }
            #expect(try await records.find(umas.id, in: contacts, for: uma).id == umas.id)
            try await records.delete([umas.id], in: contacts, by: uma)
            await #expect(throws: HeraldError.self) { _ = try await records.find(umas.id, in: contacts, for: admin) }
        }
    }

    /// Whatever owner and scope a caller puts in the options, an import is the user's own.
    @Test(arguments: TestDatabase.kinds)
    func anImportIsAlwaysTheImportingUsers(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let imports = ImportActions(store: store)
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let uma = try await store.users.create(email: "uma@example.com", name: "Uma", role: .user, passwordHash: "x", timeZone: "UTC")
            // The admin's record with the address the file repeats: not Uma's to find, update or skip.
            _ = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("Admin's"), "email": .text("ann@example.org")]),
                                               owner: admin.id)
            var options = ImportOptions(owner: admin.id, scope: .all)
            options.duplicates = .update
            let csv = "Last Name,Email\nLee,ann@example.org\n"
            let report = try await imports.run(into: contacts, options, input: AsyncThrowingStream { c in
                c.yield(Array(csv.utf8))
                c.finish()
            }, by: uma)
            #expect(report.created == 1 && report.updated == 0, "the admin's record is not hers to update")
            let mine = try await store.records.list(in: contacts, RecordQuery(), scope: uma.scope).records
            #expect(mine.map { $0["owner"] } == [.reference(uma.id)])
        }
    }
}
