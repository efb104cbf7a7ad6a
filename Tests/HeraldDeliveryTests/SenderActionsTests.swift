import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Testing

/// The sender addresses' one way in for the page and the API.
@Suite struct SenderActionsTests {
    @Test(arguments: TestDatabase.kinds)
    func everyoneListsAdminsChangeAndEachComesWithItsSigning(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind) { h in
            let senders = h.delivery.senders
            let user = try await h.store.users.create(email: "uma@example.com", name: "Uma", role: .user, passwordHash: "x", timeZone: "UTC")
            let input = SenderActions.Input(email: "offers@example.org", name: "Offers", replyTo: nil, ratePerMinute: 60, ratePerHour: nil)

            let refused = await #expect(throws: HeraldError.self) { _ = try await senders.create(input, by: user) }
            #expect(refused?.kind == .forbidden)
            await #expect(throws: HeraldError.self) { _ = try await senders.update(h.sender.id, input, by: user) }
            await #expect(throws: HeraldError.self) { try await senders.delete(h.sender.id, by: user) }
            #expect(try await senders.list().map(\.sender.email) == ["news@example.com"], "nothing changed")

            do {
                _ = try await senders.create(SenderActions.Input(email: "nope", name: "Two\nlines", replyTo: nil, ratePerMinute: 0,
                                                                 ratePerHour: nil), by: h.admin)
                Issue.record("a bad sender was accepted")
            } catch let error as HeraldError {
                #expect(error.kind == .invalid)
                #expect(error.problems.map(\.field) == ["email", "name", "rate_per_minute"], "every problem at once")
            }

            let created = try await senders.create(input, by: h.admin)
            #expect(created.sender.email == "offers@example.org" && created.sender.ratePerMinute == 60)
            #expect(created.authentication?.state == .unsigned, "no sending domain covers it yet")
            var changed = input
            changed.name = "Special offers"
            let updated = try await senders.update(created.sender.id, changed, by: h.admin)
            #expect(updated.sender.name == "Special offers")
            #expect(try await senders.list().map(\.sender.email).sorted() == ["news@example.com", "offers@example.org"])
            try await senders.delete(created.sender.id, by: h.admin)
            let gone = await #expect(throws: HeraldError.self) { _ = try await senders.find(created.sender.id) }
            #expect(gone?.kind == .notFound)
        }
    }
}
