import SQLKit

/// A statement written out directly with its dialect's placeholders, and its values in order:
/// for statements of thousands of values (a CSV import's INSERT, a batch of tracking hits),
/// where building them from `SQLQueryString` fragments, several allocations a value, cost
/// more than the database's own work.
struct BoundSQL: SQLExpression {
    private(set) var sql: String
    private(set) var binds: [any Encodable & Sendable] = []
    /// PostgreSQL numbers its placeholders (`$1`); SQLite takes `?`.
    private let numbered: Bool

    init(_ sql: String, for database: any SQLDatabase, values: Int = 0) {
        self.sql = sql
        numbered = database.dialect.name == "postgresql"
        self.sql.reserveCapacity(sql.utf8.count + values * 8)
        binds.reserveCapacity(values)
    }

    mutating func append(_ text: String) { sql += text }

    /// A placeholder for `value` (nil: NULL).
    mutating func bind(_ value: any Encodable & Sendable) {
        binds.append(value)
        sql += numbered ? "$\(binds.count)" : "?"
    }

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write(sql)
        serializer.binds.append(contentsOf: binds)
    }

    /// `names` quoted as identifiers in `database`'s dialect, comma-separated.
    static func identifiers(_ names: [String], in database: any SQLDatabase) -> String {
        var serializer = SQLSerializer(database: database)
        SQLList(names.map { SQLIdentifier($0) }).serialize(to: &serializer)
        return serializer.sql
    }
}
