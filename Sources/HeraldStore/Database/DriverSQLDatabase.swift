import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit
import SQLiteKit
import SQLiteNIO

/// A connection of one of Herald's storages as an `SQLDatabase`: the driver's SQLKit database
/// (`base`) for everything, and the driver's connection itself for ``SQLDatabase/rows(_:_:)``.
protocol DriverSQLDatabase: SQLDatabase {
    var base: any SQLDatabase { get }
}

extension DriverSQLDatabase {
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
}

/// A connection of ``PostgresStorage``.
struct PostgresSQLDatabase: DriverSQLDatabase {
    let connection: PostgresConnection
    let base: any SQLDatabase

    init(_ connection: PostgresConnection) {
        self.connection = connection
        base = connection.sql(queryLogLevel: .trace)
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

/// A connection of ``SQLiteStorage``.
struct SQLiteSQLDatabase: DriverSQLDatabase {
    let connection: SQLiteConnection
    let base: any SQLDatabase

    init(_ connection: SQLiteConnection) {
        self.connection = connection
        base = connection.sql(queryLogLevel: .trace)
    }

    /// Runs `query` on the connection, its values bound as SQLiteKit binds them.
    func query(_ query: SQLQueryString) async throws -> [SQLiteRow] {
        let (sql, binds) = serialize(query)
        let encoder = SQLiteDataEncoder()
        logger.trace("Executing query", metadata: ["sql": .string(sql)])
        return try await connection.query(sql, try binds.map { try encoder.encode($0) })
    }
}

/// An optional value bound to a query: NULL when it holds none.
private protocol OptionalBind { var isNone: Bool { get } }
extension Optional: OptionalBind { var isNone: Bool { self == nil } }
