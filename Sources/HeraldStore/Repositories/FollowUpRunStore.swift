import Foundation
import HeraldCore
import SQLKit

/// The follow-ups of sent mass emails: when each is due, firing it, choosing and queueing
/// its recipients, and its status.
///
/// As with mass emails, every transition is one conditional UPDATE, so that of several
/// processes sharing PostgreSQL exactly one fires a follow-up, and choosing its recipients
/// is leased and resumes at its cursor after a crash.
public struct FollowUpRunStore: Sendable {
    let database: any HeraldDatabase

    static let columns: SQLQueryString = """
        mass_email_id, step, status, status_reason, due_at, started_at, finished_at, resolved_at, excluded
        """

    /// Makes the runs of a mass email that just finished sending, waiting; part of the
    /// transition to sent. A follow-up stopped before keeps its stopped run.
    static func create(massEmailID: Int64, count: Int, now: Int64, db: any SQLDatabase) async throws {
        guard count > 0 else { return }
        let rows = (1...count).map { SQLQueryString("(\(bind: massEmailID), \(bind: $0), 'waiting', \(bind: now))") }
        try await db.raw("""
            INSERT INTO follow_up_runs (mass_email_id, step, status, modified_at) VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (mass_email_id, step) DO NOTHING
            """).run()
    }

    /// The runs of these mass emails, by mass email, in step order.
    public func runs(of massEmailIDs: [Int64]) async throws -> [Int64: [FollowUpRun]] {
        guard !massEmailIDs.isEmpty else { return [:] }
        return try await database.read { db in
            try await db.raw("""
                SELECT \(Self.columns) FROM follow_up_runs WHERE mass_email_id IN (\(binds: massEmailIDs)) ORDER BY mass_email_id, step
                """).all().map(Self.run(from:))
        }.reduce(into: [:]) { $0[$1.massEmailID, default: []].append($1) }
    }

    public func run(_ massEmailID: Int64, step: Int) async throws -> FollowUpRun? {
        try await database.read { db in
            try await db.raw("""
                SELECT \(Self.columns) FROM follow_up_runs WHERE mass_email_id = \(bind: massEmailID) AND step = \(bind: step)
                """).first().map(Self.run(from:))
        }
    }

    // MARK: Due and firing

    /// Gives a time to every waiting run that has none and whose starting point has come: the
    /// mass email's finish, or the previous follow-up's firing. `zone` is the organisation's
    /// (calendar days and sending windows are counted in it).
    public func planDue(zone: TimeZone) async throws {
        let undated = try await database.read { db in
            try await db.raw("""
                SELECT r.mass_email_id, r.step, m.finished_at, m.follow_ups, p.started_at AS previous_started_at
                FROM follow_up_runs r JOIN mass_emails m ON m.id = r.mass_email_id
                LEFT JOIN follow_up_runs p ON p.mass_email_id = r.mass_email_id AND p.step = r.step - 1
                WHERE r.status = 'waiting' AND r.due_at IS NULL
                """).all()
        }
        for row in undated {
            let id = try row.decode(column: "mass_email_id", as: Int64.self)
            let step = try row.decode(column: "step", as: Int.self)
            let followUps: [FollowUp] = try MassEmailStore.decodeList(row, column: "follow_ups")
            guard step <= followUps.count,
                  let due = FollowUp.dueAt(step - 1, of: followUps, massEmailFinishedAt: try row.decode(column: "finished_at", as: Int64?.self),
                                           previousFiredAt: try row.decode(column: "previous_started_at", as: Int64?.self), zone: zone)
            else { continue }
            try await database.transaction { db in
                try await db.raw("""
                    UPDATE follow_up_runs SET due_at = \(bind: due)
                    WHERE mass_email_id = \(bind: id) AND step = \(bind: step) AND due_at IS NULL
                    """).run()
            }
        }
    }

    /// When the next waiting follow-up is due, if any has a time.
    public func nextDueAt() async throws -> Int64? {
        try await database.read { db in
            try await db.raw("SELECT MIN(due_at) AS t FROM follow_up_runs WHERE status = 'waiting'").first()?
                .decode(column: "t", as: Int64?.self)
        }
    }

    /// Fires the follow-ups that are due and returns those this call fired: one that another
    /// process fired meanwhile is not among them.
    public func fireDue(now: Int64) async throws -> [MassEmailStep] {
        let due = try await database.read { db in
            try await db.raw("""
                SELECT mass_email_id, step FROM follow_up_runs WHERE status = 'waiting' AND due_at <= \(bind: now)
                ORDER BY due_at LIMIT 100
                """).all().map(Self.step(from:))
        }
        var fired: [MassEmailStep] = []
        for due in due {
            let won = try await database.transaction { db in
                try await db.raw("""
                    UPDATE follow_up_runs SET status = 'sending', started_at = \(bind: now), modified_at = \(bind: now)
                    WHERE mass_email_id = \(bind: due.massEmailID) AND step = \(bind: due.step) AND status = 'waiting' RETURNING step
                    """).first() != nil
            }
            if won { fired.append(due) }
        }
        return fired
    }

    // MARK: Choosing recipients

    /// Fired follow-ups whose recipients are not all queued and that no live process is choosing.
    public func unresolved(now: Int64) async throws -> [MassEmailStep] {
        try await database.read { db in
            try await db.raw("""
                SELECT mass_email_id, step FROM follow_up_runs WHERE status = 'sending' AND resolved_at IS NULL
                  AND (resolver_lease IS NULL OR resolver_lease < \(bind: now)) ORDER BY mass_email_id, step
                """).all().map(Self.step(from:))
        }
    }

    /// Takes (or renews) the right to choose a follow-up's recipients for `leaseSeconds`;
    /// false once another process holds it, or the follow-up was stopped.
    public func claimResolution(_ massEmailID: Int64, step: Int, node: String, now: Int64, leaseSeconds: Int64 = 60) async throws -> Bool {
        try await database.transaction { db in
            try await db.raw("""
                UPDATE follow_up_runs SET resolver = \(bind: node), resolver_lease = \(bind: now + leaseSeconds)
                WHERE mass_email_id = \(bind: massEmailID) AND step = \(bind: step) AND resolved_at IS NULL
                  AND status IN ('sending', 'paused')
                  AND (resolver = \(bind: node) OR resolver_lease IS NULL OR resolver_lease < \(bind: now))
                RETURNING step
                """).first() != nil
        }
    }

    /// Where choosing stopped: the last step 0 message looked at, and the exclusions so far.
    public func resolutionProgress(_ massEmailID: Int64, step: Int) async throws -> (cursor: Int64, excluded: [FollowUpExclusionReason: Int]) {
        let row = try await database.read { db in
            try await db.raw("""
                SELECT resolve_cursor, excluded FROM follow_up_runs WHERE mass_email_id = \(bind: massEmailID) AND step = \(bind: step)
                """).first()
        }
        guard let row else { throw HeraldError.notFound("mass email \(massEmailID) has no follow-up \(step) under way") }
        return (try row.decode(column: "resolve_cursor", as: Int64.self), MassEmailStore.decodeCounts(try row.decode(column: "excluded", as: String.self)))
    }

    /// Queues one chunk of a follow-up's recipients as step `step` messages and records the
    /// cursor and the exclusions in the same transaction, so that a crash neither loses nor
    /// repeats a chunk.
    public func enqueue(_ massEmailID: Int64, step: Int, recipients: [FollowUpRecipient], cursor: Int64,
                        excluded: [FollowUpExclusionReason: Int], now: Int64) async throws {
        try await database.transaction { db in
            _ = try await MessageStore.insertQueued(massEmailID: massEmailID, step: step,
                                                   recipients: recipients.map { ($0.recordID, $0.address) }, now: now,
                                                   kind: database.kind, db: db)
            try await db.raw("""
                UPDATE follow_up_runs SET resolve_cursor = \(bind: cursor), excluded = \(bind: MassEmailStore.encodeCounts(excluded))
                WHERE mass_email_id = \(bind: massEmailID) AND step = \(bind: step)
                """).run()
        }
    }

    /// Marks a follow-up's recipients all queued: it is sent once they are all decided.
    public func markResolved(_ massEmailID: Int64, step: Int, now: Int64) async throws {
        try await database.transaction { db in
            try await db.raw("""
                UPDATE follow_up_runs SET resolved_at = \(bind: now), resolver = NULL, resolver_lease = NULL
                WHERE mass_email_id = \(bind: massEmailID) AND step = \(bind: step) AND resolved_at IS NULL
                """).run()
        }
    }

    // MARK: Transitions

    /// Marks a sending follow-up sent once every message of it is decided.
    @discardableResult
    public func finishIfDone(_ massEmailID: Int64, step: Int, now: Int64) async throws -> Bool {
        try await database.transaction { db in
            try await db.raw("""
                UPDATE follow_up_runs SET status = 'sent', finished_at = \(bind: now), modified_at = \(bind: now)
                WHERE mass_email_id = \(bind: massEmailID) AND step = \(bind: step) AND status = 'sending' AND resolved_at IS NOT NULL
                  AND NOT \(MessageStore.anyUndecided(massEmail: massEmailID, step: step))
                RETURNING step
                """).first() != nil
        }
    }

    /// Stops follow-up `step` of a mass email (nil: every follow-up not sent yet), and the
    /// follow-ups counted from it, which could otherwise never be due. A follow-up whose mass
    /// email is still sending (or paused) is stopped ahead: it gets no run when the mass email
    /// finishes. Of a draft or a scheduled mass email, the follow-ups are edited instead.
    /// Returns the steps it stopped; a follow-up already sent, stopped or failed is left as it is.
    @discardableResult
    public func stop(_ massEmailID: Int64, step: Int?, now: Int64) async throws -> [Int] {
        try await database.transaction { db in
            guard let row = try await db.raw("SELECT status, follow_ups FROM mass_emails WHERE id = \(bind: massEmailID)").first() else {
                throw HeraldError.notFound("no mass email \(massEmailID)")
            }
            let status = try row.decode(column: "status", as: String.self)
            guard ["sending", "paused", "sent"].contains(status) else {
                // A draft or a scheduled mass email is edited instead; a stopped or failed one sends no follow-up.
                throw HeraldError.conflict("mass email \(massEmailID) is \(status); " + (["draft", "scheduled"].contains(status)
                    ? "edit it to change its follow-ups" : "its follow-ups will not be sent"), problems: [Problem(field: "status", reason: status)])
            }
            let followUps: [FollowUp] = try MassEmailStore.decodeList(row, column: "follow_ups")
            let steps: [Int]
            if let step {
                guard step >= 1, step <= followUps.count else { throw HeraldError.notFound("mass email \(massEmailID) has no follow-up \(step)") }
                steps = [step] + FollowUp.chained(after: step - 1, in: followUps).map { $0 + 1 }
            } else {
                steps = followUps.indices.map { $0 + 1 }
            }
            var stopped: [Int] = []
            for s in steps {
                let changed = try await db.raw("""
                    INSERT INTO follow_up_runs (mass_email_id, step, status, finished_at, modified_at)
                    VALUES (\(bind: massEmailID), \(bind: s), 'stopped', \(bind: now), \(bind: now))
                    ON CONFLICT (mass_email_id, step) DO UPDATE SET status = 'stopped', status_reason = NULL,
                        finished_at = \(bind: now), modified_at = \(bind: now)
                    WHERE follow_up_runs.status IN ('waiting', 'sending', 'paused')
                    RETURNING step
                    """).first() != nil
                if changed { stopped.append(s) }
            }
            if step != nil, stopped.isEmpty {
                let status = try await db.raw("""
                    SELECT status FROM follow_up_runs WHERE mass_email_id = \(bind: massEmailID) AND step = \(bind: step!)
                    """).first()?.decode(column: "status", as: String.self) ?? "unknown"
                throw HeraldError.conflict("follow-up \(step!) of mass email \(massEmailID) is \(status) and cannot be stopped",
                                           problems: [Problem(field: "status", reason: status)])
            }
            return stopped
        }
    }

    /// Pauses a sending follow-up, saying why.
    public func pause(_ massEmailID: Int64, step: Int, reason: String, now: Int64) async throws {
        try await transition(massEmailID, step: step, from: ["sending"], to: .paused, reason: reason, now: now)
    }

    /// Lets a paused follow-up send again.
    public func resume(_ massEmailID: Int64, step: Int, now: Int64) async throws {
        try await transition(massEmailID, step: step, from: ["paused"], to: .sending, reason: nil, now: now, action: "resumed")
    }

    /// Marks a follow-up failed, saying why (its template no longer compiles).
    /// Those counted from it can never be due: they are stopped, saying why.
    public func fail(_ massEmailID: Int64, step: Int, reason: String, now: Int64) async throws {
        try await transition(massEmailID, step: step, from: ["waiting", "sending", "paused"], to: .failed, reason: reason, now: now)
        let followUps = try await MassEmailStore(database: database).find(massEmailID).followUps
        guard step >= 1, step <= followUps.count else { return }
        for chained in FollowUp.chained(after: step - 1, in: followUps) {
            try await transition(massEmailID, step: chained + 1, from: ["waiting"], to: .stopped,
                                 reason: "follow-up \(step), which it is counted from, failed", now: now)
        }
    }

    private func transition(_ massEmailID: Int64, step: Int, from: [String], to: FollowUpRun.Status, reason: String?, now: Int64,
                            action: String? = nil) async throws {
        try await database.transaction { db in
            let finished: SQLQueryString = to == .failed || to == .stopped ? ", finished_at = \(bind: now)" : ""
            let row = try await db.raw("""
                UPDATE follow_up_runs SET status = \(bind: to.rawValue), status_reason = \(bind: reason), modified_at = \(bind: now)\(finished)
                WHERE mass_email_id = \(bind: massEmailID) AND step = \(bind: step) AND status IN (\(binds: from)) RETURNING step
                """).first()
            if row == nil, let action {
                let status = try await db.raw("""
                    SELECT status FROM follow_up_runs WHERE mass_email_id = \(bind: massEmailID) AND step = \(bind: step)
                    """).first()?.decode(column: "status", as: String.self) ?? FollowUpRun.Status.pending.rawValue
                throw HeraldError.conflict("follow-up \(step) of mass email \(massEmailID) is \(status) and cannot be \(action)",
                                           problems: [Problem(field: "status", reason: status)])
            }
        }
    }

    // MARK: Rows

    static func step(from row: any SQLRow) throws -> MassEmailStep {
        MassEmailStep(massEmailID: try row.decode(column: "mass_email_id", as: Int64.self), step: try row.decode(column: "step", as: Int.self))
    }

    static func run(from row: any SQLRow) throws -> FollowUpRun {
        FollowUpRun(
            massEmailID: try row.decode(column: "mass_email_id", as: Int64.self),
            step: try row.decode(column: "step", as: Int.self),
            status: FollowUpRun.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            statusReason: try row.decode(column: "status_reason", as: String?.self),
            dueAt: try row.decode(column: "due_at", as: Int64?.self),
            startedAt: try row.decode(column: "started_at", as: Int64?.self),
            finishedAt: try row.decode(column: "finished_at", as: Int64?.self),
            resolvedAt: try row.decode(column: "resolved_at", as: Int64?.self),
            excluded: MassEmailStore.decodeCounts(try row.decode(column: "excluded", as: String.self)))
    }
}
