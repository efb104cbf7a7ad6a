import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Testing

/// Tasks and calls: one way in for the record page, "My tasks", "My calls" and the API.
@Suite struct ActivityActionsTests {
    @Test(arguments: TestDatabase.kinds)
    func whoSeesAddsAndChangesTasksAndCalls(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let activities = ActivityActions(store: store)
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let uma = try await store.users.create(email: "uma@example.com", name: "Uma", role: .user, passwordHash: "x", timeZone: "UTC")
            let ian = try await store.users.create(email: "ian@example.com", name: "Ian", role: .user, passwordHash: "x", timeZone: "UTC")
            func record(_ name: String, _ owner: User) async throws -> Record {
                try await store.records.create(in: contacts, RecordChanges(["last_name": .text(name), "owner": .reference(owner.id)]),
                                               owner: owner.id)
            }
            let umas = try await record("Uma's", uma), ians = try await record("Ian's", ian)
            func task(_ subject: String, on record: Record, for assignee: User) -> CRMTask {
                CRMTask(id: 0, module: "contacts", recordID: record.id, subject: subject, dueDate: nil, status: .notStarted,
                        priority: .normal, assigneeID: assignee.id, createdAt: 0, modifiedAt: 0)
            }

            // A new task goes only on a record its maker may see.
            let refused = await #expect(throws: HeraldError.self) { _ = try await activities.add(task("x", on: ians, for: uma), by: uma) }
            #expect(refused?.kind == .notFound)
            let onUmas = try await activities.add(task("Call Uma's", on: umas, for: uma), by: uma)
            // Ian's record, with a task Ian gives Uma: hers to see and complete, the record still not.
            let given = try await activities.add(task("For Uma", on: ians, for: uma), by: ian)
            let iansOwn = try await activities.add(task("Ian's own", on: ians, for: ian), by: ian)

            #expect(try await activities.task(given.id, for: uma).subject == "For Uma", "the assignee sees it")
            let hidden = await #expect(throws: HeraldError.self) { _ = try await activities.task(iansOwn.id, for: uma) }
            #expect(hidden?.kind == .notFound, "neither hers nor on a record she may see")
            #expect(try await activities.task(iansOwn.id, for: admin).id == iansOwn.id)
            await #expect(throws: HeraldError.self) { try await activities.deleteTask(iansOwn.id, by: uma) }
            await #expect(throws: HeraldError.self) { _ = try await activities.changeTask(iansOwn.id, by: uma) { $0.subject = "mine" } }

            // Lists: a user's own without a record; a record's needs the record to be visible.
            #expect(Set(try await activities.tasks(.init(), for: uma).map(\.id)) == [onUmas.id, given.id])
            #expect(Set(try await activities.tasks(.init(), for: admin).map(\.id)) == [onUmas.id, given.id, iansOwn.id])
            #expect(try await activities.tasks(.init(mine: true), for: admin).isEmpty)
            await #expect(throws: HeraldError.self) { _ = try await activities.tasks(.init(record: ("contacts", ians.id)), for: uma) }
            #expect(Set(try await activities.tasks(.init(record: ("contacts", ians.id)), for: ian).map(\.id)) == [given.id, iansOwn.id])

            // A change keeps the task on its record, whatever the change says.
            let done = try await activities.changeTask(given.id, by: uma) {
                $0.status = .completed
                $0.recordID = umas.id
            }
            #expect(done.status == .completed && done.recordID == ians.id)
            #expect(try await activities.tasks(.init(openOnly: true), for: uma).map(\.id) == [onUmas.id])

            // Calls follow the same rules, by their owner.
            let call = CRMCall(id: 0, module: "contacts", recordID: ians.id, subject: "Intro", ownerID: ian.id,
                               startAt: WallClock.epochSeconds() + 3600, status: .scheduled, createdAt: 0, modifiedAt: 0)
            await #expect(throws: HeraldError.self) { _ = try await activities.add(call, by: uma) }
            let made = try await activities.add(call, by: ian)
            await #expect(throws: HeraldError.self) { _ = try await activities.call(made.id, for: uma) }
            #expect(try await activities.calls(.init(), for: ian).map(\.id) == [made.id])
            #expect(try await activities.changeCall(made.id, by: ian) { $0.status = .completed }.status == .completed)
            try await activities.deleteCall(made.id, by: admin)
            #expect(try await activities.calls(.init(), for: ian).isEmpty)
        }
    }
}
