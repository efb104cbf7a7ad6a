import Foundation
import HeraldCore
import SQLKit

/// How to list a module's records.
public struct RecordQuery: Sendable {
    public var criteria: ResolvedCriteria = .all([])
    /// Free text matched against every text field.
    public var search: String?
    /// The field to sort by; `nil` sorts by id.
    public var sort: String?
    public var descending = false
    public var limit = 50
    public var offset = 0
    /// Only a static list's records (or these ids), when given.
    public var within: RecipientSelection?

    public init(criteria: ResolvedCriteria = .all([]), search: String? = nil, within: RecipientSelection? = nil, sort: String? = nil,
                descending: Bool = false, limit: Int = 50, offset: Int = 0) {
        self.criteria = criteria
        self.search = search
        self.within = within
        self.sort = sort
        self.descending = descending
        self.limit = limit
        self.offset = offset
    }
}

/// A page of records and how many match in all.
public struct RecordPage: Sendable {
    public var records: [Record]
    public var total: Int

    public init(records: [Record], total: Int) {
        self.records = records
        self.total = total
    }
}

/// Records of every module.
public struct RecordStore: Sendable {
    let database: any HeraldDatabase
    let settings: SettingsStore

    /// Creates a record from checked changes. Lookups and users must exist, and lookups name
    /// records within `scope` (the writer's: a user cannot point a deal at a contact they
    /// cannot see, and then read its address through a mass email).
    public func create(in module: Module, _ changes: RecordChanges, owner: Int64, scope: AccessScope = .all,
                       now: Date = Date()) async throws -> Record {
        var values = changes.values
        if values[BuiltinFields.owner] == nil { values[BuiltinFields.owner] = .some(.reference(owner)) }
        let stamp = WallClock.epochSeconds(now)
        values[BuiltinFields.createdAt] = .some(.datetime(stamp))
        values[BuiltinFields.modifiedAt] = .some(.datetime(stamp))
        let set = values
        return try await database.transaction { db in
            try await RecordStore.checkReferences(set, in: module, scope: scope, db: db)
            let names = module.fields.map(\.apiName).filter { set[$0] != nil }
            let columns = names.map { SQLQueryString("\(ident: "f_" + $0)") }.joined(separator: ", ")
            let binds = names.map { name -> SQLQueryString in
                if let value = set[name]! { "\(bind: value.sqlValue)" } else { "NULL" }
            }.joined(separator: ", ")
            let row = try await db.raw("INSERT INTO \(ident: module.table) (\(columns)) VALUES (\(binds)) RETURNING id").first()
            let id = try row!.decode(column: "id", as: Int64.self)
            return Record(id: id, values: set.compactMapValues { $0 })
        }
    }

    /// Applies checked changes to a record the caller may change.
    public func update(in module: Module, id: Int64, _ changes: RecordChanges, scope: AccessScope, now: Date = Date()) async throws -> Record {
        var values = changes.values
        values[BuiltinFields.modifiedAt] = .some(.datetime(WallClock.epochSeconds(now)))
        let set = values
        return try await database.transaction { db in try await RecordStore.update(in: module, id: id, set: set, scope: scope, db: db) }
    }

    /// Applies checked values (modified time included) in the caller's transaction: a trigger
    /// action's field update is written with the record of its run.
    static func update(in module: Module, id: Int64, set: [String: FieldValue?], scope: AccessScope, db: any SQLDatabase) async throws -> Record {
        guard let current = try await RecordStore.fetch(module, id: id, scope: scope, db: db) else {
            throw HeraldError.notFound("no \(module.singularLabel.lowercased()) \(id) in \(module.pluralLabel)")
        }
        try await RecordStore.checkReferences(set, in: module, scope: scope, db: db, current: current)
        let assignments = set.keys.sorted().map { name -> SQLQueryString in
            if let value = set[name]! { "\(ident: "f_" + name) = \(bind: value.sqlValue)" } else { "\(ident: "f_" + name) = NULL" }
        }.joined(separator: ", ")
        try await db.raw("UPDATE \(ident: module.table) SET \(assignments) WHERE id = \(bind: id)").run()
        return try await RecordStore.fetch(module, id: id, scope: .all, db: db)!
    }

    /// Deletes a record the caller may change, and takes it off every static list.
    public func delete(in module: Module, id: Int64, scope: AccessScope) async throws {
        try await database.transaction { db in
            guard try await RecordStore.fetch(module, id: id, scope: scope, db: db) != nil else {
                throw HeraldError.notFound("no \(module.singularLabel.lowercased()) \(id) in \(module.pluralLabel)")
            }
            try await db.raw("""
                DELETE FROM static_list_members WHERE record_id = \(bind: id)
                AND list_id IN (SELECT id FROM static_lists WHERE module_id = \(bind: module.id))
                """).run()
            // Its tasks and calls go with it: they are about nobody now.
            try await db.raw("DELETE FROM tasks WHERE module_id = \(bind: module.id) AND record_id = \(bind: id)").run()
            try await db.raw("DELETE FROM calls WHERE module_id = \(bind: module.id) AND record_id = \(bind: id)").run()
            try await db.raw("DELETE FROM \(ident: module.table) WHERE id = \(bind: id)").run()
        }
    }

    /// The record, if it exists and the caller may see it.
    public func find(in module: Module, id: Int64, scope: AccessScope) async throws -> Record? {
        try await database.read { try await RecordStore.fetch(module, id: id, scope: scope, db: $0) }
    }

    static func fetch(_ module: Module, id: Int64, scope: AccessScope, db: any SQLDatabase) async throws -> Record? {
        try await db.rows("""
            SELECT \(columns(module)) FROM \(ident: module.table) WHERE id = \(bind: id) AND \(scopeSQL(scope))
            """) { try record(from: $0, module: module) }.first
    }

    /// A page of records matching the query, with the total count.
    public func list(in module: Module, _ query: RecordQuery, scope: AccessScope) async throws -> RecordPage {
        let filter = try await whereClause(module, criteria: query.criteria, search: query.search, within: query.within, scope: scope)
        let direction = query.descending ? "DESC" : "ASC"
        let order: SQLQueryString = if let sort = query.sort, let field = module.field(sort) {
            // Empty values last in both directions, the same on SQLite and PostgreSQL.
            "(\(ident: field.column) IS NULL), \(ident: field.column) \(unsafeRaw: direction), id \(unsafeRaw: direction)"
        } else {
            "id \(unsafeRaw: direction)"
        }
        let limit = max(0, min(query.limit, 1000))
        let offset = max(0, query.offset)
        return try await database.read { db in
            let records = try await db.rows("""
                SELECT \(RecordStore.columns(module)) FROM \(ident: module.table) WHERE \(filter)
                ORDER BY \(order) LIMIT \(literal: limit) OFFSET \(literal: offset)
                """) { try RecordStore.record(from: $0, module: module) }
            let total = try await db.raw("SELECT COUNT(*) AS n FROM \(ident: module.table) WHERE \(filter)").first()!
                .decode(column: "n", as: Int.self)
            return RecordPage(records: records, total: total)
        }
    }

    /// How many records match.
    public func count(in module: Module, criteria: ResolvedCriteria, scope: AccessScope) async throws -> Int {
        let filter = try await whereClause(module, criteria: criteria, search: nil, scope: scope)
        return try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM \(ident: module.table) WHERE \(filter)").first()!
                .decode(column: "n", as: Int.self)
        }
    }

    /// Streams the ids of matching records in id order, without holding them in memory.
    public func forEachID(in module: Module, criteria: ResolvedCriteria, scope: AccessScope,
                          _ body: @escaping @Sendable (Int64) -> Void) async throws {
        let filter = try await whereClause(module, criteria: criteria, search: nil, scope: scope)
        try await database.read { db in
            try await db.execute(sql: SQLQueryString("SELECT id FROM \(ident: module.table) WHERE \(filter) ORDER BY id")) { row in
                if let id = try? row.decode(column: "id", as: Int64.self) { body(id) }
            }
        }
    }

    /// Streams matching records in id order, for export.
    public func forEach(in module: Module, criteria: ResolvedCriteria, scope: AccessScope,
                        _ body: @escaping @Sendable (Record) -> Void) async throws {
        let filter = try await whereClause(module, criteria: criteria, search: nil, scope: scope)
        let names = RecordStore.columnNames(module)
        try await database.read { db in
            try await db.execute(sql: SQLQueryString("""
                SELECT \(RecordStore.columns(module)) FROM \(ident: module.table) WHERE \(filter) ORDER BY id
                """)) { row in
                if let record = try? RecordStore.record(from: CellRow(row, columns: names), module: module) { body(record) }
            }
        }
    }

    /// The next `limit` matching records after id `after`, in id order: walking a module in
    /// chunks like this (keyset pagination) streams it in constant memory.
    /// - Parameters:
    ///   - search: the list page's search, when given.
    ///   - within: only the records of a static list or of these ids, when given.
    public func chunk(in module: Module, criteria: ResolvedCriteria, search: String? = nil, within: RecipientSelection? = nil,
                      scope: AccessScope, after: Int64, limit: Int) async throws -> [Record] {
        let filter = try await whereClause(module, criteria: criteria, search: search, within: within, scope: scope)
        return try await database.read { db in
            try await db.rows("""
                SELECT \(RecordStore.columns(module)) FROM \(ident: module.table) WHERE id > \(bind: after) AND \(filter)
                ORDER BY id LIMIT \(literal: limit)
                """) { try RecordStore.record(from: $0, module: module) }
        }
    }

    /// Writes matching records as CSV (a header of API names, then one line a record), a chunk
    /// at a time, so that any number of records is exported in constant memory.
    public func exportCSV(in module: Module, criteria: ResolvedCriteria, search: String? = nil, within: RecipientSelection? = nil,
                          scope: AccessScope, _ write: (String) async throws -> Void) async throws {
        try await write(CSVWriter.line(["id"] + module.fields.map(\.apiName)))
        var last: Int64 = 0
        while true {
            let records = try await chunk(in: module, criteria: criteria, search: search, within: within, scope: scope, after: last, limit: 1000)
            guard let tail = records.last else { return }
            var text = ""
            for record in records {
                text += CSVWriter.line([String(record.id)] + module.fields.map { record[$0.apiName]?.text ?? "" })
            }
            try await write(text)
            last = tail.id
        }
    }

    /// The records with these ids that the caller may see, in id order.
    public func find(in module: Module, ids: [Int64], scope: AccessScope) async throws -> [Record] {
        guard !ids.isEmpty else { return [] }
        var out: [Record] = []
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            out += try await database.read { db in
                if database.kind == .postgres {
                    // One index lookup a wanted id, whatever the planner believes: OFFSET 0 keeps
                    // the subquery apart, so it runs once an id by the primary key. With `id =
                    // ANY(…)` a table without statistics yet (just imported) was read whole for
                    // each batch of a mass email.
                    return try await db.rows("""
                        SELECT r.* FROM (SELECT DISTINCT unnest(\(bind: chunk)::bigint[]) AS id) AS w
                        CROSS JOIN LATERAL (SELECT \(RecordStore.columns(module)) FROM \(ident: module.table)
                                            WHERE id = w.id AND \(RecordStore.scopeSQL(scope)) OFFSET 0) AS r
                        ORDER BY r.id
                        """) { try RecordStore.record(from: $0, module: module) }
                }
                return try await db.rows("""
                    SELECT \(RecordStore.columns(module)) FROM \(ident: module.table)
                    WHERE id IN (SELECT value FROM json_each(\(bind: JSONRows.integers(chunk)))) AND \(RecordStore.scopeSQL(scope))
                    ORDER BY id
                    """) { try RecordStore.record(from: $0, module: module) }
            }
        }
        return out
    }

    /// - Parameter within: only a static list's records (or these ids), when given.
    func whereClause(_ module: Module, criteria: ResolvedCriteria, search: String?, within: RecipientSelection? = nil,
                     scope: AccessScope) async throws -> SQLQueryString {
        let compiler = CriteriaSQL(kind: database.kind, now: Date(), zone: try await settings.timeZone())
        var clause = RecordStore.scopeSQL(scope) + " AND " + compiler.compile(criteria)
        if let search, !search.trimmingCharacters(in: .whitespaces).isEmpty {
            clause = clause + " AND " + compiler.search(search.trimmingCharacters(in: .whitespaces), in: module)
        }
        if let within { clause = clause + " AND " + (try await selectionSQL(within, table: module.table)) }
        return clause
    }

    static func scopeSQL(_ scope: AccessScope) -> SQLQueryString {
        switch scope {
        case .all: "1=1"
        case .ownedBy(let user): "\(ident: "f_" + BuiltinFields.owner) = \(bind: user)"
        }
    }

    /// A record's columns as queries select them: its id, then its fields' in the module's order
    /// (what ``record(from:module:)`` reads, by place).
    static func columns(_ module: Module) -> SQLQueryString {
        columnNames(module).map { SQLQueryString("\(ident: $0)") }.joined(separator: ", ")
    }

    /// The names of ``columns(_:)``, in their order.
    static func columnNames(_ module: Module) -> [String] {
        ["id"] + module.fields.map(\.column)
    }

    static func record(from row: CellRow, module: Module) throws -> Record {
        var values: [String: FieldValue] = [:]
        for (i, field) in module.fields.enumerated() {
            if let value = try FieldValue.decode(field, from: row, at: i + 1) { values[field.apiName] = value }
        }
        return Record(id: try row.decode(0), values: values)
    }

    /// Refuses lookups to records that do not exist and user fields naming no user.
    /// Users must exist, and be active unless the field named them already (`current`, the
    /// record as stored: a deactivated user's records are edited until they are handed over);
    /// lookups must name a record within `scope` (one outside it is "no record", as if it did
    /// not exist, so that nothing is learnt from the answer).
    /// Why a deactivated user is refused where a user is chosen.
    static func deactivated(_ id: Int64) -> String { "user \(id) is deactivated; choose an active user" }

    static func checkReferences(_ values: [String: FieldValue?], in module: Module, scope: AccessScope, db: any SQLDatabase,
                                current: Record? = nil) async throws {
        var problems = ProblemList()
        for field in module.fields {
            guard case .reference(let id)?? = values[field.apiName] else { continue }
            switch field.type {
            case .user:
                let found = try await db.raw("SELECT is_active FROM users WHERE id = \(bind: id)").first()
                if let found {
                    if try !found.decode(column: "is_active", as: Bool.self), current?[field.apiName] != .reference(id) {
                        problems.add(field.apiName, RecordStore.deactivated(id))
                    }
                } else {
                    problems.add(field.apiName, "no user \(id)")
                }
            case .lookup:
                guard let target = field.lookupModule else { continue }
                let found = try await db.raw("SELECT id FROM \(ident: "rec_" + target) WHERE id = \(bind: id) AND \(scopeSQL(scope))").first()
                if found == nil { problems.add(field.apiName, "no record \(id) in module '\(target)'") }
            default:
                continue
            }
        }
        try problems.check()
    }
}
