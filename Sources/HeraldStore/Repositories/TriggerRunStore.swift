import Foundation
import HeraldCore
import SQLKit

/// What a trigger action does to one record, worked out by the runner: values to set, or a
/// task or a call to add (with its assignee, owner and times already decided).
public enum TriggerEffect: Sendable, Hashable {
    case update(RecordChanges)
    case task(CRMTask)
    case call(CRMCall)
}

/// The record of which trigger actions ran for which recipient records.
public struct TriggerRunStore: Sendable {
    let database: any HeraldDatabase

    /// Runs action `index` of a mass email for one record, unless it ran before: the run is
    /// noted and the effect written in one transaction, so that of any number of attempts, in
    /// any number of processes, exactly one takes effect. On PostgreSQL a concurrent attempt
    /// waits on the first one's row and then finds it; on SQLite writers take turns.
    ///
    /// - Returns: whether this call ran it (false: it had run already).
    /// - Throws: when the effect cannot be written (the record was deleted, a value no longer
    ///   suits its field); nothing is noted then.
    public func runOnce(massEmailID: Int64, index: Int, module: Module, recordID: Int64, event: EngagementEvent.Kind,
                        effect: TriggerEffect, now: Int64 = WallClock.epochSeconds()) async throws -> Bool {
        try await database.transaction { db in
            let claimed = try await db.raw("""
                INSERT INTO trigger_runs (mass_email_id, action_index, record_id, event, ran_at)
                VALUES (\(bind: massEmailID), \(bind: index), \(bind: recordID), \(bind: event.rawValue), \(bind: now))
                ON CONFLICT (mass_email_id, action_index, record_id) DO NOTHING RETURNING record_id
                """).first() != nil
            guard claimed else { return false }
            switch effect {
            case .update(let changes):
                var set = changes.values
                set[BuiltinFields.modifiedAt] = .some(.datetime(now))
                _ = try await RecordStore.update(in: module, id: recordID, set: set, scope: .all, db: db)
            case .task(let task):
                try await ActivityChecks.check(subject: task.subject, recordID: recordID, in: module,
                                               user: (task.assigneeID, "assignee_id"), db: db)
                _ = try await TaskStore.insert(task, moduleID: module.id, by: nil, now: now, db: db)
            case .call(let call):
                try await ActivityChecks.check(subject: call.subject, recordID: recordID, in: module, user: (call.ownerID, "owner_id"), db: db)
                _ = try await CallStore.insert(call, moduleID: module.id, by: nil, now: now, db: db)
            }
            return true
        }
    }

    /// Whether action `index` of a mass email ran for the record already.
    public func hasRun(massEmailID: Int64, index: Int, recordID: Int64) async throws -> Bool {
        try await database.read { db in
            try await db.raw("""
                SELECT 1 AS one FROM trigger_runs
                WHERE mass_email_id = \(bind: massEmailID) AND action_index = \(bind: index) AND record_id = \(bind: recordID)
                """).first() != nil
        }
    }

    /// How many records each action of a mass email ran for, by action index.
    public func counts(massEmailID: Int64) async throws -> [Int: Int] {
        try await database.read { db in
            var out: [Int: Int] = [:]
            for row in try await db.raw("""
                SELECT action_index, COUNT(*) AS n FROM trigger_runs WHERE mass_email_id = \(bind: massEmailID) GROUP BY action_index
                """).all() {
                out[try row.decode(column: "action_index", as: Int.self)] = try row.decode(column: "n", as: Int.self)
            }
            return out
        }
    }
}
