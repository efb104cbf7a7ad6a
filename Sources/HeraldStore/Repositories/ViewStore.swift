import Foundation
import HeraldCore
import SQLKit

/// A saved, named filter on a module: a "mailing list" that always holds the current records.
public struct View: Sendable, Hashable {
    public var id: Int64
    public var module: String
    public var name: String
    public var criteria: Criteria
    public var createdBy: Int64?
    public var createdAt: Int64
    public var modifiedAt: Int64
}

/// Views of every module.
public struct ViewStore: Sendable {
    let database: any HeraldDatabase
    public static let maxNameLength = 100

    public func all(in module: Module) async throws -> [View] {
        try await database.read { db in
            try await db.raw("""
                SELECT id, name, criteria, created_by, created_at, modified_at FROM views
                WHERE module_id = \(bind: module.id) ORDER BY name
                """).all().map { try ViewStore.view(from: $0, module: module.apiName) }
        }
    }

    public func find(_ id: Int64, in module: Module) async throws -> View {
        let row = try await database.read { db in
            try await db.raw("""
                SELECT id, name, criteria, created_by, created_at, modified_at FROM views
                WHERE id = \(bind: id) AND module_id = \(bind: module.id)
                """).first()
        }
        guard let row else { throw HeraldError.notFound("no view \(id) in module \(module.pluralLabel)") }
        return try ViewStore.view(from: row, module: module.apiName)
    }

    /// Saves a new view after checking its name and its criteria against the module's fields.
    public func create(in module: Module, name: String, criteria: Criteria, by user: Int64?) async throws -> View {
        let name = try ViewStore.check(name: name, criteria: criteria, module: module)
        let json = try ViewStore.encode(criteria)
        let now = WallClock.epochSeconds()
        return try await database.transaction { db in
            let clash = try await db.raw("SELECT id FROM views WHERE module_id = \(bind: module.id) AND lower(name) = lower(\(bind: name))").first()
            if clash != nil { throw HeraldError.conflict("a view named '\(name)' already exists in \(module.pluralLabel)", problems: [Problem(field: "name", reason: "already exists")]) }
            let row = try await db.raw("""
                INSERT INTO views (module_id, name, criteria, created_by, created_at, modified_at)
                VALUES (\(bind: module.id), \(bind: name), \(bind: json), \(bind: user), \(bind: now), \(bind: now)) RETURNING id
                """).first()
            return View(id: try row!.decode(column: "id", as: Int64.self), module: module.apiName, name: name,
                        criteria: criteria, createdBy: user, createdAt: now, modifiedAt: now)
        }
    }

    /// Changes a view; `scope` is the editor's (see ``SharedItems``).
    public func update(_ id: Int64, in module: Module, name: String, criteria: Criteria, scope: AccessScope = .all) async throws -> View {
        let now = WallClock.epochSeconds()
        try await database.transaction { db in
            // Who may change it first: someone who may not learns nothing from its problems.
            try await SharedItems.checkMayChange("views", id: id, what: "view", scope: scope, db: db)
            let name = try ViewStore.check(name: name, criteria: criteria, module: module)
            let json = try ViewStore.encode(criteria)
            // A new name alone changes no one's recipients: only new conditions wait for the mass email.
            let current = try await db.raw("SELECT criteria FROM views WHERE id = \(bind: id)").first()?.decode(column: "criteria", as: String.self)
            if current != json {
                try await MassEmailStore.refuseIfUsed(recipients: "view", id: id, what: "view", change: "changed", db: db)
            }
            let clash = try await db.raw("""
                SELECT id FROM views WHERE module_id = \(bind: module.id) AND lower(name) = lower(\(bind: name)) AND id <> \(bind: id)
                """).first()
            if clash != nil { throw HeraldError.conflict("a view named '\(name)' already exists in \(module.pluralLabel)", problems: [Problem(field: "name", reason: "already exists")]) }
            let updated = try await db.raw("""
                UPDATE views SET name = \(bind: name), criteria = \(bind: json), modified_at = \(bind: now)
                WHERE id = \(bind: id) AND module_id = \(bind: module.id) RETURNING id
                """).first()
            if updated == nil { throw HeraldError.notFound("no view \(id) in module \(module.pluralLabel)") }
        }
        return try await find(id, in: module)
    }

    public func delete(_ id: Int64, in module: Module, scope: AccessScope = .all) async throws {
        try await database.transaction { db in
            try await SharedItems.checkMayChange("views", id: id, what: "view", scope: scope, db: db)
            try await MassEmailStore.refuseIfUsed(recipients: "view", id: id, what: "view", db: db)
            let deleted = try await db.raw("DELETE FROM views WHERE id = \(bind: id) AND module_id = \(bind: module.id) RETURNING id").first()
            if deleted == nil { throw HeraldError.notFound("no view \(id) in module \(module.pluralLabel)") }
        }
    }

    static func check(name: String, criteria: Criteria, module: Module) throws -> String {
        var problems = ProblemList()
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { problems.add("name", "is required") }
        if trimmed.count > maxNameLength { problems.add("name", "must be at most \(maxNameLength) characters") }
        if case .failure(let error) = criteria.resolve(in: module) { problems.add(contentsOf: error.problems) }
        try problems.check()
        return trimmed
    }

    static func encode(_ criteria: Criteria) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(criteria), as: UTF8.self)
    }

    static func view(from row: any SQLRow, module: String) throws -> View {
        View(
            id: try row.decode(column: "id", as: Int64.self),
            module: module,
            name: try row.decode(column: "name", as: String.self),
            criteria: try JSONDecoder().decode(Criteria.self, from: Data(try row.decode(column: "criteria", as: String.self).utf8)),
            createdBy: try row.decode(column: "created_by", as: Int64?.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            modifiedAt: try row.decode(column: "modified_at", as: Int64.self))
    }
}
