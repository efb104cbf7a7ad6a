import Foundation
import HeraldCore
@testable import HeraldStore
import SQLKit
import Testing

/// Rows read by place (`SQLDatabase.rows`): on PostgreSQL through PostgresNIO's own decoding,
/// on SQLite through SQLKit. Both must read every value, NULL and flag as SQLKit's rows by name
/// do, and bind what the hot queries bind (numbers, text, NULL, arrays).
@Suite struct CellRowTests {
    @Test(arguments: TestDatabase.kinds)
    func readsEveryTypeByPlaceAsSQLKitReadsItByName(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let real = kind == .sqlite ? "REAL" : "DOUBLE PRECISION"
            try await store.database.transaction { db in
                try await db.raw("CREATE TABLE cell_test (k BIGINT, i INTEGER, t TEXT, r \(unsafeRaw: real), b BOOLEAN)").run()
                try await db.raw("INSERT INTO cell_test VALUES (\(bind: Int64.max), 7, 'Zoë 🚀', -2.5, \(bind: true))").run()
                try await db.raw("INSERT INTO cell_test VALUES (2, 0, '', 0, \(bind: false))").run()
                try await db.raw("INSERT INTO cell_test VALUES (3, NULL, NULL, NULL, NULL)").run()
            }
            typealias Row = (k: Int64, i: Int?, t: String?, r: Double?, b: Bool?, flag: Bool, tNull: Bool)
            @Sendable func read(_ db: any SQLDatabase) async throws -> [Row] {
                try await db.rows("SELECT k, i, t, r, b FROM cell_test ORDER BY k") { row in
                    (try row.decode(0), try row.decode(1), try row.decode(2), try row.decode(3), try row.decode(4),
                     try row.flag(4), try row.isNull(2))
                }
            }
            // Through the driver, and through SQLKit's rows (what another SQLDatabase gets).
            let byPlace = try await store.database.read { db in try await read(db) }
            let bySQLKit = try await store.database.read { db in try await read(try #require(db as? any DriverSQLDatabase).base) }
            let byName: [Row] = try await store.database.read { db in
                try await db.raw("SELECT k, i, t, r, b FROM cell_test ORDER BY k").all().map { row in
                    (try row.decode(column: "k", as: Int64.self), try row.decode(column: "i", as: Int?.self),
                     try row.decode(column: "t", as: String?.self), try row.decode(column: "r", as: Double?.self),
                     try row.decode(column: "b", as: Bool?.self), try row.decode(column: "b", as: Bool?.self) ?? false,
                     try row.decodeNil(column: "t"))
                }
            }
            #expect(byPlace.count == 3)
            #expect(byName.count == 3 && bySQLKit.count == 3)
            for (a, b) in Array(zip(byPlace, byName)) + Array(zip(bySQLKit, byName)) {
                #expect(a.k == b.k && a.i == b.i && a.t == b.t && a.r == b.r && a.b == b.b && a.flag == b.flag && a.tNull == b.tNull,
                        "\(a) against \(b)")
            }
            #expect(byPlace.map(\.flag) == [false, false, true])
            #expect(byPlace[1].tNull && !byPlace[2].tNull)
            // NULL read as a value that cannot be absent, or text read as a number, is an error.
            for query: SQLQueryString in ["SELECT t FROM cell_test WHERE k = 3", "SELECT t FROM cell_test WHERE k = 2"] {
                await #expect(throws: (any Error).self) {
                    _ = try await store.database.read { db in try await db.rows(query) { row -> Int64 in try row.decode(0) } }
                }
            }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func bindsNumbersTextNullAndArrays(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let none: Int64? = nil
            let some: Int64? = 5
            let texts: [String] = try await store.database.read { db in
                try await db.rows("""
                    SELECT \(bind: "a'b") AS t, \(bind: 42) AS n, CAST(\(bind: none) AS BIGINT) IS NULL AS z, \(bind: some) AS s
                    """) { row in ["\(try row.decode(0, as: String.self))", "\(try row.decode(1, as: Int64.self))",
                                   "\(try row.flag(2))", "\(try row.decode(3, as: Int64.self))"] }
                    .first ?? []
            }
            #expect(texts == ["a'b", "42", "true", "5"])
            guard kind == .postgres else { return }
            let ids: [Int64] = try await store.database.read { db in
                try await db.rows("SELECT unnest(\(bind: [Int64(3), 1, 2])::bigint[]) AS id ORDER BY 1") { try $0.decode(0) }
            }
            #expect(ids == [1, 2, 3])
            // A value PostgresNIO cannot bind by itself is refused with its type named, not sent.
            struct Opaque: Encodable, Sendable { var x = 1 }
            await #expect(throws: PostgresSQLDatabase.UnboundValue.self) {
                _ = try await store.database.read { db in try await db.rows("SELECT \(bind: Opaque()) AS o") { _ in 0 } }
            }
        }
    }
}
