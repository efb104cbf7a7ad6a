import Crypto
import Foundation
import HeraldCore
import SQLKit

/// An address Herald never sends to, and why.
public struct Suppression: Sendable, Hashable {
    public var address: String
    /// `unsubscribed`, `hard bounce`, `complaint`, or what an admin wrote.
    public var reason: String
    public var detail: String?
    public var createdAt: Int64
}

/// Addresses that are never sent to again: unsubscribed, hard-bounced, added by an admin,
/// and erased people's, which the list holds only as a keyed hash (``erasedKey(_:secret:)``).
public struct SuppressionStore: Sendable {
    let database: any HeraldDatabase
    let settings: SettingsStore

    /// Which of `addresses` (normalised, lower case) are suppressed, in plain text or, for an
    /// erased person's, by their keyed hash.
    public func suppressed(among addresses: [String]) async throws -> Set<String> {
        guard !addresses.isEmpty else { return [] }
        let secret = try await settings.engagementSecret()
        return try await database.read { db in
            // Hashing every address costs more than the lookup: only when someone was erased.
            // The range is of what starts "hmac" in any collation (a PostgreSQL database's may
            // order ';' before ':', or pass over punctuation), so the index finds it; the prefix
            // itself is then compared as bytes.
            let erased = try await db.raw("""
                SELECT 1 AS found FROM suppressions
                WHERE address >= 'hmac' AND address < 'hmad' AND substr(address, 1, 5) = 'hmac:' LIMIT 1
                """).first() != nil
            let keys = erased ? ErasedAddressKeys(secret: secret) : nil
            var out = Set<String>()
            for start in stride(from: 0, to: addresses.count, by: 500) {
                let chunk = Array(addresses[start..<min(start + 500, addresses.count)])
                var byKey: [String: String] = [:]
                if let keys { for address in chunk { byKey[keys.key(for: address)] = address } }
                let wanted = chunk + Array(byKey.keys)
                for row in try await db.raw("SELECT address FROM suppressions WHERE address IN (\(binds: wanted))").all() {
                    let found = try row.decode(column: "address", as: String.self)
                    out.insert(byKey[found] ?? found)
                }
            }
            return out
        }
    }

    /// The entries of `addresses` that are on the list in plain text, with why and since when
    /// (a record's page says so).
    public func entries(_ addresses: [String]) async throws -> [Suppression] {
        guard !addresses.isEmpty else { return [] }
        return try await database.read { db in
            try await db.raw("SELECT address, reason, detail, created_at FROM suppressions WHERE address IN (\(binds: addresses)) ORDER BY address")
                .all().map { row in
                    Suppression(address: try row.decode(column: "address", as: String.self), reason: try row.decode(column: "reason", as: String.self),
                                detail: try row.decode(column: "detail", as: String?.self), createdAt: try row.decode(column: "created_at", as: Int64.self))
                }
        }
    }

    /// How the suppression list holds an erased person's address (``ErasedAddressKeys``).
    public static func erasedKey(_ address: String, secret: String) -> String {
        ErasedAddressKeys(secret: secret).key(for: address)
    }

    /// Whether a suppression list entry is an erased person's keyed hash.
    public static func isErasedKey(_ entry: String) -> Bool { entry.hasPrefix("hmac:") }

    /// Suppresses an address (kept as it was first suppressed when already there).
    public func add(_ address: String, reason: String, detail: String? = nil, now: Int64 = WallClock.epochSeconds()) async throws {
        try await database.transaction { db in
            try await Self.add(address, reason: reason, detail: detail, now: now, in: db)
        }
    }

    /// The same, inside a transaction already open (recording a bounce suppresses in the
    /// bounce's own transaction).
    static func add(_ address: String, reason: String, detail: String?, now: Int64, in db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO suppressions (address, reason, detail, created_at)
            VALUES (\(bind: address.lowercased()), \(bind: reason), \(bind: detail.map { String($0.prefix(500)) }), \(bind: now))
            ON CONFLICT (address) DO NOTHING
            """).run()
    }

    /// Takes `address` off the list; 404 (``HeraldError/notFound(_:)``) when it is not on it.
    public func remove(_ address: String) async throws {
        try await database.transaction { db in
            let gone = try await db.raw("DELETE FROM suppressions WHERE address = \(bind: address.lowercased()) RETURNING address").first()
            if gone == nil { throw HeraldError.notFound("\(address.prefix(254)) is not on the suppression list") }
        }
    }

    /// Adds many addresses (normalised already) with one reason; returns how many were new.
    public func add(_ addresses: [String], reason: String, detail: String? = nil, now: Int64 = WallClock.epochSeconds()) async throws -> Int {
        try await database.transaction { db in
            var added = 0
            for start in stride(from: 0, to: addresses.count, by: 500) {
                let rows = addresses[start..<min(start + 500, addresses.count)].map { address -> SQLQueryString in
                    "(\(bind: address), \(bind: reason), \(bind: detail), \(bind: now))"
                }
                added += try await db.raw("""
                    INSERT INTO suppressions (address, reason, detail, created_at) VALUES \(rows.joined(separator: ", "))
                    ON CONFLICT (address) DO NOTHING RETURNING address
                    """).all().count
            }
            return added
        }
    }

    /// Suppressed addresses in address order after `after`, those containing `search` only
    /// when it is given.
    /// `scope` and `modules`: see ``visible(to:modules:)``.
    public func page(search: String? = nil, after: String = "", limit: Int = 100, scope: AccessScope = .all,
                     modules: [Module] = []) async throws -> [Suppression] {
        let filter = Self.filter(search, kind: database.kind)
        return try await database.read { db in
            try await db.raw("""
                SELECT address, reason, detail, created_at FROM suppressions
                WHERE address > \(bind: after) AND \(filter) AND \(Self.visible(to: scope, modules: modules))
                ORDER BY address LIMIT \(literal: limit)
                """).all().map {
                Suppression(address: try $0.decode(column: "address", as: String.self), reason: try $0.decode(column: "reason", as: String.self),
                            detail: try $0.decode(column: "detail", as: String?.self), createdAt: try $0.decode(column: "created_at", as: Int64.self))
            }
        }
    }

    /// How many addresses are suppressed (containing `search`, when given; of those `scope` may
    /// see, ``visible(to:modules:)``).
    public func count(search: String? = nil, scope: AccessScope = .all, modules: [Module] = []) async throws -> Int {
        let filter = Self.filter(search, kind: database.kind)
        return try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM suppressions WHERE \(filter) AND \(Self.visible(to: scope, modules: modules))")
                .first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// The condition that a suppressed address is one `scope` may see: every one for an admin;
    /// for a user, the addresses of records they own in `modules` (those with an email field of
    /// their own), so that the list tells nobody of the people in others' records. Each probe
    /// reads the module's index of lower-cased addresses.
    static func visible(to scope: AccessScope, modules: [Module]) -> SQLQueryString {
        guard case .ownedBy = scope else { return "1=1" }
        let probes: [SQLQueryString] = modules.compactMap { module in
            guard let email = module.emailField else { return nil }
            return """
                EXISTS (SELECT 1 FROM \(ident: module.table) r WHERE lower(r.\(ident: email.column)) = suppressions.address
                        AND \(RecordStore.scopeSQL(scope)))
                """
        }
        guard !probes.isEmpty else { return "1=0" }
        return "(" + probes.joined(separator: " OR ") + ")"
    }

    static func filter(_ search: String?, kind: DatabaseKind) -> SQLQueryString {
        search.map { CriteriaSQL.like("address", "%" + CriteriaSQL.escapeLike($0) + "%", kind: kind) } ?? "1=1"
    }
}
