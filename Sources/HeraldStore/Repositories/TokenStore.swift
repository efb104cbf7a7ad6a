import Crypto
import Foundation
import HeraldCore
import SQLKit

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
    /// After this moment the token is refused; nil: it lasts until revoked.
    public var expiresAt: Int64?

    /// Whether the token is refused now.
    public func isSpent(now: Int64) -> Bool { revokedAt != nil || expiresAt.map { $0 <= now } ?? false }
}

/// API tokens, stored as SHA-256 hashes: a leaked database does not leak usable tokens.
public struct TokenStore: Sendable {
    let database: any HeraldDatabase

    /// The longest a token may be made to last, in days; a token may also last until revoked.
    public static let maximumLifetimeDays = 3650

    /// Creates a token and returns it with its secret, which is shown once and never stored.
    /// With `expiresInDays` it is refused after that many days.
    public func create(for userID: Int64, name: String, expiresInDays: Int? = nil) async throws -> (token: APIToken, secret: String) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        if let r = ModuleRules.labelProblem(trimmed) { throw HeraldError.invalid(field: "name", r) }
        if let days = expiresInDays, !(1...TokenStore.maximumLifetimeDays).contains(days) {
            throw HeraldError.invalid(field: "expires_in_days", "must be between 1 and \(TokenStore.maximumLifetimeDays), or absent for a token that lasts until revoked")
        }
        let secret = "hrd_" + Secrets.random(bytes: 32)
        let prefix = String(secret.prefix(10))
        let now = WallClock.epochSeconds()
        let expiresAt = expiresInDays.map { now + Int64($0) * 86_400 }
        return try await database.transaction { db in
            let row = try await db.raw("""
                INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at, expires_at)
                VALUES (\(bind: userID), \(bind: trimmed), \(bind: prefix), \(bind: Secrets.sha256(secret)), \(bind: now), \(bind: expiresAt))
                RETURNING id
                """).first()
            let token = APIToken(id: try row!.decode(column: "id", as: Int64.self), userID: userID, name: trimmed, prefix: prefix,
                                 createdAt: now, lastUsedAt: nil, revokedAt: nil, expiresAt: expiresAt)
            return (token, secret)
        }
    }

    public func all(for userID: Int64) async throws -> [APIToken] {
        try await database.read { db in
            try await db.raw("""
                SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at, expires_at FROM api_tokens
                WHERE user_id = \(bind: userID) ORDER BY id DESC
                """).all().map(TokenStore.token)
        }
    }

    /// Revokes one of the user's tokens.
    public func revoke(_ id: Int64, for userID: Int64) async throws {
        let now = WallClock.epochSeconds()
        try await database.transaction { db in
            let row = try await db.raw("""
                UPDATE api_tokens SET revoked_at = \(bind: now) WHERE id = \(bind: id) AND user_id = \(bind: userID) AND revoked_at IS NULL
                RETURNING id
                """).first()
            if row == nil { throw HeraldError.notFound("no active token \(id)") }
        }
    }

    /// The active user that a presented secret belongs to, if the token is neither revoked nor
    /// expired. Notes when the token was used, at most once a minute, so that reading the API
    /// does not turn every request into a write.
    public func user(forSecret secret: String) async throws -> User? {
        let hash = Secrets.sha256(secret)
        let now = WallClock.epochSeconds()
        let found = try await database.read { db -> (user: User, tokenID: Int64, lastUsed: Int64?)? in
            guard let row = try await db.raw("""
                SELECT u.id, u.email, u.name, u.role, u.time_zone, u.is_active, u.session_epoch, t.id AS token_id, t.last_used_at
                FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_hash = \(bind: hash) AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > \(bind: now))
                    AND u.is_active = \(bind: true)
                """).first() else { return nil }
            return (try UserStore.user(row), try row.decode(column: "token_id", as: Int64.self),
                    try row.decode(column: "last_used_at", as: Int64?.self))
        }
        guard let found else { return nil }
        if found.lastUsed.map({ now - $0 >= 60 }) ?? true {
            try await database.transaction { db in
                try await db.raw("UPDATE api_tokens SET last_used_at = \(bind: now) WHERE id = \(bind: found.tokenID)").run()
            }
        }
        return found.user
    }

    static func token(_ row: any SQLRow) throws -> APIToken {
        APIToken(id: try row.decode(column: "id", as: Int64.self), userID: try row.decode(column: "user_id", as: Int64.self),
                 name: try row.decode(column: "name", as: String.self), prefix: try row.decode(column: "prefix", as: String.self),
                 createdAt: try row.decode(column: "created_at", as: Int64.self),
                 lastUsedAt: try row.decode(column: "last_used_at", as: Int64?.self),
                 revokedAt: try row.decode(column: "revoked_at", as: Int64?.self),
                 expiresAt: try row.decode(column: "expires_at", as: Int64?.self))
    }
}
