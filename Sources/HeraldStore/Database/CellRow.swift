import PostgresNIO
import SQLKit
import SQLiteNIO

/// One row of a query, read cell by cell in the order the query selects its columns.
///
/// SQLKit reads a cell by its column's name through `Decodable`: a lookup by name a cell, and
/// on PostgreSQL a lookup table a row and a coding path spelt as a string a cell (PostgresKit's
/// `PostgresDataTranslation`), which in a send was about 7 % of the process, reading each
/// batch's claimed messages and records. Rows of ``SQLDatabase/rows(_:_:)`` come from the
/// driver itself (PostgresNIO, SQLiteNIO) and each cell is read by its type's own conversion.
struct CellRow {
    fileprivate enum Cells {
        case postgres(PostgresRandomAccessRow)
        case sqlite([SQLiteColumn])
        /// A row of SQLKit's from another connection, or streamed, with the names of its
        /// columns in the query's order.
        case sql(any SQLRow, columns: [String])
    }

    private let cells: Cells

    /// A row of SQLKit's whose columns, in the query's order, are `columns`.
    init(_ row: any SQLRow, columns: [String]) {
        cells = .sql(row, columns: columns)
    }

    init(_ row: PostgresRow) {
        cells = .postgres(row.makeRandomAccess())
    }

    init(_ row: SQLiteRow) {
        cells = .sqlite(row.columns)
    }

    /// Whether the cell at `column` (0 for the first the query selects) is NULL.
    func isNull(_ column: Int) throws -> Bool {
        switch cells {
        case .postgres(let row): row[column].bytes == nil
        case .sqlite(let row): row[column].data == .null
        case .sql(let row, let columns): try row.decodeNil(column: columns[column])
        }
    }

    /// The cell at `column` (0 for the first the query selects) as a `T`; NULL is an error.
    func decode<T: CellValue>(_ column: Int, as type: T.Type = T.self) throws -> T {
        switch cells {
        case .postgres(let row):
            return try row[column].decode(T.self, context: .default)
        case .sqlite(let row):
            return try Self.value(row[column].data, column: column)
        case .sql(let row, let columns):
            return try row.decode(column: columns[column], as: T.self)
        }
    }

    /// The cell at `column` as a `T`, nil when it is NULL. The cell is found once, not once to
    /// ask whether it is NULL and again to read it: records are read this way, a cell a field.
    func decode<T: CellValue>(_ column: Int, as type: T.Type = T.self) throws -> T? {
        switch cells {
        case .postgres(let row):
            let cell = row[column]
            return cell.bytes == nil ? nil : try cell.decode(T.self, context: .default)
        case .sqlite(let row):
            let data = row[column].data
            return data == .null ? nil : try Self.value(data, column: column)
        case .sql(let row, let columns):
            return try row.decode(column: columns[column], as: T?.self)
        }
    }

    private static func value<T: CellValue>(_ data: SQLiteData, column: Int) throws -> T {
        guard let value = T(sqliteData: data) else { throw Unreadable(column: column, type: T.self, data: data) }
        return value
    }

    /// The cell at `column` as a yes or no: a boolean column is BOOLEAN on PostgreSQL and an
    /// integer on SQLite; NULL is no. Anything unreadable counts as yes: better to skip a person
    /// than to mail one who opted out.
    func flag(_ column: Int) throws -> Bool {
        if try isNull(column) { return false }
        if let value = try? decode(column, as: Bool.self) { return value }
        if let value = try? decode(column, as: Int64.self) { return value != 0 }
        return true
    }

    /// A cell that is not of the type asked for.
    struct Unreadable: Error, CustomStringConvertible {
        let column: Int
        let type: Any.Type
        let data: SQLiteData
        var description: String { "cannot read column \(column) (\(data)) as \(type)" }
    }
}

/// A type a cell is read as, on both databases.
protocol CellValue: PostgresDecodable, SQLiteDataConvertible, Decodable {}
extension Int: CellValue {}
extension Int64: CellValue {}
extension Double: CellValue {}
extension Bool: CellValue {}
extension String: CellValue {}

extension SQLDatabase {
    /// The rows of `query`, each made into a `T` by `make`. On a connection of one of Herald's
    /// storages the query runs through the driver directly (see ``CellRow``).
    func rows<T>(_ query: SQLQueryString, _ make: (CellRow) throws -> T) async throws -> [T] {
        switch self {
        case let postgres as PostgresSQLDatabase:
            var out: [T] = []
            for try await row in try await postgres.query(query) { out.append(try make(CellRow(row))) }
            return out
        case let sqlite as SQLiteSQLDatabase:
            return try await sqlite.query(query).map { try make(CellRow($0)) }
        default:
            let rows = try await raw(query).all()
            guard let first = rows.first else { return [] }
            // Every row of one statement has the same columns: their names are taken once.
            let columns = first.allColumns
            return try rows.map { try make(CellRow($0, columns: columns)) }
        }
    }
}
