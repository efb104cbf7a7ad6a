import Crypto
import Foundation
import HeraldCore
import SQLKit

/// A person who logs in to Herald.
public struct User: Sendable, Hashable, Codable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        /// Sees and changes everything, manages modules, users and settings.
        case admin
        /// Sees and changes the records they own.
        case user
    }

    public var id: Int64
    public var email: String
    public var name: String
    public var role: Role
    public var timeZone: String
    public var isActive: Bool

    /// The records this user may see and change.
    public var scope: AccessScope { role == .admin ? .all : .ownedBy(id) }
    public var isAdmin: Bool { role == .admin }
}

/// Users and their password hashes. Hashing is the caller's (bcrypt, in the web layer).
public struct UserStore: Sendable {
    let database: any HeraldDatabase

    public func all() async throws -> [User] {
        try await database.read { db in
            try await db.raw("SELECT id, email, name, role, time_zone, is_active FROM users ORDER BY id").all().map(UserStore.user)
        }
    }

    public func count() async throws -> Int {
        try await database.read { try await $0.raw("SELECT COUNT(*) AS n FROM users").first()!.decode(column: "n", as: Int.self) }
    }

    public func find(_ id: Int64) async throws -> User? {
        try await database.read { db in
            try await db.raw("SELECT id, email, name, role, time_zone, is_active FROM users WHERE id = \(bind: id)").first().map(UserStore.user)
        }
    }

    /// The user with this email (case-insensitive) and their password hash.
    public func credentials(email: String) async throws -> (user: User, passwordHash: String)? {
        try await database.read { db in
            guard let row = try await db.raw("""
                SELECT id, email, name, role, time_zone, is_active, password_hash FROM users WHERE lower(email) = \(bind: EmailAddress.normalized(email))
                """).first() else { return nil }
            return (try UserStore.user(row), try row.decode(column: "password_hash", as: String.self))
        }
    }

    /// Creates a user; the email must be valid and unused, the time zone a named IANA zone.
    public func create(email: String, name: String, role: User.Role, passwordHash: String, timeZone: String) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces)
        let name = name.trimmingCharacters(in: .whitespaces)
        var problems = ProblemList()
        if !EmailAddress.isValid(email) { problems.add("email", "'\(email)' is not a valid email address") }
        if let r = ModuleRules.labelProblem(name) { problems.add("name", r) }
        if TimeZone(identifier: timeZone) == nil { problems.add("time_zone", "'\(timeZone)' is not a time zone name like Europe/Berlin") }
        try problems.check()
        let now = Clock.epochSeconds()
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

    public func setPassword(_ userID: Int64, hash: String) async throws {
        try await database.transaction { db in
            try await db.raw("UPDATE users SET password_hash = \(bind: hash) WHERE id = \(bind: userID)").run()
        }
    }

    static func user(_ row: any SQLRow) throws -> User {
        User(id: try row.decode(column: "id", as: Int64.self),
             email: try row.decode(column: "email", as: String.self),
             name: try row.decode(column: "name", as: String.self),
             role: User.Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .user,
             timeZone: try row.decode(column: "time_zone", as: String.self),
             isActive: try row.decode(column: "is_active", as: Bool.self))
    }
}

/// An API token as its owner sees it: never the secret itself after creation.
public struct APIToken: Sendable, Hashable {
    public var id: Int64
    public var userID: Int64
    public var name: String
    /// The first characters of the token, to tell tokens apart.
    public var prefix: String
    public var createdAt: Int64
    public var lastUsedAt: Int64?
    public var revokedAt: Int64?
}

/// API tokens, stored as SHA-256 hashes: a leaked database does not leak usable tokens.
public struct TokenStore: Sendable {
    let database: any HeraldDatabase

    /// Creates a token and returns it with its secret, which is shown once and never stored.
    public func create(for userID: Int64, name: String) async throws -> (token: APIToken, secret: String) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        if let r = ModuleRules.labelProblem(trimmed) { throw HeraldError.invalid(field: "name", r) }
        let secret = "hrd_" + Secrets.random(bytes: 32)
        let prefix = String(secret.prefix(10))
        let now = Clock.epochSeconds()
        return try await database.transaction { db in
            let row = try await db.raw("""
                INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at)
                VALUES (\(bind: userID), \(bind: trimmed), \(bind: prefix), \(bind: Secrets.sha256(secret)), \(bind: now)) RETURNING id
                """).first()
            let token = APIToken(id: try row!.decode(column: "id", as: Int64.self), userID: userID, name: trimmed, prefix: prefix,
                                 createdAt: now, lastUsedAt: nil, revokedAt: nil)
            return (token, secret)
        }
    }

    public func all(for userID: Int64) async throws -> [APIToken] {
        try await database.read { db in
            try await db.raw("""
                SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens
                WHERE user_id = \(bind: userID) ORDER BY id DESC
                """).all().map(TokenStore.token)
        }
    }

    /// Revokes one of the user's tokens.
    public func revoke(_ id: Int64, for userID: Int64) async throws {
        let now = Clock.epochSeconds()
        try await database.transaction { db in
            let row = try await db.raw("""
                UPDATE api_tokens SET revoked_at = \(bind: now) WHERE id = \(bind: id) AND user_id = \(bind: userID) AND revoked_at IS NULL
                RETURNING id
                """).first()
            if row == nil { throw HeraldError.notFound("no active token \(id)") }
        }
    }

    /// The active user that a presented secret belongs to, if any.
    public func user(forSecret secret: String) async throws -> User? {
        let hash = Secrets.sha256(secret)
        return try await database.read { db in
            try await db.raw("""
                SELECT u.id, u.email, u.name, u.role, u.time_zone, u.is_active FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_hash = \(bind: hash) AND t.revoked_at IS NULL AND u.is_active = \(bind: true)
                """).first().map(UserStore.user)
        }
    }

    static func token(_ row: any SQLRow) throws -> APIToken {
        APIToken(id: try row.decode(column: "id", as: Int64.self), userID: try row.decode(column: "user_id", as: Int64.self),
                 name: try row.decode(column: "name", as: String.self), prefix: try row.decode(column: "prefix", as: String.self),
                 createdAt: try row.decode(column: "created_at", as: Int64.self),
                 lastUsedAt: try row.decode(column: "last_used_at", as: Int64?.self),
                 revokedAt: try row.decode(column: "revoked_at", as: Int64?.self))
    }
}

/// Random secrets and their hashes.
public enum Secrets {
    /// `bytes` random bytes from the system's secure generator, base64url without padding.
    public static func random(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
