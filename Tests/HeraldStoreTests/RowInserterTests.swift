import Foundation
import HeraldCore
@testable import HeraldStore
import SQLKit
import Testing

/// The bulk insert under the CSV import: SQLite's prepared statement and PostgreSQL's COPY
/// must store every value as a bound parameter would, and only inside their transaction.
@Suite struct RowInserterTests {
    static let texts = ["plain", "tab\there", "line\nbreak", "carriage\rreturn", "back\\slash", "\\N", "", "Zoë 🚀", "a,b;\"c\""]

    @Test(arguments: TestDatabase.kinds)
    func storesEveryValueAsGiven(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let real = kind == .sqlite ? "REAL" : "DOUBLE PRECISION"
            try await store.database.transaction { db in
                try await db.raw("CREATE TABLE bulk_test (k BIGINT, n BIGINT, t TEXT, r \(unsafeRaw: real), b BOOLEAN)").run()
            }
            let numbers: [Int64] = [.min, -1, 0, 42, .max]
            let reals = [1e-05, -2.5, 0, 123456.789, 1e20]
            var cells: [[SQLCell]] = []
            for (i, text) in Self.texts.enumerated() {
                cells.append([.integer(Int64(i)), .integer(numbers[i % numbers.count]), .text(text), .real(reals[i % reals.count]), .integer(Int64(i % 2))])
            }
            cells.append([.integer(100), .null, .null, .null, .null])
            let all = cells
            try await store.database.bulkTransaction { _, rows in
                try await rows.insert(into: "bulk_test", columns: ["k", "n", "t", "r", "b"], rows: all)
            }
            typealias Row = (k: Int64, n: Int64?, t: String?, r: Double?, b: Bool?)
            let stored: [Row] = try await store.database.read { db in
                try await db.raw("SELECT k, n, t, r, b FROM bulk_test ORDER BY k").all().map { row in
                    (try row.decode(column: "k", as: Int64.self), try row.decode(column: "n", as: Int64?.self),
                     try row.decode(column: "t", as: String?.self), try row.decode(column: "r", as: Double?.self),
                     try row.decode(column: "b", as: Bool?.self))
                }
            }
            #expect(stored.count == Self.texts.count + 1)
            for (i, text) in Self.texts.enumerated() {
                let row = try #require(stored.first { $0.k == Int64(i) })
                #expect(row.n == numbers[i % numbers.count], "integer \(i)")
                #expect(row.t == text, "text \(i)")
                #expect(row.r == reals[i % reals.count], "real \(i)")
                #expect(row.b == (i % 2 == 1), "boolean \(i)")
            }
            let empty = try #require(stored.last)
            #expect(empty.k == 100 && empty.n == nil && empty.t == nil && empty.r == nil && empty.b == nil)
        }
    }

    /// SQLite binds many rows a statement: a count that is not a multiple of that, and more
    /// than one statement's worth, lands every row once, in order.
    @Test(arguments: TestDatabase.kinds)
    func storesRowsAcrossStatements(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            try await store.database.transaction { db in
                try await db.raw("CREATE TABLE bulk_test (id INTEGER PRIMARY KEY \(unsafeRaw: kind == .sqlite ? "AUTOINCREMENT" : "GENERATED ALWAYS AS IDENTITY"), n BIGINT, t TEXT)").run()
            }
            let count = SQLiteRowInserter.rowsPerStatement * 2 + 37
            let rows: [[SQLCell]] = (0..<count).map { [.integer(Int64($0)), .text("row \($0)")] }
            try await store.database.bulkTransaction { _, inserter in
                try await inserter.insert(into: "bulk_test", columns: ["n", "t"], rows: rows)
            }
            let stored = try await store.database.read { db in
                try await db.raw("SELECT n, t FROM bulk_test ORDER BY id").all().map {
                    (try $0.decode(column: "n", as: Int64.self), try $0.decode(column: "t", as: String.self))
                }
            }
            #expect(stored.count == count)
            #expect(stored.enumerated().allSatisfy { i, row in row.0 == Int64(i) && row.1 == "row \(i)" })
        }
    }

    /// A module's widest table (200 fields) takes fewer rows a statement, within SQLite's
    /// default limit of bound values, and still lands every value.
    @Test(arguments: TestDatabase.kinds)
    func storesRowsOfAWideTable(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let columns = (0..<ModuleRules.maxFieldsPerModule).map { "c\($0)" }
            try await store.database.transaction { db in
                try await db.raw("CREATE TABLE wide_test (\(unsafeRaw: columns.map { "\($0) BIGINT" }.joined(separator: ", ")))").run()
            }
            let rows: [[SQLCell]] = (0..<300).map { r in columns.indices.map { .integer(Int64(r * 1_000 + $0)) } }
            #expect(SQLiteRowInserter.maxBinds / columns.count < rows.count)
            try await store.database.bulkTransaction { _, inserter in
                try await inserter.insert(into: "wide_test", columns: columns, rows: rows)
            }
            let sums = try await store.database.read { db in
                try await db.raw("SELECT count(*) AS n, CAST(sum(c0) AS BIGINT) AS first, CAST(sum(c199) AS BIGINT) AS last FROM wide_test").first().map {
                    (try $0.decode(column: "n", as: Int.self), try $0.decode(column: "first", as: Int64.self), try $0.decode(column: "last", as: Int64.self))
                }
            }
            let expectedFirst = (0..<300).reduce(Int64(0)) { $0 + Int64($1 * 1_000) }
            #expect(sums?.0 == 300 && sums?.1 == expectedFirst && sums?.2 == expectedFirst + 300 * 199)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func writesNothingWhenTheTransactionFails(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            try await store.database.transaction { db in try await db.raw("CREATE TABLE bulk_test (n BIGINT, t TEXT)").run() }
            struct Stop: Error {}
            await #expect(throws: Stop.self) {
                try await store.database.bulkTransaction { db, rows in
                    try await rows.insert(into: "bulk_test", columns: ["n", "t"], rows: [[.integer(1), .text("one")], [.integer(2), .null]])
                    try await db.raw("INSERT INTO bulk_test (n, t) VALUES (3, 'three')").run()
                    throw Stop()
                }
            }
            // A value the column cannot take fails the insert with the database's own reason.
            let badValue: SQLCell = .text("not a number")
            if kind == .postgres {
                await #expect(throws: (any Error).self) {
                    try await store.database.bulkTransaction { _, rows in
                        try await rows.insert(into: "bulk_test", columns: ["n", "t"], rows: [[.integer(4), .text("four")], [badValue, .null]])
                    }
                }
            }
            let count = try await store.database.read { db in
                try await db.raw("SELECT count(*) AS c FROM bulk_test").first()!.decode(column: "c", as: Int.self)
            }
            #expect(count == 0)
            // And the connection is fit for the next transaction.
            try await store.database.bulkTransaction { _, rows in
                try await rows.insert(into: "bulk_test", columns: ["n", "t"], rows: [[.integer(5), .text("five")]])
            }
            let after = try await store.database.read { db in
                try await db.raw("SELECT t FROM bulk_test WHERE n = 5").first()?.decode(column: "t", as: String.self)
            }
            #expect(after == "five")
        }
    }

    /// A run of bulk transactions, a large import's, keeps SQLite's WAL small although most
    /// of them commit without checkpointing it (a reading connection checkpoints beside the
    /// next one, and every eighth starts the WAL again); and the writer checkpoints as before
    /// after them.
    @Test func bulkTransactionsKeepTheSQLiteWALSmall() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("herald-wal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("wal.sqlite").path
        let storage = try await SQLiteStorage(path: path, logger: TestDatabase.logger)
        try await storage.transaction { db in try await db.raw("CREATE TABLE bulk_test (n BIGINT, t TEXT)").run() }
        let text = String(repeating: "x", count: 500)
        let transactions = 40, rowsEach = 2_000
        var largest = 0
        for t in 0..<transactions {
            let rows: [[SQLCell]] = (0..<rowsEach).map { [.integer(Int64(t * rowsEach + $0)), .text(text)] }
            try await storage.bulkTransaction { _, inserter in try await inserter.insert(into: "bulk_test", columns: ["n", "t"], rows: rows) }
            largest = max(largest, try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0)
        }
        // About 1 MB a transaction, 40 MB in all went through the WAL; unchecked, it would hold all of it.
        #expect(largest > 4_000_000 && largest < 14_000_000, "the WAL grew to \(largest) bytes")
        let setting = try await storage.transaction { db in
            try await db.raw("PRAGMA wal_autocheckpoint").first()!.decode(column: "wal_autocheckpoint", as: Int.self)
        }
        #expect(setting == 1000, "the writer checkpoints as SQLite does by default")
        let count = try await storage.read { db in try await db.raw("SELECT count(*) AS c FROM bulk_test").first()!.decode(column: "c", as: Int.self) }
        #expect(count == transactions * rowsEach)
        await storage.close()
    }
}
