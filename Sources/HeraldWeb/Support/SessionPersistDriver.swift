import HeraldCore
import Foundation
import Hummingbird
import HeraldStore

/// Keeps web sessions in Herald's database, so they survive restarts and are shared by every
/// `herald` process on one PostgreSQL. The session id is the cookie's secret, so only its
/// SHA-256 is stored: a copy of the database does not let anyone take over a session.
struct SessionPersistDriver: PersistDriver {
    let store: KeyValueStore

    /// The key a session id is stored under.
    static func storedKey(_ key: String) -> String { "session#" + Secrets.sha256(key) }

    func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let inserted = try await store.put(Self.storedKey(key), value: try encode(value), expiresAt: expiry(expires), onlyIfAbsent: true)
        if !inserted { throw PersistError.duplicate }
    }

    func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let key = Self.storedKey(key)
        let current = try await store.get(key)
        // A set without an expiry keeps the one the value already has.
        try await store.put(key, value: try encode(value), expiresAt: expires.map { expiry($0) } ?? current?.expiresAt)
    }

    func get<Object: Codable & Sendable>(key: String, as: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: Object.self)?.object
    }

    func getWithTTL<Object: Codable & Sendable>(key: String, as: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        guard let (text, expiresAt) = try await store.get(Self.storedKey(key)) else { return nil }
        guard let object = try? JSONDecoder().decode(Object.self, from: Data(text.utf8)) else { throw PersistError.invalidConversion }
        return (object, expiresAt.map { .seconds($0 - WallClock.epochSeconds()) })
    }

    func remove(key: String) async throws { try await store.remove(Self.storedKey(key)) }

    private func encode(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    private func expiry(_ duration: Duration?) -> Int64? {
        duration.map { WallClock.epochSeconds() + $0.components.seconds }
    }
}
