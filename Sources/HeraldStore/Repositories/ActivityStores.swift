import Foundation
import HeraldCore
import SQLKit

/// Which tasks or calls to list: those of one user (assigned to them, or theirs to make), those
/// of one record, or both; open ones only if asked.
public struct ActivityFilter: Sendable {
    /// The assignee of tasks, the owner of calls.
    public var user: Int64?
    /// The record's module (API name) and id.
    public var record: (module: String, id: Int64)?
    /// Tasks not completed or deferred; calls still scheduled.
    public var openOnly: Bool
    public var limit: Int

    public init(user: Int64? = nil, record: (module: String, id: Int64)? = nil, openOnly: Bool = false, limit: Int = 200) {
        self.user = user
        self.record = record
        self.openOnly = openOnly
        self.limit = limit
    }

    func whereSQL(userColumn: String) -> SQLQueryString {
        var parts: [SQLQueryString] = ["1=1"]
        if let user { parts.append("a.\(ident: userColumn) = \(bind: user)") }
        if let record { parts.append("mo.api_name = \(bind: record.module) AND a.record_id = \(bind: record.id)") }
        return parts.joined(separator: " AND ")
    }
}

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

/// Calls: attached to a record, made by their owner.
public struct CallStore: Sendable {
    let database: any HeraldDatabase

    static let columns: SQLQueryString = """
        a.id, mo.api_name AS module, a.record_id, a.subject, a.owner_id, a.start_at, a.status, a.mass_email_id, a.created_at, a.modified_at
        """

    /// Schedules a call with a record; the record and the owner must exist.
    public func create(_ call: CRMCall, in module: Module, by creator: Int64?, now: Date = Date()) async throws -> CRMCall {
        let id = try await database.transaction { db in
            try await ActivityChecks.check(subject: call.subject, recordID: call.recordID, in: module, user: (call.ownerID, "owner_id"), db: db)
            return try await Self.insert(call, moduleID: module.id, by: creator, now: WallClock.epochSeconds(now), db: db)
        }
        return try await find(id)
    }

    /// Inserts a checked call in the caller's transaction (a trigger action's).
    static func insert(_ call: CRMCall, moduleID: Int64, by creator: Int64?, now: Int64, db: any SQLDatabase) async throws -> Int64 {
        let row = try await db.raw("""
            INSERT INTO calls (module_id, record_id, subject, owner_id, start_at, status, created_by, mass_email_id, created_at, modified_at)
            VALUES (\(bind: moduleID), \(bind: call.recordID), \(bind: call.subject.trimmedWhitespace), \(bind: call.ownerID),
                \(bind: call.startAt), \(bind: call.status.rawValue), \(bind: creator), \(bind: call.massEmailID), \(bind: now), \(bind: now))
            RETURNING id
            """).first()
        return try row!.decode(column: "id", as: Int64.self)
    }

    public func find(_ id: Int64) async throws -> CRMCall {
        let row = try await database.read { db in
            try await db.raw("SELECT \(Self.columns) FROM calls a JOIN modules mo ON mo.id = a.module_id WHERE a.id = \(bind: id)").first()
        }
        guard let row else { throw HeraldError.notFound("no call \(id)") }
        return try Self.call(from: row)
    }

    /// Scheduled calls first, soonest first; then the others, latest first.
    public func list(_ filter: ActivityFilter) async throws -> [CRMCall] {
        let open: SQLQueryString = filter.openOnly ? "a.status = 'scheduled'" : "1=1"
        return try await database.read { db in
            try await db.raw("""
                SELECT \(Self.columns) FROM calls a JOIN modules mo ON mo.id = a.module_id
                WHERE \(filter.whereSQL(userColumn: "owner_id")) AND \(open)
                ORDER BY (CASE WHEN a.status = 'scheduled' THEN 0 ELSE 1 END),
                    (CASE WHEN a.status = 'scheduled' THEN a.start_at ELSE -a.start_at END), a.id DESC
                LIMIT \(literal: max(1, min(filter.limit, 1000)))
                """).all().map(Self.call(from:))
        }
    }

    /// Saves a changed call (subject, owner, start time, status).
    public func update(_ call: CRMCall, in module: Module, now: Date = Date()) async throws -> CRMCall {
        try await database.transaction { db in
            try await ActivityChecks.check(subject: call.subject, recordID: nil, in: module, user: (call.ownerID, "owner_id"), db: db)
            let row = try await db.raw("""
                UPDATE calls SET subject = \(bind: call.subject.trimmedWhitespace), owner_id = \(bind: call.ownerID),
                    start_at = \(bind: call.startAt), status = \(bind: call.status.rawValue), modified_at = \(bind: WallClock.epochSeconds(now))
                WHERE id = \(bind: call.id) RETURNING id
                """).first()
            if row == nil { throw HeraldError.notFound("no call \(call.id)") }
        }
        return try await find(call.id)
    }

    public func delete(_ id: Int64) async throws {
        try await database.transaction { db in
            if try await db.raw("DELETE FROM calls WHERE id = \(bind: id) RETURNING id").first() == nil {
                throw HeraldError.notFound("no call \(id)")
            }
        }
    }

    static func call(from row: any SQLRow) throws -> CRMCall {
        CRMCall(
            id: try row.decode(column: "id", as: Int64.self),
            module: try row.decode(column: "module", as: String.self),
            recordID: try row.decode(column: "record_id", as: Int64.self),
            subject: try row.decode(column: "subject", as: String.self),
            ownerID: try row.decode(column: "owner_id", as: Int64.self),
            startAt: try row.decode(column: "start_at", as: Int64.self),
            status: CRMCall.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .scheduled,
            massEmailID: try row.decode(column: "mass_email_id", as: Int64?.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            modifiedAt: try row.decode(column: "modified_at", as: Int64.self))
    }
}

/// What tasks and calls check alike before they are written, every problem at once.
enum ActivityChecks {
    /// - Parameter recordID: the record it is attached to, checked when creating.
    static func check(subject: String, recordID: Int64?, in module: Module, user: (id: Int64, field: String),
                      db: any SQLDatabase) async throws {
        var problems = ProblemList()
        if let reason = CRMTask.subjectProblem(subject) { problems.add("subject", reason) }
        if let recordID, try await db.raw("SELECT id FROM \(ident: module.table) WHERE id = \(bind: recordID)").first() == nil {
            problems.add("record_id", "no \(module.singularLabel.lowercased()) \(recordID) in \(module.pluralLabel)")
        }
        if try await db.raw("SELECT id FROM users WHERE id = \(bind: user.id)").first() == nil {
            problems.add(user.field, "no user \(user.id)")
        }
        try problems.check()
    }
}
