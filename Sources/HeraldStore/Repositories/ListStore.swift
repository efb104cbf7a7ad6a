import Foundation
import HeraldCore
import SQLKit

/// A hand-picked set of records of one module.
public struct StaticList: Sendable, Hashable {
    public var id: Int64
    public var module: String
    public var name: String
    public var memberCount: Int
    public var createdAt: Int64
    /// Who made it: they and admins may change it.
    public var createdBy: Int64?
}

/// Static lists and their members.
public struct ListStore: Sendable {
    let database: any HeraldDatabase

    /// The module's lists, each with the count of its members that `scope` may see.
    public func all(in module: Module, scope: AccessScope = .all) async throws -> [StaticList] {
        try await database.read { db in
            try await db.raw("""
                SELECT l.id, l.name, l.created_at, l.created_by, \(Self.memberCount(module, scope: scope)) AS n
                FROM static_lists l WHERE l.module_id = \(bind: module.id) ORDER BY l.name
                """).all().map { try ListStore.list(from: $0, module: module.apiName) }
        }
    }

    /// A list, with the count of its members that `scope` may see.
    public func find(_ id: Int64, in module: Module, scope: AccessScope = .all) async throws -> StaticList {
        let row = try await database.read { db in
            try await db.raw("""
                SELECT l.id, l.name, l.created_at, l.created_by, \(Self.memberCount(module, scope: scope)) AS n
                FROM static_lists l WHERE l.id = \(bind: id) AND l.module_id = \(bind: module.id)
                """).first()
        }
        guard let row else { throw HeraldError.notFound("no list \(id) in module \(module.pluralLabel)") }
        return try ListStore.list(from: row, module: module.apiName)
    }

    /// Makes a list with `members` (records within `scope`), all or nothing: a bad id leaves
    /// no list behind.
    public func create(in module: Module, name: String, by user: Int64?, members: [Int64] = [], scope: AccessScope = .all) async throws -> StaticList {
        let trimmed = try Self.checkedName(name)
        let now = WallClock.epochSeconds()
        let id = try await database.transaction { db in
            try await Self.refuseClash(trimmed, in: module, except: nil, db: db)
            let row = try await db.raw("""
                INSERT INTO static_lists (module_id, name, created_by, created_at)
                VALUES (\(bind: module.id), \(bind: trimmed), \(bind: user), \(bind: now)) RETURNING id
                """).first()
            let id = try row!.decode(column: "id", as: Int64.self)
            try await Self.insert(members, into: id, in: module, scope: scope, db: db)
            return id
        }
        return try await find(id, in: module, scope: scope)
    }

    /// Renames a list, as its maker or an admin. A mass email that sends to it is not in the
    /// way: it knows the list by id.
    public func rename(_ id: Int64, in module: Module, to name: String, scope: AccessScope = .all) async throws -> StaticList {
        let trimmed = try Self.checkedName(name)
        try await database.transaction { db in
            try await Self.requireList(id, in: module, db: db)
            try await SharedItems.checkMayChange("static_lists", id: id, what: "list", scope: scope, db: db)
            try await Self.refuseClash(trimmed, in: module, except: id, db: db)
            try await db.raw("UPDATE static_lists SET name = \(bind: trimmed) WHERE id = \(bind: id)").run()
        }
        return try await find(id, in: module, scope: scope)
    }

    /// 404 unless `id` is a list of `module`.
    static func requireList(_ id: Int64, in module: Module, db: any SQLDatabase) async throws {
        if try await db.raw("SELECT id FROM static_lists WHERE id = \(bind: id) AND module_id = \(bind: module.id)").first() == nil {
            throw HeraldError.notFound("no list \(id) in module \(module.pluralLabel)")
        }
    }

    /// A list's name, trimmed, or why it cannot be one.
    static func checkedName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        var problems = ProblemList()
        if trimmed.isEmpty { problems.add("name", "is required") }
        if trimmed.count > ViewStore.maxNameLength { problems.add("name", "must be at most \(ViewStore.maxNameLength) characters") }
        try problems.check()
        return trimmed
    }

    /// 409 when another list of the module has the name (in any case).
    static func refuseClash(_ name: String, in module: Module, except id: Int64?, db: any SQLDatabase) async throws {
        let clash = try await db.raw("""
            SELECT name FROM static_lists WHERE module_id = \(bind: module.id) AND lower(name) = lower(\(bind: name)) AND id <> \(bind: id ?? 0)
            """).first()
        if let clash {
            // The other list's name as it is spelled, which may differ in case from the one typed.
            let existing = try clash.decode(column: "name", as: String.self)
            throw HeraldError.conflict("a list named '\(existing)' already exists in \(module.pluralLabel)", problems: [Problem(field: "name", reason: "already exists")])
        }
    }

    /// Adds records to a list; ids that name no record of the module within `scope` (the
    /// caller's) are refused, all of them listed, and nothing is added.
    public func add(_ recordIDs: [Int64], to listID: Int64, in module: Module, scope: AccessScope = .all) async throws -> StaticList {
        try await database.transaction { db in
            try await Self.requireList(listID, in: module, db: db)
            try await SharedItems.checkMayChange("static_lists", id: listID, what: "list", scope: scope, db: db)
            try await MassEmailStore.refuseIfUsed(recipients: "list", id: listID, what: "list", change: "changed", db: db)
            try await Self.insert(recordIDs, into: listID, in: module, scope: scope, db: db)
        }
        return try await find(listID, in: module, scope: scope)
    }

    private static func insert(_ recordIDs: [Int64], into listID: Int64, in module: Module, scope: AccessScope, db: any SQLDatabase) async throws {
        let ids = Array(Set(recordIDs)).sorted()
        var found = Set<Int64>()
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            for row in try await db.raw("SELECT id FROM \(ident: module.table) WHERE id IN (\(binds: chunk)) AND \(RecordStore.scopeSQL(scope))").all() {
                found.insert(try row.decode(column: "id", as: Int64.self))
            }
        }
        let missing = ids.filter { !found.contains($0) }
        if !missing.isEmpty {
            throw HeraldError.invalid(missing.prefix(20).map { Problem(field: "record_ids", reason: "no record \($0) in \(module.pluralLabel)") })
        }
        let now = WallClock.epochSeconds()
        for id in ids {
            try await db.raw("""
                INSERT INTO static_list_members (list_id, record_id, added_at) VALUES (\(bind: listID), \(bind: id), \(bind: now))
                ON CONFLICT (list_id, record_id) DO NOTHING
                """).run()
        }
    }

    public func remove(_ recordIDs: [Int64], from listID: Int64, in module: Module, scope: AccessScope = .all) async throws -> StaticList {
        _ = try await find(listID, in: module)
        try await database.transaction { db in
            try await SharedItems.checkMayChange("static_lists", id: listID, what: "list", scope: scope, db: db)
            try await MassEmailStore.refuseIfUsed(recipients: "list", id: listID, what: "list", change: "changed", db: db)
            for id in recordIDs {
                try await db.raw("DELETE FROM static_list_members WHERE list_id = \(bind: listID) AND record_id = \(bind: id)").run()
            }
        }
        return try await find(listID, in: module, scope: scope)
    }

    /// Deletes a list (not its records); returns the name it had.
    @discardableResult
    public func delete(_ id: Int64, in module: Module, scope: AccessScope = .all) async throws -> String {
        try await database.transaction { db in
            try await SharedItems.checkMayChange("static_lists", id: id, what: "list", scope: scope, db: db)
            try await MassEmailStore.refuseIfUsed(recipients: "list", id: id, what: "list", db: db)
            try await db.raw("DELETE FROM static_list_members WHERE list_id = \(bind: id)").run()
            let deleted = try await db.raw("DELETE FROM static_lists WHERE id = \(bind: id) AND module_id = \(bind: module.id) RETURNING name").first()
            guard let deleted else { throw HeraldError.notFound("no list \(id) in module \(module.pluralLabel)") }
            return try deleted.decode(column: "name", as: String.self)
        }
    }

    /// A list's member count as a column: a list is shared, its members are not (a user's mass
    /// email to it goes to the members they own), so a user is told of theirs only.
    static func memberCount(_ module: Module, scope: AccessScope) -> SQLQueryString {
        switch scope {
        case .all:
            "(SELECT COUNT(*) FROM static_list_members m WHERE m.list_id = l.id)"
        case .ownedBy:
            """
            (SELECT COUNT(*) FROM static_list_members m JOIN \(ident: module.table) r ON r.id = m.record_id
             WHERE m.list_id = l.id AND \(RecordStore.scopeSQL(scope)))
            """
        }
    }

    static func list(from row: any SQLRow, module: String) throws -> StaticList {
        StaticList(id: try row.decode(column: "id", as: Int64.self), module: module,
                   name: try row.decode(column: "name", as: String.self),
                   memberCount: try row.decode(column: "n", as: Int.self),
                   createdAt: try row.decode(column: "created_at", as: Int64.self),
                   createdBy: try row.decode(column: "created_by", as: Int64?.self))
    }
}
