import Foundation
import HeraldCore
import HeraldStore
import Testing

@Suite struct RecordStoreTests {
    @Test(arguments: TestDatabase.kinds)
    func createReadUpdateDelete(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let deals = try await store.modules.named("deals")
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let contact = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("Lee"), "email": .text("lee@example.com")]), owner: admin.id)
            let inputs: [String: FieldInput] = ["deal_name": .json("Big one"), "amount": .json(1234.5), "stage": .json("qualification"),
                                                "closing_date": .json("2026-12-31"), "contact": .json(.number(Double(contact.id)))]
            let deal = try await store.records.create(in: deals, try RecordChanges.validate(inputs, module: deals, creating: true).get(), owner: admin.id)
            #expect(deal["amount"] == .currency(123_450))
            #expect(deal["stage"] == .text("Qualification"))
            let read = try #require(try await store.records.find(in: deals, id: deal.id, scope: .all))
            #expect(read["closing_date"] == .date(LocalDate(year: 2026, month: 12, day: 31)!))
            #expect(read["contact"] == .reference(contact.id))
            #expect(read.ownerID == admin.id)
            #expect(read["created_at"] != nil)
            let updated = try await store.records.update(in: deals, id: deal.id, RecordChanges(["amount": FieldValue?.none]), scope: .all)
            #expect(updated["amount"] == nil)
            try await store.records.delete(in: deals, id: deal.id, scope: .all)
            #expect(try await store.records.find(in: deals, id: deal.id, scope: .all) == nil)
            await #expect(throws: HeraldError.self) { try await store.records.delete(in: deals, id: deal.id, scope: .all) }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func referencesMustExist(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let deals = try await store.modules.named("deals")
            let admin = try await store.testAdmin()
            do {
                _ = try await store.records.create(in: deals, RecordChanges([
                    "deal_name": .text("X"), "stage": .text("Qualification"), "contact": .reference(999), "owner": .reference(777),
                ]), owner: admin.id)
                Issue.record("expected a refusal")
            } catch let error as HeraldError {
                #expect(Set(error.problems.map(\.field)) == ["contact", "owner"])
            }
            #expect(try await store.records.count(in: deals, criteria: .all([]), scope: .all) == 0, "nothing half-written")
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func usersSeeOnlyTheirRecords(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let user = try await store.users.create(email: "u@example.com", name: "U", role: .user, passwordHash: "x", timeZone: "Europe/Berlin")
            let mine = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("Mine")]), owner: user.id)
            let theirs = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("Theirs")]), owner: admin.id)
            #expect(try await store.records.list(in: contacts, RecordQuery(), scope: user.scope).records.map(\.id) == [mine.id])
            #expect(try await store.records.find(in: contacts, id: theirs.id, scope: user.scope) == nil)
            await #expect(throws: HeraldError.self) {
                _ = try await store.records.update(in: contacts, id: theirs.id, RecordChanges(["last_name": .text("Hacked")]), scope: user.scope)
            }
            #expect(try await store.records.list(in: contacts, RecordQuery(), scope: admin.scope).total == 2)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func staticLists(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            var ids: [Int64] = []
            for name in ["A", "B", "C"] {
                ids.append(try await store.records.create(in: contacts, RecordChanges(["last_name": .text(name)]), owner: admin.id).id)
            }
            let list = try await store.lists.create(in: contacts, name: "VIPs", by: admin.id)
            _ = try await store.lists.add([ids[0], ids[2], ids[0]], to: list.id, in: contacts)
            #expect(try await store.records.list(in: contacts, RecordQuery(within: .list(list.id)), scope: .all).records.map(\.id) == [ids[0], ids[2]])
            // Searched within the list, as the list page does.
            #expect(try await store.records.list(in: contacts, RecordQuery(search: "C", within: .list(list.id)), scope: .all).records.map(\.id) == [ids[2]])
            await #expect(throws: HeraldError.self) { _ = try await store.lists.add([424242], to: list.id, in: contacts) }
            try await store.records.delete(in: contacts, id: ids[0], scope: .all)
            #expect(try await store.lists.find(list.id, in: contacts).memberCount == 1)
            await #expect(throws: HeraldError.self) { _ = try await store.lists.create(in: contacts, name: "vips", by: nil) }
            // Renamed (to its own name in another case too); not to another list's.
            #expect(try await store.lists.rename(list.id, in: contacts, to: " vips ").name == "vips")
            let other = try await store.lists.create(in: contacts, name: "Other", by: admin.id)
            await #expect(throws: HeraldError.self) { _ = try await store.lists.rename(other.id, in: contacts, to: "VIPS") }
            #expect(try await store.lists.find(other.id, in: contacts).name == "Other")
            try await store.lists.delete(other.id, in: contacts)
            // A user is told of the members they own: those are whom their mass email to it reaches.
            let user = try await store.users.create(email: "u@example.com", name: "U", role: .user, passwordHash: "x", timeZone: "Europe/Berlin")
            let theirs = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("Theirs")]), owner: user.id)
            #expect(try await store.lists.add([theirs.id], to: list.id, in: contacts).memberCount == 2)
            #expect(try await store.lists.find(list.id, in: contacts, scope: user.scope).memberCount == 1)
            #expect(try await store.lists.find(list.id, in: contacts).memberCount == 2)
            #expect(try await store.lists.all(in: contacts, scope: user.scope).map(\.memberCount) == [1])
            let stranger = try await store.users.create(email: "s@example.com", name: "S", role: .user, passwordHash: "x", timeZone: "UTC")
            // A deactivated user gets no record; one they own already is still edited.
            let leaver = try await store.users.create(email: "l@example.com", name: "L", role: .user, passwordHash: "x", timeZone: "UTC")
            let kept = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("Kept")]), owner: leaver.id)
            _ = try await store.users.change(leaver.id, UserChange(isActive: false), by: try await store.testAdmin())
            await #expect(throws: HeraldError.self) {
                _ = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("New")]), owner: leaver.id)
            }
            let edited = try await store.records.update(in: contacts, id: kept.id,
                                                        RecordChanges(["last_name": .text("Edited"), "owner": .reference(leaver.id)]), scope: .all)
            #expect(edited["last_name"] == .text("Edited"))
            #expect(try await store.lists.all(in: contacts, scope: stranger.scope).map(\.memberCount) == [0])
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func tokensAndSessions(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let admin = try await store.testAdmin()
            let (token, secret) = try await store.tokens.create(for: admin.id, name: "CI")
            #expect(secret.hasPrefix("hrd_") && token.prefix == String(secret.prefix(10)))
            #expect(try await store.tokens.user(forSecret: secret)?.id == admin.id)
            #expect(try await store.tokens.user(forSecret: secret + "x") == nil)
            try await store.tokens.revoke(token.id, for: admin.id)
            #expect(try await store.tokens.user(forSecret: secret) == nil)
            #expect(try await store.keyValues.put("k", value: "v", expiresAt: nil, onlyIfAbsent: true))
            #expect(try await store.keyValues.put("k", value: "w", expiresAt: nil, onlyIfAbsent: true) == false)
            try await store.keyValues.put("old", value: "v", expiresAt: 1)
            #expect(try await store.keyValues.get("old") == nil)
            #expect(try await store.keyValues.get("k")?.value == "v")
        }
    }
}
