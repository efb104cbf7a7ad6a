import Foundation
import HeraldCore
import Logging
import NIOPosix
import SQLKit
import SQLiteKit
import Synchronization
import VaporCSQLite

/// Herald's embedded database: one SQLite file in WAL mode.
///
/// One connection writes (SQLite has a single writer; serialising here means a transaction
/// never meets `SQLITE_BUSY` half-way), a few others read concurrently thanks to WAL.
public final class SQLiteStorage: HeraldDatabase {
    public let kind = DatabaseKind.sqlite
    private let writer: ResourcePool<SQLiteConnection>
    private let readers: ResourcePool<SQLiteConnection>
    /// The writer's own `sqlite3*`, for ``SQLiteRowInserter``; used only while the writer is leased.
    private let writerHandle: SQLiteHandle
    private let logger: Logger

    public init(path: String, readers readerCount: Int = 4, logger: Logger) async throws {
        self.logger = logger
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        func open(first: Bool = false) async throws -> SQLiteConnection {
            let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            // busy_timeout covers other processes (the CLI beside a running server);
            // synchronous=NORMAL is safe with WAL: a crash loses no committed transaction's integrity.
            // cache_size: 2 MB a connection (five of them; SQLite's default), so memory stays flat
            // however large the database grows; the OS page cache holds the rest. 8 MB a
            // connection sent no faster and took 15-20 MB more at 300k messages.
            // journal_size_limit: see ``walSizeLimit``.
            do {
                // Before the first pragma: WAL mode is written into the file, which must stay as
                // it was if it is another application's.
                if first { try await Migrator.refuseAnotherApplications(connection.sql(), kind: .sqlite) }
                for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=10000", "PRAGMA foreign_keys=ON",
                               "PRAGMA synchronous=NORMAL", "PRAGMA cache_size=-2000", "PRAGMA temp_store=MEMORY",
                               "PRAGMA journal_size_limit=\(Self.walSizeLimit)"] {
                    try await connection.sql().raw(SQLQueryString(pragma)).run()
                }
            } catch {
                // A file that is no database fails here: closed, or SQLiteNIO traps as it goes.
                try? await connection.close()
                throw error
            }
            return connection
        }
        var opened: [SQLiteConnection] = []
        do {
            let w = try await open(first: true)
            opened.append(w)
            writerHandle = try SQLiteHandle(of: w, path: path)
            var rs: [SQLiteConnection] = []
            for _ in 0..<readerCount {
                let r = try await open()
                opened.append(r)
                rs.append(r)
            }
            self.writer = ResourcePool([w])
            self.readers = ResourcePool(rs)
        } catch {
            for connection in opened { try? await connection.close() }
            if let error = error as? HeraldError { throw error }
            throw HeraldError.invalid(field: "database", "cannot open SQLite database at \(path): \(error)")
        }
    }

    /// The size the WAL file is cut back to each time SQLite starts it again. Without it the
    /// file keeps the largest size it ever had until the last connection closes: after one
    /// large transaction, or many written while a long read kept every checkpoint from
    /// finishing (an export beside a send), that space stayed taken while Herald ran. Above
    /// what a million-row import's WAL reaches between restarts (about 20 MB), so an import
    /// does not cut the file and grow it again and again.
    static let walSizeLimit = 32 << 20

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await readers.with { try await body(SQLiteSQLDatabase($0)) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writer.with { connection in
            // IMMEDIATE takes the write lock at once, so another process's writer makes us
            // wait (busy_timeout) here rather than fail in the middle of the transaction.
            try await SQLiteSQLDatabase(connection).inTransaction(begin: "BEGIN IMMEDIATE", body)
        }
    }

    public func statement<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await transaction(body)
    }

    /// A transaction of many rows (a CSV import's). Most commit without checkpointing the
    /// WAL, and a reading connection checkpoints it beside the next transaction; every
    /// ``checkpointingCommit``-th first finishes the checkpoint on the writer, so that it
    /// starts the WAL again from its beginning.
    ///
    /// Why: SQLite checkpoints in the commit of any transaction that leaves more than 1,000
    /// pages in the WAL, which in a large import is nearly every one, and the import waits for
    /// its writer: checkpoints were a tenth of a million-row import's writer. A passive
    /// checkpoint on another connection takes no lock the writer waits for. But SQLite starts
    /// the WAL again only in a transaction that began when all of it was copied, which
    /// never happens while a checkpoint runs beside a busy writer: left to those, the WAL of a
    /// million-row import grew to 70-107 MB; this way it stays below
    /// ``checkpointingCommit`` transactions' pages (about 8 MB in the test, 20 MB for a
    /// million contacts, where the import alone kept 5 MB).
    public func bulkTransaction<T: Sendable>(_ body: @Sendable (any SQLDatabase, any RowInserter) async throws -> T) async throws -> T {
        let rows = SQLiteRowInserter(handle: writerHandle)
        let handle = writerHandle
        let checkpointsBeside = bulkTransactions.wrappingAdd(1, ordering: .relaxed).newValue % Self.checkpointingCommit != 0
        // The checkpoint beside must have ended, or the one below finds the WAL locked.
        if !checkpointsBeside { await checkpointBeside.withLock { $0 }?.value }
        let result = try await writer.with { connection in
            if checkpointsBeside {
                sqlite_nio_sqlite3_wal_autocheckpoint(handle.raw, 0)
            } else {
                try await connection.sql().raw("PRAGMA wal_checkpoint(PASSIVE)").run()
            }
            defer { if checkpointsBeside { sqlite_nio_sqlite3_wal_autocheckpoint(handle.raw, Self.autocheckpointPages) } }
            return try await SQLiteSQLDatabase(connection).inTransaction(begin: "BEGIN IMMEDIATE") { db in try await body(db, rows) }
        }
        if checkpointsBeside { startCheckpointBeside() }
        return result
    }

    /// Every how many bulk transactions one starts the WAL again (see ``bulkTransaction(_:)``).
    static let checkpointingCommit = 8
    /// SQLite's default: a commit that leaves more pages than this in the WAL checkpoints it.
    static let autocheckpointPages: Int32 = 1000

    private let bulkTransactions = Atomic<Int>(0)
    private let checkpointRunning = Atomic<Bool>(false)
    private let checkpointBeside = Mutex<Task<Void, Never>?>(nil)

    /// Checkpoints the WAL on a reading connection, unless such a checkpoint is running; its
    /// failure (a reader pool being closed) is left to the next one, as SQLite's own are.
    private func startCheckpointBeside() {
        guard !checkpointRunning.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let task = Task { [self] in
            defer { checkpointRunning.store(false, ordering: .releasing) }
            try? await readers.with { try await $0.sql().raw("PRAGMA wal_checkpoint(PASSIVE)").run() }
        }
        checkpointBeside.withLock { $0 = task }
    }

    public func close() async {
        for c in await writer.drain() + readers.drain() { try? await c.close() }
    }
}

/// An open connection's `sqlite3*`.
///
/// SQLiteNIO keeps it internal and prepares each statement anew; a bulk insert needs one
/// statement prepared once and stepped per row (see ``RowInserter``). So it is read from the
/// connection by reflection, once, when the storage opens, and checked: the handle must name
/// the file just opened. A SQLiteNIO that stores it differently fails there, at start and in
/// every test, never half-way through an import.
struct SQLiteHandle: @unchecked Sendable {
    let raw: OpaquePointer

    init(of connection: SQLiteConnection, path: String) throws {
        let box = Mirror(reflecting: connection).descendant("handle")
        guard let box, let raw = Mirror(reflecting: box).descendant("raw") as? OpaquePointer,
              let name = sqlite_nio_sqlite3_db_filename(raw, "main"),
              (String(cString: name) as NSString).lastPathComponent == (path as NSString).lastPathComponent else {
            throw HeraldError.invalid(field: "database", "this build's SQLiteNIO does not expose its connection handle as Herald expects (SQLiteStorage.SQLiteHandle)")
        }
        self.raw = raw
    }
}

/// SQLite's bulk insert: a prepared INSERT of many rows (``rowsPerStatement``), each row's
/// values bound and the statement stepped once for all of them, on NIO's thread pool as
/// SQLiteNIO runs its own statements. Callers hold the writer (``SQLiteStorage/bulkTransaction(_:)``),
/// so nothing else uses the connection meanwhile.
///
/// Why many rows a step: within one statement SQLite keeps its cursors on the table and on
/// each index where the last row went, and a row that goes at the end (a new id; an index on
/// the owner, the creation time, the same for every row) is placed without a search from the
/// root. Stepped a row at a time, every row searched all six B-trees of a record table from
/// their roots: twice the work of the same inserts as one `INSERT … SELECT` in `sqlite3`.
struct SQLiteRowInserter: RowInserter {
    let handle: SQLiteHandle

    /// Rows a statement, at most; fewer for a wide table (see ``maxBinds``).
    static let rowsPerStatement = 256
    /// Values bound in one statement, at most: SQLite's default limit (sqlite-nio builds with
    /// a higher one), so that a module of many fields stays within any build's.
    static let maxBinds = 32_766

    func insert(into table: String, columns: [String], rows: [[SQLCell]]) async throws {
        guard !columns.isEmpty, !rows.isEmpty else { return }
        precondition(rows.allSatisfy { $0.count == columns.count }, "a cell for each column")
        let head = "INSERT INTO \"\(table)\" (" + columns.map { "\"\($0)\"" }.joined(separator: ", ") + ") VALUES "
        let handle = self.handle
        let width = columns.count
        try await NIOThreadPool.singleton.runIfActive {
            try Self.run(head, width: width, rows: rows, on: handle.raw)
        }
    }

    private static func run(_ head: String, width: Int, rows: [[SQLCell]], on db: OpaquePointer) throws {
        let perStatement = max(1, min(rowsPerStatement, maxBinds / width))
        // At most two statements: one of `perStatement` rows, and one for the rows left after the last full one.
        var statements: [Int: OpaquePointer] = [:]
        defer { for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) } }
        func statement(rows count: Int) throws -> OpaquePointer {
            if let statement = statements[count] { return statement }
            let tuple = "(" + repeatElement("?", count: width).joined(separator: ", ") + ")"
            let sql = head + repeatElement(tuple, count: count).joined(separator: ", ")
            var prepared: OpaquePointer?
            guard sqlite_nio_sqlite3_prepare_v2(db, sql, -1, &prepared, nil) == SQLITE_OK, let statement = prepared else {
                throw SQLiteStatementError(db: db, doing: "preparing the insert")
            }
            statements[count] = statement
            return statement
        }
        // SQLITE_TRANSIENT: SQLite copies the text, which lives only for the bind call.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        var start = 0
        while start < rows.count {
            let end = min(start + perStatement, rows.count)
            let statement = try statement(rows: end - start)
            var parameter: Int32 = 1
            for row in rows[start..<end] {
                for cell in row {
                    let status: Int32
                    switch cell {
                    case .null: status = sqlite_nio_sqlite3_bind_null(statement, parameter)
                    case .integer(let value): status = sqlite_nio_sqlite3_bind_int64(statement, parameter, value)
                    case .real(let value): status = sqlite_nio_sqlite3_bind_double(statement, parameter, value)
                    case .text(var value):
                        status = value.withUTF8 { bytes in
                            // An empty buffer may have no address, which SQLite would bind as NULL.
                            bytes.baseAddress.map { sqlite_nio_sqlite3_bind_text(statement, parameter, $0, Int32(bytes.count), transient) }
                                ?? sqlite_nio_sqlite3_bind_text(statement, parameter, "", 0, transient)
                        }
                    }
                    guard status == SQLITE_OK else { throw SQLiteStatementError(db: db, doing: "binding a value") }
                    parameter += 1
                }
            }
            guard sqlite_nio_sqlite3_step(statement) == SQLITE_DONE else { throw SQLiteStatementError(db: db, doing: "inserting rows") }
            sqlite_nio_sqlite3_reset(statement)
            start = end
        }
    }
}

/// A failed call of ``SQLiteRowInserter``, with SQLite's own message.
struct SQLiteStatementError: Error, CustomStringConvertible {
    let description: String

    init(db: OpaquePointer, doing what: String) {
        let message = sqlite_nio_sqlite3_errmsg(db).map { String(cString: $0) } ?? "unknown error"
        description = "SQLite failed \(what): \(message) (code \(sqlite_nio_sqlite3_extended_errcode(db)))"
    }
}
