import Foundation
import HeraldCore
import SQLKit

/// Tasks: attached to a record, assigned to a user.
public struct TaskStore: Sendable {
    let database: any HeraldDatabase

    static let columns: SQLQueryString = """
        a.id, mo.api_name AS module, a.record_id, a.subject, a.due_date, a.status, a.priority, a.assignee_id, a.mass_email_id,
        a.created_at, a.modified_at
        """

    /// Adds a task to a record; the record and the assignee must exist.
    public func create(_ task: CRMTask, in module: Module, by creator: Int64?, now: Date = Date()) async throws -> CRMTask {
        let id = try await database.transaction { db in
            try await ActivityChecks.check(subject: task.subject, recordID: task.recordID, in: module,
                                           user: (task.assigneeID, "assignee_id"), db: db)
            return try await Self.insert(task, moduleID: module.id, by: creator, now: WallClock.epochSeconds(now), db: db)
        }
        return try await find(id)
    }

    /// Inserts a checked task in the caller's transaction (a trigger action's).
    static func insert(_ task: CRMTask, moduleID: Int64, by creator: Int64?, now: Int64, db: any SQLDatabase) async throws -> Int64 {
        let row = try await db.raw("""
            INSERT INTO tasks (module_id, record_id, subject, due_date, status, priority, assignee_id, created_by, mass_email_id,
                created_at, modified_at)
            VALUES (\(bind: moduleID), \(bind: task.recordID), \(bind: task.subject.trimmedWhitespace), \(bind: task.dueDate?.description),
                \(bind: task.status.rawValue), \(bind: task.priority.rawValue), \(bind: task.assigneeID), \(bind: creator),
                \(bind: task.massEmailID), \(bind: now), \(bind: now))
            RETURNING id
            """).first()
        return try row!.decode(column: "id", as: Int64.self)
    }

    public func find(_ id: Int64) async throws -> CRMTask {
        let row = try await database.read { db in
            try await db.raw("SELECT \(Self.columns) FROM tasks a JOIN modules mo ON mo.id = a.module_id WHERE a.id = \(bind: id)").first()
        }
        guard let row else { throw HeraldError.notFound("no task \(id)") }
        return try Self.task(from: row)
    }

    /// Open tasks first, then by due date (undated last), then newest.
    public func list(_ filter: ActivityFilter) async throws -> [CRMTask] {
        let open: SQLQueryString = filter.openOnly ? "a.status NOT IN ('completed', 'deferred')" : "1=1"
        return try await database.read { db in
            try await db.raw("""
                SELECT \(Self.columns) FROM tasks a JOIN modules mo ON mo.id = a.module_id
                WHERE \(filter.whereSQL(userColumn: "assignee_id")) AND \(open)
                ORDER BY (CASE WHEN a.status IN ('completed', 'deferred') THEN 1 ELSE 0 END), (a.due_date IS NULL), a.due_date, a.id DESC
                LIMIT \(literal: max(1, min(filter.limit, 1000)))
                """).all().map(Self.task(from:))
        }
    }

    /// Saves a changed task (subject, due date, status, priority, assignee).
    public func update(_ task: CRMTask, in module: Module, now: Date = Date()) async throws -> CRMTask {
        try await database.transaction { db in
            try await ActivityChecks.check(subject: task.subject, recordID: nil, in: module, user: (task.assigneeID, "assignee_id"), db: db)
            let row = try await db.raw("""
                UPDATE tasks SET subject = \(bind: task.subject.trimmedWhitespace), due_date = \(bind: task.dueDate?.description),
                    status = \(bind: task.status.rawValue), priority = \(bind: task.priority.rawValue), assignee_id = \(bind: task.assigneeID),
                    modified_at = \(bind: WallClock.epochSeconds(now))
                WHERE id = \(bind: task.id) RETURNING id
                """).first()
            if row == nil { throw HeraldError.notFound("no task \(task.id)") }
        }
        return try await find(task.id)
    }

    public func delete(_ id: Int64) async throws {
        try await database.transaction { db in
            if try await db.raw("DELETE FROM tasks WHERE id = \(bind: id) RETURNING id").first() == nil {
                throw HeraldError.notFound("no task \(id)")
            }
        }
    }

    static func task(from row: any SQLRow) throws -> CRMTask {
        CRMTask(
            id: try row.decode(column: "id", as: Int64.self),
            module: try row.decode(column: "module", as: String.self),
            recordID: try row.decode(column: "record_id", as: Int64.self),
            subject: try row.decode(column: "subject", as: String.self),
            dueDate: try row.decode(column: "due_date", as: String?.self).flatMap(LocalDate.init(iso:)),
            status: CRMTask.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .notStarted,
            priority: CRMTask.Priority(rawValue: try row.decode(column: "priority", as: String.self)) ?? .normal,
            assigneeID: try row.decode(column: "assignee_id", as: Int64.self),
            massEmailID: try row.decode(column: "mass_email_id", as: Int64?.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            modifiedAt: try row.decode(column: "modified_at", as: Int64.self))
    }
}
