import Foundation
import HeraldCore
import Mail
import SQLKit

/// Which SQL database Herald runs on. The schema is one; a few statements differ.
public enum DatabaseKind: String, Sendable {
    case sqlite
    case postgres
}

/// Access to Herald's database: reads on a pooled connection, writes in a transaction or,
/// one statement that may be tried again, as that statement alone.
///
/// SQLite allows one writer at a time; its storage serialises writers so that
/// transactions never fail with `SQLITE_BUSY`. PostgreSQL takes them as they come.
public protocol HeraldDatabase: Sendable {
    var kind: DatabaseKind { get }
    /// Runs `body` with a connection for reading.
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body`, which writes with one statement, atomic by itself: on PostgreSQL without
    /// BEGIN and COMMIT, two round trips fewer (a send's outcome groups); on
    /// SQLite as ``transaction(_:)``, whose BEGIN IMMEDIATE takes the write lock before the
    /// statement reads (a lone statement could meet another process's commit between its read
    /// and its write, and fail without waiting).
    func statement<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in a transaction, as `transaction` does, with a ``RowInserter`` that writes
    /// many rows of one table in that same transaction.
    func bulkTransaction<T: Sendable>(_ body: @Sendable (any SQLDatabase, any RowInserter) async throws -> T) async throws -> T
    /// Closes every connection.
    func close() async
}

/// Where the database is, parsed from `--database`.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    /// An SQLite file.
    case sqlite(path: String)
    /// A PostgreSQL server, by URL (`postgres://user:pass@host:port/db`).
    case postgres(url: String)

    /// Reads `sqlite:///abs/path`, `sqlite://relative/path`, a bare path, or `postgres://…`.
    public init(parsing text: String) throws {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else if text.hasPrefix("sqlite://") {
            let path = String(text.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw HeraldError.invalid(field: "database", "sqlite:// needs a file path, e.g. sqlite:///var/lib/herald.sqlite") }
            self = .sqlite(path: path)
        } else if text.contains("://") {
            throw HeraldError.invalid(field: "database", "unknown database URL scheme in '\(DatabaseLocation.redacted(text))'; use sqlite:///path or postgres://user:pass@host:port/db")
        } else {
            guard !text.isEmpty else { throw HeraldError.invalid(field: "database", "must not be empty") }
            self = .sqlite(path: text)
        }
    }

    /// The location with any password replaced, for logs and messages.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite://\(path)"
        case .postgres(let url): DatabaseLocation.redacted(url)
        }
    }

    static func redacted(_ url: String) -> String { TransportURL.redact(url) }
}

extension DatabaseLocation {
    /// Opens the database.
    public func open(logger: Logging.Logger) async throws -> any HeraldDatabase {
        switch self {
        case .sqlite(let path):
            return try await SQLiteStorage(path: path, logger: logger)
        case .postgres(let url):
            let storage = try PostgresStorage(url: url, logger: logger)
            do {
                try await storage.probe()
            } catch {
                await storage.close()
                throw error
            }
            return storage
        }
    }
}

import Logging

extension SQLDatabase {
    /// Runs `body` between `begin` and COMMIT, rolling back when it throws. The two storages
    /// differ only in how they begin (SQLite takes the write lock at once).
    func inTransaction<T: Sendable>(begin: SQLQueryString, _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await raw(begin).run()
        do {
            let result = try await body(self)
            try await raw("COMMIT").run()
            return result
        } catch {
            try? await raw("ROLLBACK").run()
            throw error
        }
    }
}
