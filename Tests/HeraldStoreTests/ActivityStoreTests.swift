import Foundation
import HeraldCore
import HeraldStore
import Testing

@Suite struct ActivityStoreTests {
    struct Fixture {
        var store: Store
        var contacts: Module
        var admin: User
        var colleague: User
        var record: Int64
    }

    static func fixture(_ store: Store) async throws -> Fixture {
        let contacts = try await store.modules.named("contacts")
        let admin = try await store.testAdmin()
        let colleague = try await store.users.create(email: "sam@example.com", name: "Sam", role: .user, passwordHash: "x", timeZone: "UTC")
        let record = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("Lee"), "email": .text("ann@example.com")]),
                                                    owner: admin.id).id
        return Fixture(store: store, contacts: contacts, admin: admin, colleague: colleague, record: record)
    }

    static func task(_ f: Fixture, _ subject: String, due: LocalDate?, assignee: Int64, status: CRMTask.Status = .notStarted) -> CRMTask {
        CRMTask(id: 0, module: "contacts", recordID: f.record, subject: subject, dueDate: due, status: status, priority: .high,
                assigneeID: assignee, createdAt: 0, modifiedAt: 0)
    }

    @Test(arguments: TestDatabase.kinds)
    func tasksBelongToARecordAndTheirAssignee(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await Self.fixture(store)
            let later = try await store.tasks.create(Self.task(f, "Send the offer", due: LocalDate(iso: "2026-12-10"), assignee: f.colleague.id),
                                                     in: f.contacts, by: f.admin.id)
            let sooner = try await store.tasks.create(Self.task(f, "Call back", due: LocalDate(iso: "2026-12-01"), assignee: f.colleague.id),
                                                      in: f.contacts, by: f.admin.id)
            _ = try await store.tasks.create(Self.task(f, "Mine", due: nil, assignee: f.admin.id), in: f.contacts, by: f.admin.id)
            #expect(sooner.module == "contacts" && sooner.recordID == f.record && sooner.priority == .high && sooner.status == .notStarted)

            // The colleague's, soonest due first; the record's, all three.
            #expect(try await store.tasks.list(ActivityFilter(user: f.colleague.id)).map(\.subject) == ["Call back", "Send the offer"])
            #expect(try await store.tasks.list(ActivityFilter(record: ("contacts", f.record))).count == 3)
            #expect(try await store.tasks.list(ActivityFilter(record: ("leads", f.record))).isEmpty)

            var done = sooner
            done.status = .completed
            let saved = try await store.tasks.update(done, in: f.contacts)
            #expect(saved.status == .completed)
            // Done ones go last, and open-only leaves them out.
            #expect(try await store.tasks.list(ActivityFilter(user: f.colleague.id)).map(\.subject) == ["Send the offer", "Call back"])
            #expect(try await store.tasks.list(ActivityFilter(user: f.colleague.id, openOnly: true)).map(\.id) == [later.id])

            try await store.tasks.delete(later.id)
            await #expect(throws: HeraldError.self) { try await store.tasks.find(later.id) }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func aTaskOrCallIsCheckedWholeBeforeItIsWritten(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await Self.fixture(store)
            var bad = Self.task(f, "  ", due: nil, assignee: 999)
            bad.recordID = 12345
            let error = await #expect(throws: HeraldError.self) { try await store.tasks.create(bad, in: f.contacts, by: f.admin.id) }
            #expect(Set(error?.problems.map(\.field) ?? []) == ["subject", "record_id", "assignee_id"])
            let call = CRMCall(id: 0, module: "contacts", recordID: f.record, subject: "Line one\nline two", ownerID: 999, startAt: 0,
                               status: .scheduled, createdAt: 0, modifiedAt: 0)
            let callError = await #expect(throws: HeraldError.self) { try await store.calls.create(call, in: f.contacts, by: f.admin.id) }
            #expect(Set(callError?.problems.map(\.field) ?? []) == ["subject", "owner_id"])
            #expect(try await store.tasks.list(ActivityFilter()).isEmpty)
            #expect(try await store.calls.list(ActivityFilter()).isEmpty)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func callsListScheduledSoonestFirstAndGoWithTheirRecord(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let f = try await Self.fixture(store)
            func call(_ subject: String, at: Int64, status: CRMCall.Status = .scheduled) -> CRMCall {
                CRMCall(id: 0, module: "contacts", recordID: f.record, subject: subject, ownerID: f.colleague.id, startAt: at,
                        status: status, createdAt: 0, modifiedAt: 0)
            }
            _ = try await store.calls.create(call("Late", at: 2_000), in: f.contacts, by: f.admin.id)
            let early = try await store.calls.create(call("Early", at: 1_000), in: f.contacts, by: f.admin.id)
            _ = try await store.calls.create(call("Old", at: 500, status: .completed), in: f.contacts, by: f.admin.id)
            #expect(try await store.calls.list(ActivityFilter(user: f.colleague.id)).map(\.subject) == ["Early", "Late", "Old"])
            var moved = early
            moved.startAt = 3_000
            moved.status = .completed
            #expect(try await store.calls.update(moved, in: f.contacts).status == .completed)
            #expect(try await store.calls.list(ActivityFilter(user: f.colleague.id, openOnly: true)).map(\.subject) == ["Late"])

            _ = try await store.tasks.create(Self.task(f, "Follow up", due: nil, assignee: f.admin.id), in: f.contacts, by: f.admin.id)
            try await store.records.delete(in: f.contacts, id: f.record, scope: .all)
            #expect(try await store.calls.list(ActivityFilter()).isEmpty)
            #expect(try await store.tasks.list(ActivityFilter()).isEmpty)
        }
    }
}
