import Crypto
import Foundation
import HeraldCore
import SQLKit

/// Users and their password hashes. Hashing is the caller's (bcrypt, in the web layer).
public struct UserStore: Sendable {
    let database: any HeraldDatabase

    public func all() async throws -> [User] {
        try await database.read { db in
            try await db.raw("SELECT \(UserStore.columns) FROM users ORDER BY id").all().map(UserStore.user)
        }
    }

    public func count() async throws -> Int {
        try await database.read { try await $0.raw("SELECT COUNT(*) AS n FROM users").first()!.decode(column: "n", as: Int.self) }
    }

    public func find(_ id: Int64) async throws -> User? {
        try await database.read { db in
            try await db.raw("SELECT \(UserStore.columns) FROM users WHERE id = \(bind: id)").first().map(UserStore.user)
        }
    }

    /// The user with this email (case-insensitive) and their password hash.
    public func credentials(email: String) async throws -> (user: User, passwordHash: String)? {
        try await database.read { db in
            guard let row = try await db.raw("""
                SELECT \(UserStore.columns), password_hash FROM users WHERE lower(email) = \(bind: EmailAddress.normalized(email))
                """).first() else { return nil }
            return (try UserStore.user(row), try row.decode(column: "password_hash", as: String.self))
        }
    }

    /// Creates a user; the email must be valid and unused, the time zone a named IANA zone.
    public func create(email: String, name: String, role: User.Role, passwordHash: String, timeZone: String) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces)
        let name = name.trimmingCharacters(in: .whitespaces)
        var problems = ProblemList()
        problems.add(contentsOf: UserStore.problems(email: email, name: name, timeZone: timeZone))
        try problems.check()
        let now = WallClock.epochSeconds()
        return try await database.transaction { db in
            if try await db.raw("SELECT id FROM users WHERE lower(email) = \(bind: EmailAddress.normalized(email))").first() != nil {
                throw HeraldError.conflict("a user with email \(email) already exists", problems: [Problem(field: "email", reason: "already in use")])
            }
            let row = try await db.raw("""
                INSERT INTO users (email, name, role, password_hash, time_zone, is_active, created_at)
                VALUES (\(bind: email), \(bind: name), \(bind: role.rawValue), \(bind: passwordHash), \(bind: timeZone), \(bind: true), \(bind: now))
                RETURNING id
                """).first()
            return User(id: try row!.decode(column: "id", as: Int64.self), email: email, name: name, role: role, timeZone: timeZone, isActive: true)
        }
    }

    /// What is wrong with a new user's address, name and time zone (every problem, not the first).
    public static func problems(email: String, name: String, timeZone: String) -> [Problem] {
        var problems = ProblemList()
        let email = email.trimmingCharacters(in: .whitespaces)
        if !EmailAddress.isValid(email) { problems.add("email", "'\(email)' is not a valid email address") }
        if let r = ModuleRules.labelProblem(name.trimmingCharacters(in: .whitespaces)) { problems.add("name", r) }
        if TimeZone(identifier: timeZone) == nil { problems.add("time_zone", "'\(timeZone)' is not a time zone name like Europe/Berlin") }
        return problems.problems
    }

    /// The user with this email (case-insensitive).
    public func find(email: String) async throws -> User? {
        try await database.read { db in
            try await db.raw("SELECT \(UserStore.columns) FROM users WHERE lower(email) = \(bind: EmailAddress.normalized(email))")
                .first().map(UserStore.user)
        }
    }

    /// Changes another person's account as ``AccountPolicy`` allows; returns the user as now stored.
    public func change(_ id: Int64, _ change: UserChange, by actor: User?) async throws -> User {
        try await database.transaction { db in
            // PostgreSQL: lock the active admins' rows, so that two admins demoting each other at
            // once cannot both see the other still there (the second waits, then counts one).
            // SQLite runs one writing transaction at a time.
            let lock: SQLQueryString = database.kind == .postgres ? "FOR UPDATE" : ""
            let admins = try await db.raw("""
                SELECT id FROM users WHERE role = 'admin' AND is_active = \(bind: true) ORDER BY id \(lock)
                """).all().count
            var target = try await UserStore.load(id, db: db)
            let consequences = try AccountPolicy.check(change, to: target, by: actor, activeAdmins: admins)
            if let name = change.name { target.name = name.trimmingCharacters(in: .whitespaces) }
            if let role = change.role { target.role = role }
            if let zone = change.timeZone { target.timeZone = zone }
            if let active = change.isActive { target.isActive = active }
            try await db.raw("""
                UPDATE users SET name = \(bind: target.name), role = \(bind: target.role.rawValue), time_zone = \(bind: target.timeZone),
                    is_active = \(bind: target.isActive) WHERE id = \(bind: id)
                """).run()
            return try await UserStore.apply(consequences, to: target, db: db)
        }
    }

    /// Sets a new password (already hashed), by its owner or an admin; every session of the
    /// user ends and every token is revoked. Returns the user with the new session epoch, so
    /// that the caller can keep its own session alive.
    public func setPassword(_ id: Int64, hash: String, by actor: User?) async throws -> User {
        try await database.transaction { db in
            let target = try await UserStore.load(id, db: db)
            let consequences = try AccountPolicy.checkPassword(for: target, by: actor)
            try await db.raw("UPDATE users SET password_hash = \(bind: hash) WHERE id = \(bind: id)").run()
            return try await UserStore.apply(consequences, to: target, db: db)
        }
    }

    /// What a user owns that ``handOver(from:to:by:)`` would move: records, every mass email,
    /// open tasks, scheduled calls, and the views, static lists and templates they made.
    public func holdings(of id: Int64) async throws -> Holdings {
        try await database.read { db in try await UserStore.holdings(of: id, db: db, moveTo: nil) }
    }

    /// Hands everything `from` owns to `to` (an admin's step after deactivating someone) and
    /// says how much moved. Completed tasks and past calls keep who did them.
    public func handOver(from: Int64, to: Int64, by actor: User?) async throws -> Holdings {
        try await database.transaction { db in
            // PostgreSQL: both rows locked, so that a deactivation committed meanwhile is seen.
            let lock: SQLQueryString = database.kind == .postgres ? "FOR UPDATE" : ""
            let source = try await UserStore.load(from, db: db, lock: lock)
            let target = try await UserStore.load(to, db: db, field: "to_user_id", lock: lock)
            try AccountPolicy.checkHandOver(from: source, to: target, by: actor)
            return try await UserStore.holdings(of: from, db: db, moveTo: to)
        }
    }

    /// Counts, or with `moveTo` moves, what a user owns.
    static func holdings(of id: Int64, db: any SQLDatabase, moveTo: Int64?) async throws -> Holdings {
        func count(_ table: String, _ column: String, _ extra: SQLQueryString = "1=1") async throws -> Int {
            if let moveTo {
                return try await db.raw("""
                    UPDATE \(ident: table) SET \(ident: column) = \(bind: moveTo) WHERE \(ident: column) = \(bind: id) AND \(extra) RETURNING id
                    """).all().count
            }
            return try await db.raw("SELECT COUNT(*) AS n FROM \(ident: table) WHERE \(ident: column) = \(bind: id) AND \(extra)")
                .first()!.decode(column: "n", as: Int.self)
        }
        var holdings = Holdings()
        for module in try await ModuleStore.load(from: db) {
            holdings.records += try await count(module.table, "f_" + BuiltinFields.owner)
        }
        holdings.massEmails = try await count("mass_emails", "owner_id")
        holdings.openTasks = try await count("tasks", "assignee_id", "status <> \(bind: CRMTask.Status.completed.rawValue)")
        holdings.scheduledCalls = try await count("calls", "owner_id", "status = \(bind: CRMCall.Status.scheduled.rawValue)")
        holdings.views = try await count("views", "created_by")
        holdings.lists = try await count("static_lists", "created_by")
        holdings.templates = try await count("templates", "created_by")
        return holdings
    }

    static func load(_ id: Int64, db: any SQLDatabase, field: String? = nil, lock: SQLQueryString = "") async throws -> User {
        guard let user = try await db.raw("SELECT \(UserStore.columns) FROM users WHERE id = \(bind: id) \(lock)").first().map(UserStore.user) else {
            if let field { throw HeraldError.invalid(field: field, "there is no user \(id)") }
            throw HeraldError.notFound("there is no user \(id)")
        }
        return user
    }

    static func apply(_ consequences: AccountPolicy.Consequences, to user: User, db: any SQLDatabase) async throws -> User {
        var user = user
        if consequences.endSessions {
            user.sessionEpoch += 1
            try await db.raw("UPDATE users SET session_epoch = \(bind: user.sessionEpoch) WHERE id = \(bind: user.id)").run()
        }
        if consequences.revokeTokens {
            try await db.raw("""
                UPDATE api_tokens SET revoked_at = \(bind: WallClock.epochSeconds()) WHERE user_id = \(bind: user.id) AND revoked_at IS NULL
                """).run()
        }
        return user
    }

    static let columns: SQLQueryString = "id, email, name, role, time_zone, is_active, session_epoch"

    static func user(_ row: any SQLRow) throws -> User {
        User(id: try row.decode(column: "id", as: Int64.self),
             email: try row.decode(column: "email", as: String.self),
             name: try row.decode(column: "name", as: String.self),
             role: User.Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .user,
             timeZone: try row.decode(column: "time_zone", as: String.self),
             isActive: try row.decode(column: "is_active", as: Bool.self),
             sessionEpoch: try row.decode(column: "session_epoch", as: Int64.self))
    }
}
