import Foundation
import HeraldCore
import SQLKit

/// The organisation's sending domains and their DKIM keys. Keys are made by the caller
/// (`HeraldDelivery.SendingDomains`, with the Mail library) and stored here; a private key
/// is read back only to sign (``signingKeys(now:)``), never to show.
public struct DomainStore: Sendable {
    let database: any HeraldDatabase
    /// Private keys are stored sealed.
    let keyring: SecretKeyring

    /// A key to store: made, not yet saved.
    public struct NewKey: Sendable {
        public var selector: String
        public var algorithm: DomainKey.Algorithm
        public var privateKeyPEM: String
        public var publicRecord: String

        public init(selector: String, algorithm: DomainKey.Algorithm, privateKeyPEM: String, publicRecord: String) {
            self.selector = selector
            self.algorithm = algorithm
            self.privateKeyPEM = privateKeyPEM
            self.publicRecord = publicRecord
        }
    }

    /// A key messages are signed with now, with its private key.
    public struct SigningKey: Sendable, Hashable {
        public var domain: String
        public var selector: String
        public var algorithm: DomainKey.Algorithm
        public var privateKeyPEM: String
    }

    public func all() async throws -> [SendingDomain] {
        try await database.read { db in
            let keys = try await Self.keys(db: db)
            return try await db.raw("SELECT id, name, created_at, checked_at FROM sending_domains ORDER BY name").all().map { row in
                let id = try row.decode(column: "id", as: Int64.self)
                return SendingDomain(id: id, name: try row.decode(column: "name", as: String.self),
                                     createdAt: try row.decode(column: "created_at", as: Int64.self), keys: keys[id] ?? [],
                                     checkedAt: try row.decode(column: "checked_at", as: Int64?.self))
            }
        }
    }

    public func find(_ id: Int64) async throws -> SendingDomain {
        guard let domain = try await all().first(where: { $0.id == id }) else { throw HeraldError.notFound("no sending domain \(id)") }
        return domain
    }

    /// Adds a domain with its first keys; 409 when it is there already.
    public func create(name: String, keys: [NewKey], now: Int64) async throws -> SendingDomain {
        let name = try SendingDomain.checkName(name)
        let id = try await database.transaction { db in
            if try await db.raw("SELECT id FROM sending_domains WHERE name = \(bind: name)").first() != nil {
                throw HeraldError.conflict("\(name) is a sending domain already")
            }
            let id = try await db.raw("INSERT INTO sending_domains (name, created_at) VALUES (\(bind: name), \(bind: now)) RETURNING id")
                .first()!.decode(column: "id", as: Int64.self)
            try await Self.insert(keys, domain: id, now: now, keyring: keyring, db: db)
            return id
        }
        return try await find(id)
    }

    /// Makes `keys` the ones messages are signed with; the keys they replace stay valid (and
    /// listed with their record) until `keepOldUntil`.
    public func rotate(_ id: Int64, to keys: [NewKey], keepOldUntil: Int64, now: Int64) async throws -> SendingDomain {
        try await database.transaction { db in
            guard try await db.raw("SELECT id FROM sending_domains WHERE id = \(bind: id)").first() != nil else {
                throw HeraldError.notFound("no sending domain \(id)")
            }
            try await db.raw("""
                UPDATE domain_keys SET replaced_at = \(bind: now), retires_at = \(bind: keepOldUntil)
                WHERE domain_id = \(bind: id) AND replaced_at IS NULL
                """).run()
            try await Self.insert(keys, domain: id, now: now, keyring: keyring, db: db)
        }
        return try await find(id)
    }

    public func delete(_ id: Int64) async throws {
        try await database.transaction { db in
            guard try await db.raw("DELETE FROM sending_domains WHERE id = \(bind: id) RETURNING id").first() != nil else {
                throw HeraldError.notFound("no sending domain \(id)")
            }
        }
    }

    /// Records a DNS check: when it ran, and which keys' records were found as published
    /// (the others lose their verification).
    public func checked(_ id: Int64, verifiedKeys: Set<Int64>, now: Int64) async throws {
        try await database.transaction { db in
            try await db.raw("UPDATE sending_domains SET checked_at = \(bind: now) WHERE id = \(bind: id)").run()
            let verified = Array(verifiedKeys) + [-1]  // never empty: IN () is not SQL
            try await db.raw("""
                UPDATE domain_keys SET verified_at = CASE WHEN id IN (\(binds: verified)) THEN COALESCE(verified_at, \(bind: now)) ELSE NULL END
                WHERE domain_id = \(bind: id)
                """).run()
        }
    }

    /// Every key that signs now (not replaced), with its private key: what the signer loads.
    public func signingKeys() async throws -> [SigningKey] {
        try await database.read { db in
            try await db.raw("""
                SELECT d.name, k.selector, k.algorithm, k.private_key FROM domain_keys k JOIN sending_domains d ON d.id = k.domain_id
                WHERE k.replaced_at IS NULL ORDER BY d.name, k.id
                """).all().compactMap { row in
                guard let algorithm = DomainKey.Algorithm(rawValue: try row.decode(column: "algorithm", as: String.self)) else { return nil }
                return SigningKey(domain: try row.decode(column: "name", as: String.self), selector: try row.decode(column: "selector", as: String.self),
                                  algorithm: algorithm, privateKeyPEM: try keyring.open(try row.decode(column: "private_key", as: String.self)))
            }
        }
    }

    /// Every selector used on the domain, to name a new key apart from them.
    public func selectors(of id: Int64) async throws -> Set<String> {
        Set(try await find(id).keys.map(\.selector))
    }

    private static func insert(_ keys: [NewKey], domain: Int64, now: Int64, keyring: SecretKeyring, db: any SQLDatabase) async throws {
        for key in keys {
            try await db.raw("""
                INSERT INTO domain_keys (domain_id, selector, algorithm, private_key, public_record, created_at)
                VALUES (\(bind: domain), \(bind: key.selector), \(bind: key.algorithm.rawValue), \(bind: keyring.seal(key.privateKeyPEM)),
                        \(bind: key.publicRecord), \(bind: now))
                """).run()
        }
    }

    /// The keys of every domain, by domain, newest first (RSA before Ed25519 made with it).
    /// The keys in use come first, then those replaced, the last replaced first: by their
    /// creation time alone, a rotation in the second the keys were made listed old and new
    /// keys interleaved.
    private static func keys(db: any SQLDatabase) async throws -> [Int64: [DomainKey]] {
        var out: [Int64: [DomainKey]] = [:]
        for row in try await db.raw("""
            SELECT id, domain_id, selector, algorithm, public_record, created_at, replaced_at, retires_at, verified_at
            FROM domain_keys
            ORDER BY (replaced_at IS NULL) DESC, replaced_at DESC, created_at DESC, CASE algorithm WHEN 'rsa-sha256' THEN 0 ELSE 1 END, id DESC
            """).all() {
            guard let algorithm = DomainKey.Algorithm(rawValue: try row.decode(column: "algorithm", as: String.self)) else { continue }
            out[try row.decode(column: "domain_id", as: Int64.self), default: []].append(DomainKey(
                id: try row.decode(column: "id", as: Int64.self), selector: try row.decode(column: "selector", as: String.self),
                algorithm: algorithm, publicRecord: try row.decode(column: "public_record", as: String.self),
                createdAt: try row.decode(column: "created_at", as: Int64.self),
                replacedAt: try row.decode(column: "replaced_at", as: Int64?.self), retiresAt: try row.decode(column: "retires_at", as: Int64?.self),
                verifiedAt: try row.decode(column: "verified_at", as: Int64?.self)))
        }
        return out
    }
}
