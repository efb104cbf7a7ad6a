import Foundation
import HeraldCore
import Logging
import NIOPosix
import SQLKit
import SQLiteKit

/// Herald's embedded database: one SQLite file in WAL mode.
///
/// One connection writes (SQLite has a single writer; serialising here means a transaction
/// never meets `SQLITE_BUSY` half-way), a few others read concurrently thanks to WAL.
public final class SQLiteStorage: HeraldDatabase {
    public let kind = DatabaseKind.sqlite
    private let writer: ResourcePool<SQLiteConnection>
    private let readers: ResourcePool<SQLiteConnection>
    private let logger: Logger

    public init(path: String, readers readerCount: Int = 4, logger: Logger) async throws {
        self.logger = logger
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        func open() async throws -> SQLiteConnection {
            let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            // busy_timeout covers other processes (the CLI beside a running server);
            // synchronous=NORMAL is safe with WAL: a crash loses no committed transaction's integrity.
            // cache_size: 2 MB a connection (five of them; SQLite's default), so memory stays flat
            // however large the database grows; the OS page cache holds the rest. 8 MB a
            // connection sent no faster and took 15-20 MB more at 300k messages.
            for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=10000", "PRAGMA foreign_keys=ON",
                           "PRAGMA synchronous=NORMAL", "PRAGMA cache_size=-2000", "PRAGMA temp_store=MEMORY"] {
                try await connection.sql().raw(SQLQueryString(pragma)).run()
            }
            return connection
        }
        do {
            let w = try await open()
            var rs: [SQLiteConnection] = []
            for _ in 0..<readerCount { rs.append(try await open()) }
            self.writer = ResourcePool([w])
            self.readers = ResourcePool(rs)
        } catch {
            throw HeraldError.invalid(field: "database", "cannot open SQLite database at \(path): \(error)")
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await readers.with { try await body($0.sql(queryLogLevel: .trace)) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writer.with { connection in
            // IMMEDIATE takes the write lock at once, so another process's writer makes us
            // wait (busy_timeout) here rather than fail in the middle of the transaction.
            try await connection.sql(queryLogLevel: .trace).inTransaction(begin: "BEGIN IMMEDIATE", body)
        }
    }

    public func close() async {
        for c in await writer.drain() + readers.drain() { try? await c.close() }
    }
}
