import SQLKit

/// A statement already written out with its dialect's placeholders, and its values in order:
/// for statements of thousands of values, where building them from `SQLQueryString`
/// fragments (several allocations a value) costs more than the database's work.
struct BoundSQL: SQLExpression {
    var sql: String
    var binds: [any Encodable & Sendable]

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write(sql)
        serializer.binds.append(contentsOf: binds)
    }
}

extension BoundSQL {
    /// `names` quoted as identifiers in `database`'s dialect, comma-separated.
    static func identifiers(_ names: [String], in database: any SQLDatabase) -> String {
        var serializer = SQLSerializer(database: database)
        SQLList(names.map { SQLIdentifier($0) }).serialize(to: &serializer)
        return serializer.sql
    }
}
