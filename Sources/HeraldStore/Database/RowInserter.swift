import HeraldCore

/// One value of a row handed to a ``RowInserter``: what the database stores, already typed.
public enum SQLCell: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// Writes many rows of one table inside a transaction the way each database takes them
/// fastest: SQLite an INSERT of a few hundred rows prepared once a call and bound and
/// stepped for each few hundred (see ``SQLiteRowInserter``), PostgreSQL `COPY … FROM STDIN`.
///
/// Why not through SQLiteNIO: it prepares each statement anew, and a statement of a few
/// thousand rows cost more to parse and bind than SQLite's own insert; a JSON text read back
/// with `json_each` (``JSONRows``) halved that but still wrote and parsed every value twice.
/// A million-row CSV import spent about three CPU-seconds there.
public protocol RowInserter: Sendable {
    /// Inserts `rows` into `table`, each row a cell for each of `columns`, in the caller's
    /// transaction. `table` and `columns` are Herald's own identifiers (letters, digits,
    /// underscores). Rows come as they were made, not copied into one array of cells.
    func insert(into table: String, columns: [String], rows: [[SQLCell]]) async throws
}

extension FieldValue {
    /// The value as the database stores it (see ``sqlValue``), as a ``SQLCell``.
    var sqlCell: SQLCell {
        switch self {
        case .text(let s): .text(s)
        case .number(let d): .real(d)
        case .currency(let c): .integer(c)
        case .bool(let b): .integer(b ? 1 : 0)
        case .date(let d): .text(d.description)
        case .datetime(let t): .integer(t)
        case .reference(let id): .integer(id)
        }
    }
}
