import Foundation
import HeraldCore
import HeraldStore
import Logging
import Testing

/// The databases every storage test runs on: SQLite always, PostgreSQL when the test script
/// started one (HERALD_TEST_POSTGRES_URL). With HERALD_REQUIRE_PEERS=1 a missing PostgreSQL
/// fails the tests instead of leaving them out.
enum TestDatabase {
    static let postgresURL = ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"]
    static let required = ProcessInfo.processInfo.environment["HERALD_REQUIRE_PEERS"] == "1"

    static var kinds: [DatabaseKind] {
        postgresURL != nil || required ? [.sqlite, .postgres] : [.sqlite]
    }

    static var logger: Logger {
        var l = Logger(label: "test")
        l.logLevel = .warning
        return l
    }

    /// A fresh, migrated database of `kind`, removed afterwards.
    /// - Parameter options: what `CREATE DATABASE` is also told, on PostgreSQL (a collation).
    static func withStore<T>(_ kind: DatabaseKind, options: String = "", _ body: (Store) async throws -> T) async throws -> T {
        let (location, cleanup) = try await fresh(kind, options: options)
        let store = try await Store.open(location, logger: logger)
        do {
            let result = try await body(store)
            await store.close()
            try await cleanup()
            return result
        } catch {
            await store.close()
            try? await cleanup()
            throw error
        }
    }

    /// A new empty database's location and a function that deletes it.
    static func fresh(_ kind: DatabaseKind, options: String = "") async throws -> (DatabaseLocation, () async throws -> Void) {
        switch kind {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("herald-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            return (.sqlite(path: dir.appendingPathComponent("test.sqlite").path), { try? FileManager.default.removeItem(at: dir) })
        case .postgres:
            guard let base = postgresURL else {
                Issue.record("HERALD_TEST_POSTGRES_URL is not set but HERALD_REQUIRE_PEERS=1: PostgreSQL tests cannot run")
                throw CancellationError()
            }
            let name = "herald_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            let admin = try PostgresStorage(url: base, maxConnections: 1, logger: logger)
            try await admin.read { db in try await db.raw("CREATE DATABASE \(ident: String(name)) \(unsafeRaw: options)").run() }
            await admin.close()
            var components = URLComponents(string: base)!
            components.path = "/" + name
            return (.postgres(url: components.string!), {
                let admin = try PostgresStorage(url: base, maxConnections: 1, logger: logger)
                try await admin.read { db in try await db.raw("DROP DATABASE IF EXISTS \(ident: String(name)) WITH (FORCE)").run() }
                await admin.close()
            })
        }
    }
}

import SQLKit

extension Store {
    /// The first admin, made for tests that need an owner.
    func testAdmin() async throws -> User {
        if let u = try await users.all().first { return u }
        return try await users.create(email: "admin@example.com", name: "Admin", role: .admin, passwordHash: "x", timeZone: "UTC")
    }
}
