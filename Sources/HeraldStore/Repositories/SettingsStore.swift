import Foundation
import HeraldCore
import SQLKit

/// Organisation-wide settings: its name and time zone, and Herald's own secrets, which are
/// stored sealed (``SecretKeyring``) and read back open.
public struct SettingsStore: Sendable {
    let database: any HeraldDatabase
    let keyring: SecretKeyring

    public static let organisationName = "organisation.name"
    public static let organisationTimeZone = "organisation.time_zone"
    /// The relay's URL, password and all, as set on the Mail page.
    public static let transportURLKey = "delivery.transport_url"

    /// A value sealed when the database first met a key: opening it at start proves that this
    /// process holds the database's key, before it needs any secret.
    static let keyCheckKey = "secrets.check"

    /// Whether the setting `key` is a secret, kept sealed.
    public static func isSecret(_ key: String) -> Bool {
        key == transportURLKey || key == engagementSecretKey || key == keyCheckKey || (key.hasPrefix("webhooks.") && key.hasSuffix(".secret"))
    }

    /// Checks that the keyring opens the database's secrets: the sealed check value when there
    /// is one; otherwise (a new database, or one from before sealing) writes a pending key file
    /// and seals the check value with it. Two processes starting at once agree on one key.
    func checkKeyring() async throws {
        func stored() async throws -> String? {
            try await database.read { db in
                try await db.raw("SELECT value FROM settings WHERE key = \(bind: SettingsStore.keyCheckKey)").first()?
                    .decode(column: "value", as: String.self)
            }
        }
        if let existing = try await stored() {
            _ = try keyring.open(existing)
            return
        }
        try keyring.persist()
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO settings (key, value) VALUES (\(bind: SettingsStore.keyCheckKey), \(bind: keyring.seal("herald")))
                ON CONFLICT (key) DO NOTHING
                """).run()
        }
        guard let check = try await stored() else { throw HeraldError.conflict("the key check could not be stored") }
        _ = try keyring.open(check)
    }

    public func value(_ key: String) async throws -> String? {
        let stored = try await database.read { db in
            try await db.raw("SELECT value FROM settings WHERE key = \(bind: key)").first()?.decode(column: "value", as: String.self)
        }
        return try stored.map { SettingsStore.isSecret(key) ? try keyring.open($0) : $0 }
    }

    public func set(_ key: String, to value: String) async throws {
        let stored = SettingsStore.isSecret(key) && !value.isEmpty ? keyring.seal(value) : value
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO settings (key, value) VALUES (\(bind: key), \(bind: stored))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """).run()
        }
    }

    public static let dailyQuotaKey = "delivery.daily_quota"

    /// How many messages the organisation may send a day (midnight to midnight in its time
    /// zone); nil for no limit.
    public func dailyQuota() async throws -> Int? {
        guard let text = try await value(SettingsStore.dailyQuotaKey), let n = Int(text), n > 0 else { return nil }
        return n
    }

    /// Sets the daily quota (nil or 0: no limit).
    public func setDailyQuota(_ quota: Int?) async throws {
        try await set(SettingsStore.dailyQuotaKey, to: quota.map(String.init) ?? "")
    }

    /// Today's date in the organisation's time zone: the day the quota counts.
    public func today(at instant: Date = Date()) async throws -> String {
        LocalDate(instant, in: try await timeZone()).description
    }

    static let engagementSecretKey = "engagement.secret"

    /// The secret that signs tracking, unsubscribe and bounce tokens: made at the first start
    /// and kept, so that links in mail already sent keep working. When several processes start
    /// at once on one database, the first one's secret is everyone's.
    public func engagementSecret() async throws -> String {
        if let secret = try await value(SettingsStore.engagementSecretKey) { return secret }
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO settings (key, value) VALUES (\(bind: SettingsStore.engagementSecretKey), \(bind: keyring.seal(Secrets.random(bytes: 32))))
                ON CONFLICT (key) DO NOTHING
                """).run()
        }
        guard let secret = try await value(SettingsStore.engagementSecretKey) else {
            throw HeraldError.conflict("the engagement secret could not be stored")
        }
        return secret
    }

    /// The organisation's time zone: where dates begin and end, and quotas reset.
    public func timeZone() async throws -> TimeZone {
        if let name = try await value(SettingsStore.organisationTimeZone), let zone = TimeZone(identifier: name) { return zone }
        return TimeZone(identifier: "UTC")!
    }
}

/// Small expiring values by key: the web sessions.
public struct KeyValueStore: Sendable {
    let database: any HeraldDatabase

    /// Stores `value` under `key`; with `onlyIfAbsent`, fails (returns false) when the key exists.
    @discardableResult
    public func put(_ key: String, value: String, expiresAt: Int64?, onlyIfAbsent: Bool = false) async throws -> Bool {
        try await database.transaction { db in
            if onlyIfAbsent {
                let row = try await db.raw("""
                    INSERT INTO kv_store (key, value, expires_at) VALUES (\(bind: key), \(bind: value), \(bind: expiresAt))
                    ON CONFLICT (key) DO NOTHING RETURNING key
                    """).first()
                return row != nil
            }
            try await db.raw("""
                INSERT INTO kv_store (key, value, expires_at) VALUES (\(bind: key), \(bind: value), \(bind: expiresAt))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
                """).run()
            return true
        }
    }

    /// The value and its expiry, unless it has expired.
    public func get(_ key: String, now: Int64 = WallClock.epochSeconds()) async throws -> (value: String, expiresAt: Int64?)? {
        try await database.read { db in
            guard let row = try await db.raw("SELECT value, expires_at FROM kv_store WHERE key = \(bind: key)").first() else { return nil }
            let expires = try row.decode(column: "expires_at", as: Int64?.self)
            if let expires, expires <= now { return nil }
            return (try row.decode(column: "value", as: String.self), expires)
        }
    }

    public func remove(_ key: String) async throws {
        try await database.transaction { db in try await db.raw("DELETE FROM kv_store WHERE key = \(bind: key)").run() }
    }

    /// Deletes expired values.
    public func purgeExpired(now: Int64 = WallClock.epochSeconds()) async throws {
        try await database.transaction { db in
            try await db.raw("DELETE FROM kv_store WHERE expires_at IS NOT NULL AND expires_at <= \(bind: now)").run()
        }
    }
}
