import Logging
import PostgresKit
import PostgresNIO
import SQLKit

/// One row of a query, read cell by cell in the order the query selects its columns.
///
/// SQLKit reads a cell by its column's name through `Decodable`. On PostgreSQL that costs a
/// lookup table a row and, a cell, a coding path spelt as a string (PostgresKit's
/// `PostgresDataTranslation`): in a send a fifteenth of the process went there, reading each
/// batch's claimed messages and records. Rows of ``SQLDatabase/rows(_:_:)`` on PostgreSQL come
/// from PostgresNIO itself and each cell is read by its type's own `PostgresDecodable`; on
/// SQLite they are SQLKit's rows, read by the names of the columns at those places.
public struct CellRow {
    fileprivate enum Cells {
        case postgres(PostgresRandomAccessRow)
        case sql(any SQLRow, columns: [String])
    }

    private let cells: Cells

    /// A row of SQLKit's whose columns, in the query's order, are `columns`.
    init(_ row: any SQLRow, columns: [String]) {
        cells = .sql(row, columns: columns)
    }

    fileprivate init(_ row: PostgresRow) {
        cells = .postgres(row.makeRandomAccess())
    }

    /// Whether the cell at `column` (0 for the first the query selects) is NULL.
    public func isNull(_ column: Int) throws -> Bool {
        switch cells {
        case .postgres(let row): row[column].bytes == nil
        case .sql(let row, let columns): try row.decodeNil(column: columns[column])
        }
    }

    /// The cell at `column` (0 for the first the query selects) as a `T`.
    public func decode<T: PostgresDecodable & Decodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        switch cells {
        case .postgres(let row): try row[column].decode(T.self, context: .default)
        case .sql(let row, let columns): try row.decode(column: columns[column], as: T.self)
        }
    }

    /// The cell at `column` as a yes or no: a boolean column is BOOLEAN on PostgreSQL and an
    /// integer on SQLite; NULL is no. Anything unreadable counts as yes: better to skip a person
    /// than to mail one who opted out.
    public func flag(_ column: Int) throws -> Bool {
        if try isNull(column) { return false }
        if let value = try? decode(column, as: Bool.self) { return value }
        if let value = try? decode(column, as: Int64.self) { return value != 0 }
        return true
    }
}

extension SQLDatabase {
    /// The rows of `query`, each made into a `T` by `make`. On a connection of
    /// ``PostgresStorage`` the query runs through PostgresNIO directly (see ``CellRow``).
    public func rows<T>(_ query: SQLQueryString, _ make: (CellRow) throws -> T) async throws -> [T] {
        if let postgres = self as? PostgresSQLDatabase {
            var out: [T] = []
            for try await row in try await postgres.query(query) { out.append(try make(CellRow(row))) }
            return out
        }
        let rows = try await raw(query).all()
        guard let first = rows.first else { return [] }
        // Every row of one statement has the same columns: their names are taken once.
        let columns = first.allColumns
        return try rows.map { try make(CellRow($0, columns: columns)) }
    }
}

/// A connection of ``PostgresStorage`` as an `SQLDatabase`: PostgresKit's for everything,
/// and its PostgresNIO connection for ``SQLDatabase/rows(_:_:)``.
struct PostgresSQLDatabase: SQLDatabase {
    let connection: PostgresConnection
    let base: any SQLDatabase

    init(_ connection: PostgresConnection) {
        self.connection = connection
        base = connection.sql(queryLogLevel: .trace)
    }

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        base.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await base.execute(sql: query, onRow)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    /// Runs `query` on the connection, its values bound as PostgresKit binds them (NULL, or the
    /// value's own `PostgresEncodable`); a value of another type is a programming error here,
    /// reported as such.
    func query(_ query: SQLQueryString) async throws -> PostgresRowSequence {
        let (sql, binds) = serialize(query)
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            if let optional = bind as? any OptionalBind, optional.isNone {
                bindings.appendNull()
            } else if let value = bind as? any PostgresThrowingDynamicTypeEncodable {
                try bindings.append(value, context: .default)
            } else {
                throw UnboundValue(type: "\(type(of: bind))")
            }
        }
        logger.trace("Executing query", metadata: ["sql": .string(sql)])
        return try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
    }

    /// A value that ``query(_:)`` cannot bind: a query of ``SQLDatabase/rows(_:_:)`` binds only
    /// numbers, text, and arrays of them.
    struct UnboundValue: Error, CustomStringConvertible {
        let type: String
        var description: String { "cannot bind a value of type \(type) to a PostgreSQL query" }
    }
}

/// An optional value bound to a query: NULL when it holds none.
private protocol OptionalBind { var isNone: Bool { get } }
extension Optional: OptionalBind { var isNone: Bool { self == nil } }
