import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Testing

/// The one way pages and the API act on a mass email: who may, and what each action does.
@Suite struct MassEmailActionsTests {
    @Test(arguments: TestDatabase.kinds)
    func onlyItsOwnerOrAnAdminMayActAndTheRulesHoldForBoth(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind) { h in
            let actions = h.delivery.massEmails
            let owner = try await h.store.users.create(email: "olga@example.com", name: "Olga", role: .user, passwordHash: "x", timeZone: "UTC")
            let other = try await h.store.users.create(email: "otto@example.com", name: "Otto", role: .user, passwordHash: "x", timeZone: "UTC")
            let olgas = try await h.store.records.create(in: h.contacts, RecordChanges(["last_name": .text("A"), "email": .text("a@example.org"),
                                                                                        "owner": .reference(owner.id)]), owner: owner.id).id
            let later = MassEmailDraft(name: "Later", recipients: .records([olgas]), templateID: h.template.id,
                                       senderID: h.sender.id, schedule: .at(date: LocalDate(year: 2027, month: 6, day: 1)!, hour: 9, minute: 0, timeZone: "UTC"))
            let m = try await actions.create(later, in: h.contacts, by: owner)
            #expect(m.ownerID == owner.id && m.status == .scheduled)

            // To anyone else it does not exist, whatever they try.
            func hidden(_ what: String, _ action: () async throws -> Any) async {
                await #expect(throws: HeraldError.self, "\(what)") {
                    do { _ = try await action() } catch let error as HeraldError {
                        #expect(error.kind == .notFound, "\(what): \(error.message)")
                        throw error
                    }
                }
            }
            await hidden("find") { try await actions.find(m.id, for: other) }
            await hidden("update") { try await actions.update(m.id, with: later, in: h.contacts, by: other) }
            await hidden("stop") { try await actions.stop(m.id, by: other) }
            await hidden("pause") { try await actions.pause(m.id, by: other) }
            await hidden("resume") { try await actions.resume(m.id, by: other) }
            await hidden("stop a follow-up") { try await actions.stopFollowUp(m.id, step: 1, by: other) }
            await hidden("pick a winner") { try await actions.pickWinner(m.id, variant: 1, by: other) }
            await hidden("delete") { try await actions.delete(m.id, by: other) }
            #expect(try await h.store.massEmails.find(m.id).status == .scheduled, "nothing the other user tried changed it")

            // Its owner and an admin may; a follow-up it does not have is not found.
            var renamed = later
            renamed.name = "Renamed"
            #expect(try await actions.update(m.id, with: renamed, in: h.contacts, by: owner).name == "Renamed")
            await hidden("no such follow-up") { try await actions.stopFollowUp(m.id, step: 1, by: owner) }
            let stopped = try await actions.stop(m.id, by: h.admin)
            #expect(stopped.status == .stopped)
            await #expect(throws: HeraldError.self) { try await actions.stop(m.id, by: owner) }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func pauseNamesWhoPausedAndResumeSendsTheRest(kind: DatabaseKind) async throws {
        // A slow server, so that the pause comes while it sends.
        try await EngineHarness.with(kind, serverDelay: .milliseconds(40)) { h in
            var ids: [Int64] = []
            for n in 0..<30 { ids.append(try await h.contact("p\(n)@example.org")) }
            let m = try await h.sendNow(ids)
            let paused = try await h.delivery.massEmails.pause(m.id, by: h.admin)
            #expect(paused.status == .paused && paused.statusReason == "paused by Admin")
            let resumed = try await h.delivery.massEmails.resume(m.id, by: h.admin)
            #expect(resumed.status == .sending)
            try await h.eventually("all 30 sent") { try await h.store.massEmails.find(m.id).status == .sent }
            #expect(Set(h.inbox.deliveries.map(\.to)).count == 30)
        }
    }
}
