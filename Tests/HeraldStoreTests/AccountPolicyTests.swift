import Foundation
import HeraldCore
import HeraldStore
import SQLKit
import Testing

@Suite struct AccountPolicyTests {
    static let admin = User(id: 1, email: "a@example.com", name: "A", role: .admin, timeZone: "UTC", isActive: true)
    static let otherAdmin = User(id: 2, email: "b@example.com", name: "B", role: .admin, timeZone: "UTC", isActive: true)
    static let user = User(id: 3, email: "u@example.com", name: "U", role: .user, timeZone: "UTC", isActive: true)

    /// (change, target, actor, active admins) → the refused field, or nil when allowed.
    static let table: [(UserChange, User, User?, Int, String?)] = [
        (UserChange(isActive: false), user, admin, 1, nil),
        (UserChange(isActive: false), admin, admin, 2, "is_active"),          // not oneself
        (UserChange(isActive: false), otherAdmin, admin, 2, nil),
        (UserChange(isActive: false), admin, nil, 1, "is_active"),            // the last active admin, even for the operator
        (UserChange(role: .user), admin, admin, 1, "role"),
        (UserChange(role: .user), admin, admin, 2, nil),                      // another admin remains
        (UserChange(role: .admin), admin, admin, 1, nil),                     // no change of role at all
        (UserChange(role: .admin), user, nil, 1, nil),
        (UserChange(isActive: true), User(id: 4, email: "d@example.com", name: "D", role: .admin, timeZone: "UTC", isActive: false), admin, 1, nil),
        (UserChange(isActive: false), User(id: 4, email: "d@example.com", name: "D", role: .admin, timeZone: "UTC", isActive: false), admin, 1, nil),
        (UserChange(timeZone: "Mars/Base"), user, admin, 1, "time_zone"),
        (UserChange(name: "  "), user, admin, 1, "name"),
    ]

    @Test func whoMayChangeWhat() throws {
        for (i, (change, target, actor, admins, refused)) in Self.table.enumerated() {
            do {
                _ = try AccountPolicy.check(change, to: target, by: actor, activeAdmins: admins)
                #expect(refused == nil, "row \(i) should be refused at \(refused ?? "")")
            } catch let error as HeraldError {
                #expect(error.kind == .invalid && error.problems.map(\.field) == [refused].compactMap { $0 }, "row \(i): \(error.problems)")
            }
        }
        // Users change no one's role or activity, not even their own.
        for change in [UserChange(role: .admin), UserChange(isActive: false)] {
            #expect(throws: HeraldError.self) { try AccountPolicy.check(change, to: Self.user, by: Self.user, activeAdmins: 1) }
        }
        #expect(throws: HeraldError.self) { try AccountPolicy.check(UserChange(name: "X"), to: Self.admin, by: Self.user, activeAdmins: 1) }
    }

    @Test func whatAChangeTakesAway() throws {
        let off = try AccountPolicy.check(UserChange(isActive: false), to: Self.user, by: Self.admin, activeAdmins: 1)
        #expect(off.endSessions && off.revokeTokens)
        let renamed = try AccountPolicy.check(UserChange(name: "New"), to: Self.user, by: Self.admin, activeAdmins: 1)
        #expect(!renamed.endSessions && !renamed.revokeTokens)
        let password = try AccountPolicy.checkPassword(for: Self.user, by: Self.user)
        #expect(password.endSessions && password.revokeTokens)
        #expect(throws: HeraldError.self) { try AccountPolicy.checkPassword(for: Self.admin, by: Self.user) }
    }

    @Test func handingOver() throws {
        try AccountPolicy.checkHandOver(from: Self.user, to: Self.admin, by: Self.admin)
        #expect(throws: HeraldError.self) { try AccountPolicy.checkHandOver(from: Self.user, to: Self.user, by: Self.admin) }
        let gone = User(id: 4, email: "d@example.com", name: "D", role: .user, timeZone: "UTC", isActive: false)
        #expect(throws: HeraldError.self) { try AccountPolicy.checkHandOver(from: Self.user, to: gone, by: nil) }
        #expect(throws: HeraldError.self) { try AccountPolicy.checkHandOver(from: Self.user, to: Self.admin, by: Self.user) }
    }

    @Test(arguments: TestDatabase.kinds)
    func deactivatingEndsSessionsAndTokensAndHandingOverMovesEverything(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let admin = try await store.testAdmin()
            let sam = try await store.users.create(email: "sam@example.com", name: "Sam", role: .user, passwordHash: "x", timeZone: "UTC")
            let contacts = try await store.modules.named("contacts")
            for i in 0..<3 {
                _ = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("L\(i)")]), owner: sam.id)
            }
            let record = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("Admin's")]), owner: admin.id)
            _ = try await store.views.create(in: contacts, name: "Sam's view", criteria: .all([]), by: sam.id)
            _ = try await store.templates.create(in: contacts, name: "Sam's", subject: "Hi", html: "<p>Hi</p>", text: nil, by: sam.id)
            let open = CRMTask(id: 0, module: "contacts", recordID: record.id, subject: "Open", dueDate: nil, status: .notStarted,
                               priority: .high, assigneeID: sam.id, createdAt: 0, modifiedAt: 0)
            _ = try await store.tasks.create(open, in: contacts, by: admin.id)
            var done = open
            done.subject = "Done"
            done.status = .completed
            _ = try await store.tasks.create(done, in: contacts, by: admin.id)
            let (_, secret) = try await store.tokens.create(for: sam.id, name: "script")

            var expected = Holdings()
            expected.records = 3; expected.views = 1; expected.templates = 1; expected.openTasks = 1
            #expect(try await store.users.holdings(of: sam.id) == expected)

            let off = try await store.users.change(sam.id, UserChange(isActive: false), by: admin)
            #expect(!off.isActive && off.sessionEpoch == sam.sessionEpoch + 1)
            #expect(try await store.tokens.user(forSecret: secret) == nil)
            _ = try await store.users.change(sam.id, UserChange(isActive: true), by: admin)
            #expect(try await store.tokens.user(forSecret: secret) == nil, "reactivating does not revive a token")

            await #expect(throws: HeraldError.self) { _ = try await store.users.handOver(from: sam.id, to: sam.id, by: admin) }
            #expect(try await store.users.handOver(from: sam.id, to: admin.id, by: admin) == expected)
            #expect(try await store.users.holdings(of: sam.id) == Holdings())
            #expect(try await store.records.list(in: contacts, RecordQuery(), scope: .ownedBy(admin.id)).records.count == 4)
            let doneTasks = try await store.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM tasks WHERE assignee_id = \(bind: sam.id)").first()!.decode(column: "n", as: Int.self)
            }
            #expect(doneTasks == 1, "a completed task keeps who did it")

            // The last active admin stays one.
            await #expect(throws: HeraldError.self) { _ = try await store.users.change(admin.id, UserChange(role: .user), by: nil) }
            #expect(try await store.users.find(admin.id)?.isAdmin == true)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func twoAdminsDemotingEachOtherAtOnceLeaveOne(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let a = try await store.testAdmin()
            let b = try await store.users.create(email: "b@example.com", name: "B", role: .admin, passwordHash: "x", timeZone: "UTC")
            for _ in 0..<5 {
                async let first: Bool = (try? await store.users.change(a.id, UserChange(role: .user), by: b)) != nil
                async let second: Bool = (try? await store.users.change(b.id, UserChange(isActive: false), by: a)) != nil
                let (x, y) = await (first, second)
                #expect(x != y, "exactly one of the two goes through")
                #expect(try await store.users.all().filter { $0.isAdmin && $0.isActive }.count == 1)
                _ = try await store.users.change(a.id, UserChange(role: .admin, isActive: true), by: nil)
                _ = try await store.users.change(b.id, UserChange(role: .admin, isActive: true), by: nil)
            }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func tokensExpireAndNoteTheirUse(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let admin = try await store.testAdmin()
            await #expect(throws: HeraldError.self) { _ = try await store.tokens.create(for: admin.id, name: "x", expiresInDays: 0) }
            let (token, secret) = try await store.tokens.create(for: admin.id, name: "week", expiresInDays: 7)
            #expect(token.expiresAt == token.createdAt + 7 * 86_400)
            #expect(try await store.tokens.user(forSecret: secret)?.id == admin.id)
            #expect(try await store.tokens.all(for: admin.id).first?.lastUsedAt != nil)
            try await store.database.transaction { db in
                try await db.raw("UPDATE api_tokens SET expires_at = \(bind: WallClock.epochSeconds() - 1) WHERE id = \(bind: token.id)").run()
            }
            #expect(try await store.tokens.user(forSecret: secret) == nil)
            #expect(try await store.tokens.all(for: admin.id).first?.isSpent(now: WallClock.epochSeconds()) == true)
        }
    }
}

@Suite struct DatabaseURLRedactionTests {
    @Test func aPasswordNeverShowsInAMessage() async throws {
        // Loopback, a closed port: nothing is reached even if a URL is read.
        for url in ["postgres://herald:pa/ss@127.0.0.1:1/herald", "postgres://herald:p?w#d@127.0.0.1:1/herald", "postgres://h:x@y@127.0.0.1:1/herald"] {
            do {
                let db = try await DatabaseLocation(parsing: url).open(logger: TestDatabase.logger)
                await db.close()
                Issue.record("\(url) opened")
            } catch {
                let text = "\(error)"
                #expect(!text.contains("pa/ss") && !text.contains("p?w#d") && !text.contains("x@y"), "\(text)")
            }
            #expect(!"\(try? DatabaseLocation(parsing: url))".contains("pa/ss"))
        }
    }
}
