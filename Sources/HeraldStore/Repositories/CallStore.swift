import Foundation
import HeraldCore
import SQLKit

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
