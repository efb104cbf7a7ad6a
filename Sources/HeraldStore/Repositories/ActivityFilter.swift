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
