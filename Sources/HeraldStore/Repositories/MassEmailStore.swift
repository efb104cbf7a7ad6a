import Foundation
import HeraldCore
import SQLKit

/// A mass email's message counts, by step (0 is the mass email, k its k-th follow-up).
public struct MassEmailFigures: Sendable, Hashable {
    public var byStatus: [MessageStatus: Int] = [:]
    /// Recipients who opened, by a person's open (or click).
    public var opened = 0
    /// Recipients whose message only machines opened (privacy proxies, scanners).
    public var machineOpened = 0
    public var clicked = 0
    public var machineClicked = 0
    public var unsubscribed = 0
    /// Recipients with a soft (temporary) bounce reported after sending and no hard one.
    public var softBounced = 0
    /// Recipients who replied.
    public var replied = 0
    /// Recipients who reported the message as spam.
    public var complained = 0
    /// Recipients whose receiver refused us rather than the address (``Bounce/Kind/refused``),
    /// by reason (`blocked`, `spam`, …).
    public var refusedByReason: [String: Int] = [:]
    public var refused: Int { refusedByReason.values.reduce(0, +) }
    /// Complaints per delivered message, in percent; nil before anything was delivered.
    public var complaintRate: Double? { ComplaintRule.rate(complaints: complained, delivered: self[.sent]) }

    public init(byStatus: [MessageStatus: Int] = [:]) { self.byStatus = byStatus }

    public subscript(_ status: MessageStatus) -> Int { byStatus[status] ?? 0 }
    /// Messages made: one per address.
    public var recipients: Int { byStatus.values.reduce(0, +) }
    /// Handed to SMTP and answered, either way.
    public var processed: Int { self[.sent] + self[.failed] + self[.bounced] }
    public var pending: Int { self[.queued] + self[.sending] + self[.deferred] + self[.uncertain] }
}

/// What the engine sends: a mass email's own messages (step 0) or one follow-up's (step k).
public struct SendingUnit: Sendable, Hashable {
    public var massEmail: MassEmail
    public var step: Int
    /// The rates of the mass email's sender when the unit was read (nil: no such limit).
    public var senderRatePerMinute: Int?
    public var senderRatePerHour: Int?

    public init(massEmail: MassEmail, step: Int, senderRatePerMinute: Int? = nil, senderRatePerHour: Int? = nil) {
        self.massEmail = massEmail
        self.step = step
        self.senderRatePerMinute = senderRatePerMinute
        self.senderRatePerHour = senderRatePerHour
    }

    public var key: MassEmailStep { MassEmailStep(massEmailID: massEmail.id, step: step) }

    /// The same mass email and step, however fresh the mass email's details.
    public static func == (a: SendingUnit, b: SendingUnit) -> Bool { a.key == b.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }

    /// The SQL condition that step `step` of mass email `massEmail` may be sent now: the mass
    /// email is sending, or (for a follow-up) it is sent and the follow-up is sending.
    static func sendingCondition(massEmail: Int64, step: Int) -> SQLQueryString {
        step == 0
            ? "EXISTS (SELECT 1 FROM mass_emails WHERE id = \(bind: massEmail) AND status = 'sending')"
            : """
              EXISTS (SELECT 1 FROM follow_up_runs r JOIN mass_emails me ON me.id = r.mass_email_id
                      WHERE r.mass_email_id = \(bind: massEmail) AND r.step = \(bind: step) AND r.status = 'sending' AND me.status = 'sent')
              """
    }
}

/// Mass emails: their details, their status, and the transitions between statuses.
///
/// Every transition is one conditional UPDATE (`… WHERE status = 'scheduled'`), so that of
/// several processes sharing a PostgreSQL database exactly one starts a mass email.
public struct MassEmailStore: Sendable {
    let database: any HeraldDatabase

    static let columns: SQLQueryString = """
        m.id, m.name, mo.api_name AS module, m.owner_id, m.template_id, m.sender_id, m.recipients_kind, m.recipients_ref,
        m.record_ids, m.status, m.status_reason, m.scheduled_at, m.time_zone, m.local_delivery, m.started_at, m.finished_at, m.resolved_at,
        m.skipped, m.created_at, m.modified_at, m.trigger_actions, m.triggers_on_machines, m.follow_ups,
        m.ab_test, m.ab_decide_at, m.ab_decision
        """

    /// Creates a mass email from what the user asked for; the template, the sender and the
    /// view or list must exist and belong to the module.
    public func create(_ draft: MassEmailDraft, in module: Module, owner: Int64, now: Date = Date()) async throws -> MassEmail {
        let v = try DraftColumns(draft, now: now)
        let stamp = WallClock.epochSeconds(now)
        let id = try await database.transaction { db in
            try await Self.checkReferences(draft, in: module, db: db)
            let row = try await db.raw("""
                INSERT INTO mass_emails (name, module_id, owner_id, template_id, sender_id, recipients_kind, recipients_ref, record_ids,
                    status, scheduled_at, time_zone, local_delivery, created_at, modified_at, trigger_actions, triggers_on_machines, follow_ups,
                    ab_test)
                VALUES (\(bind: v.name), \(bind: module.id), \(bind: owner), \(bind: draft.templateID), \(bind: draft.senderID),
                    \(bind: v.kind), \(bind: v.ref), \(bind: v.ids), \(bind: v.status.rawValue), \(bind: v.scheduledAt), \(bind: v.zone),
                    \(bind: v.localDelivery),
                    \(bind: stamp), \(bind: stamp), \(bind: v.triggerActions), \(bind: draft.triggersOnMachineEvents), \(bind: v.followUps),
                    \(bind: v.abTest))
                RETURNING id
                """).first()
            return try row!.decode(column: "id", as: Int64.self)
        }
        return try await find(id)
    }

    /// Changes a draft or a scheduled mass email that has not started.
    public func update(_ id: Int64, _ draft: MassEmailDraft, in module: Module, now: Date = Date()) async throws -> MassEmail {
        let v = try DraftColumns(draft, now: now)
        try await database.transaction { db in
            try await Self.checkReferences(draft, in: module, db: db)
            let row = try await db.raw("""
                UPDATE mass_emails SET name = \(bind: v.name), template_id = \(bind: draft.templateID), sender_id = \(bind: draft.senderID),
                    recipients_kind = \(bind: v.kind), recipients_ref = \(bind: v.ref), record_ids = \(bind: v.ids),
                    status = \(bind: v.status.rawValue), scheduled_at = \(bind: v.scheduledAt), time_zone = \(bind: v.zone),
                    local_delivery = \(bind: v.localDelivery),
                    trigger_actions = \(bind: v.triggerActions), triggers_on_machines = \(bind: draft.triggersOnMachineEvents),
                    follow_ups = \(bind: v.followUps), ab_test = \(bind: v.abTest),
                    modified_at = \(bind: WallClock.epochSeconds(now))
                WHERE id = \(bind: id) AND module_id = \(bind: module.id) AND status IN ('draft', 'scheduled')
                RETURNING id
                """).first()
            if row == nil { try await Self.explainRefusal(id, action: "edited", db: db) }
        }
        return try await find(id)
    }

    public func find(_ id: Int64) async throws -> MassEmail {
        let row = try await database.read { db in
            try await db.raw("SELECT \(Self.columns) FROM mass_emails m JOIN modules mo ON mo.id = m.module_id WHERE m.id = \(bind: id)").first()
        }
        guard let row else { throw HeraldError.notFound("no mass email \(id)") }
        return try Self.massEmail(from: row)
    }

    /// Mass emails, newest first, optionally only those with one of `statuses` or owned by `owner`.
    public func all(statuses: [MassEmail.Status]? = nil, owner: Int64? = nil, limit: Int = 200) async throws -> [MassEmail] {
        let statusFilter: SQLQueryString = statuses.map { "m.status IN (\(binds: $0.map(\.rawValue)))" } ?? "1=1"
        let ownerFilter: SQLQueryString = owner.map { "m.owner_id = \(bind: $0)" } ?? "1=1"
        return try await database.read { db in
            try await db.raw("""
                SELECT \(Self.columns) FROM mass_emails m JOIN modules mo ON mo.id = m.module_id
                WHERE \(statusFilter) AND \(ownerFilter)
                ORDER BY COALESCE(m.finished_at, m.started_at, m.scheduled_at, m.created_at) DESC, m.id DESC LIMIT \(literal: limit)
                """).all().map(Self.massEmail(from:))
        }
    }

    /// How many mass emails have each status.
    public func countsByStatus(owner: Int64? = nil) async throws -> [MassEmail.Status: Int] {
        let ownerFilter: SQLQueryString = owner.map { "owner_id = \(bind: $0)" } ?? "1=1"
        return try await database.read { db in
            var counts: [MassEmail.Status: Int] = [:]
            for row in try await db.raw("SELECT status, COUNT(*) AS n FROM mass_emails WHERE \(ownerFilter) GROUP BY status").all() {
                if let status = MassEmail.Status(rawValue: try row.decode(column: "status", as: String.self)) {
                    counts[status] = try row.decode(column: "n", as: Int.self)
                }
            }
            return counts
        }
    }

    /// Message counts of the given mass emails, for one step.
    public func figures(_ ids: [Int64], step: Int = 0) async throws -> [Int64: MassEmailFigures] {
        guard !ids.isEmpty else { return [:] }
        return try await database.read { db in
            var out: [Int64: MassEmailFigures] = [:]
            for row in try await db.raw("""
                SELECT mass_email_id, status, COUNT(*) AS n FROM mail_messages
                WHERE mass_email_id IN (\(binds: ids)) AND step = \(bind: step) GROUP BY mass_email_id, status
                """).all() {
                let id = try row.decode(column: "mass_email_id", as: Int64.self)
                if let status = MessageStatus(rawValue: try row.decode(column: "status", as: String.self)) {
                    out[id, default: MassEmailFigures()].byStatus[status] = try row.decode(column: "n", as: Int.self)
                }
            }
            for row in try await db.raw("""
                SELECT mass_email_id, COUNT(opened_at) AS opened, COUNT(clicked_at) AS clicked, COUNT(unsubscribed_at) AS unsubscribed,
                    SUM(CASE WHEN opened_at IS NULL AND machine_opened_at IS NOT NULL THEN 1 ELSE 0 END) AS machine_opened,
                    SUM(CASE WHEN clicked_at IS NULL AND machine_clicked_at IS NOT NULL THEN 1 ELSE 0 END) AS machine_clicked
                FROM mail_messages WHERE mass_email_id IN (\(binds: ids)) AND step = \(bind: step)
                    AND (opened_at IS NOT NULL OR machine_opened_at IS NOT NULL OR machine_clicked_at IS NOT NULL
                        OR unsubscribed_at IS NOT NULL)
                GROUP BY mass_email_id
                """).all() {
                let id = try row.decode(column: "mass_email_id", as: Int64.self)
                var f = out[id, default: MassEmailFigures()]
                f.opened = try row.decode(column: "opened", as: Int.self)
                f.clicked = try row.decode(column: "clicked", as: Int.self)
                f.unsubscribed = try row.decode(column: "unsubscribed", as: Int.self)
                f.machineOpened = try row.decode(column: "machine_opened", as: Int?.self) ?? 0
                f.machineClicked = try row.decode(column: "machine_clicked", as: Int?.self) ?? 0
                out[id] = f
            }
            for row in try await db.raw("""
                SELECT b.mass_email_id, COUNT(DISTINCT b.message_id) AS n FROM bounces b JOIN mail_messages m ON m.id = b.message_id
                WHERE b.mass_email_id IN (\(binds: ids)) AND m.step = \(bind: step) AND b.kind = 'soft' AND m.status <> 'bounced'
                GROUP BY b.mass_email_id
                """).all() {
                out[try row.decode(column: "mass_email_id", as: Int64.self), default: MassEmailFigures()].softBounced =
                    try row.decode(column: "n", as: Int.self)
            }
            for row in try await db.raw("""
                SELECT b.mass_email_id, b.kind, b.reason, COUNT(DISTINCT b.message_id) AS n FROM bounces b
                JOIN mail_messages m ON m.id = b.message_id
                WHERE b.mass_email_id IN (\(binds: ids)) AND m.step = \(bind: step) AND b.kind IN ('complaint', 'refused')
                GROUP BY b.mass_email_id, b.kind, b.reason
                """).all() {
                let id = try row.decode(column: "mass_email_id", as: Int64.self)
                let n = try row.decode(column: "n", as: Int.self)
                if try row.decode(column: "kind", as: String.self) == Bounce.Kind.complaint.rawValue {
                    out[id, default: MassEmailFigures()].complained += n
                } else {
                    out[id, default: MassEmailFigures()].refusedByReason[try row.decode(column: "reason", as: String?.self) ?? "other", default: 0] += n
                }
            }
            for row in try await db.raw("""
                SELECT r.mass_email_id, COUNT(DISTINCT r.message_id) AS n FROM replies r JOIN mail_messages m ON m.id = r.message_id
                WHERE r.mass_email_id IN (\(binds: ids)) AND m.step = \(bind: step) GROUP BY r.mass_email_id
                """).all() {
                out[try row.decode(column: "mass_email_id", as: Int64.self), default: MassEmailFigures()].replied =
                    try row.decode(column: "n", as: Int.self)
            }
            return out
        }
    }

    /// The statuses of a mass email that is not done: a person may still send, wait for or change it.
    static let notDone: SQLQueryString = "('draft', 'scheduled', 'sending', 'paused')"

    /// Refuses (409) to delete or change a view or list (`recipients` is `view` or `list`)
    /// that a mass email still has to resolve its recipients from: deleted, the mass email
    /// would go out to nobody; changed, to others than the ones it was saved for.
    static func refuseIfUsed(recipients kind: String, id: Int64, what: String, change: String = "deleted", db: any SQLDatabase) async throws {
        guard let used = try await db.raw("""
            SELECT name, status FROM mass_emails WHERE recipients_kind = \(bind: kind) AND recipients_ref = \(bind: id)
              AND resolved_at IS NULL AND status IN \(Self.notDone) LIMIT 1
            """).first() else { return }
        let name = try used.decode(column: "name", as: String.self)
        let status = try used.decode(column: "status", as: String.self)
        throw HeraldError.conflict("the \(status) mass email '\(name)' sends to this \(what); it cannot be \(change) until it has chosen its recipients",
                                   problems: [Problem(field: "id", reason: "in use by a mass email")])
    }

    /// Deletes a draft (a mass email that sent anything stays, for its figures).
    public func delete(_ id: Int64) async throws {
        try await database.transaction { db in
            let row = try await db.raw("DELETE FROM mass_emails WHERE id = \(bind: id) AND status = 'draft' RETURNING id").first()
            if row == nil { try await Self.explainRefusal(id, action: "deleted (only drafts can be)", db: db) }
        }
    }

    // MARK: Transitions

    /// When the next scheduled mass email is due, if any.
    public func nextScheduledAt() async throws -> Int64? {
        try await database.read { db in
            try await db.raw("SELECT MIN(scheduled_at) AS t FROM mass_emails WHERE status = 'scheduled'").first()?
                .decode(column: "t", as: Int64?.self)
        }
    }

    /// Moves the scheduled mass emails that are due to `sending` and returns those this call
    /// moved: a mass email that another process started meanwhile is not among them.
    public func startDue(now: Int64) async throws -> [Int64] {
        let due = try await database.read { db in
            try await db.raw("""
                SELECT id FROM mass_emails WHERE status = 'scheduled' AND scheduled_at <= \(bind: now) ORDER BY scheduled_at LIMIT 100
                """).all().map { try $0.decode(column: "id", as: Int64.self) }
        }
        var started: [Int64] = []
        for id in due {
            let won = try await database.transaction { db in
                try await db.raw("""
                    UPDATE mass_emails SET status = 'sending', started_at = \(bind: now), modified_at = \(bind: now)
                    WHERE id = \(bind: id) AND status = 'scheduled' RETURNING id
                    """).first() != nil
            }
            if won { started.append(id) }
        }
        return started
    }

    /// Stops a scheduled, sending or paused mass email: no further message of it is claimed.
    public func stop(_ id: Int64, now: Int64 = WallClock.epochSeconds()) async throws -> MassEmail {
        try await transition(id, from: [.scheduled, .sending, .paused], to: .stopped, reason: nil, now: now, action: "stopped", finished: true)
    }

    /// Pauses a sending mass email, saying why (an error threshold, a refused login, …).
    public func pause(_ id: Int64, reason: String, now: Int64 = WallClock.epochSeconds()) async throws -> MassEmail {
        try await transition(id, from: [.sending], to: .paused, reason: reason, now: now, action: "paused")
    }

    /// Lets a paused mass email send again.
    public func resume(_ id: Int64, now: Int64 = WallClock.epochSeconds()) async throws -> MassEmail {
        try await transition(id, from: [.paused], to: .sending, reason: nil, now: now, action: "resumed")
    }

    /// Marks a mass email failed, saying why (its template no longer compiles, its sender is gone).
    public func fail(_ id: Int64, reason: String, now: Int64 = WallClock.epochSeconds()) async throws -> MassEmail {
        try await transition(id, from: [.sending, .paused, .scheduled], to: .failed, reason: reason, now: now, action: "failed", finished: true)
    }

    private func transition(_ id: Int64, from: [MassEmail.Status], to: MassEmail.Status, reason: String?, now: Int64,
                            action: String, finished: Bool = false) async throws -> MassEmail {
        try await database.transaction { db in
            let finishedSQL: SQLQueryString = finished ? ", finished_at = \(bind: now)" : ""
            let row = try await db.raw("""
                UPDATE mass_emails SET status = \(bind: to.rawValue), status_reason = \(bind: reason), modified_at = \(bind: now)\(finishedSQL)
                WHERE id = \(bind: id) AND status IN (\(binds: from.map(\.rawValue))) RETURNING id
                """).first()
            if row == nil { try await Self.explainRefusal(id, action: action, db: db) }
        }
        return try await find(id)
    }

    /// Marks a sending mass email sent once every message of it is decided.
    @discardableResult
    public func finishIfDone(_ id: Int64, now: Int64 = WallClock.epochSeconds()) async throws -> Bool {
        try await database.transaction { db in
            guard let row = try await db.raw("""
                UPDATE mass_emails SET status = 'sent', finished_at = \(bind: now), modified_at = \(bind: now)
                WHERE id = \(bind: id) AND status = 'sending' AND resolved_at IS NOT NULL
                  AND NOT \(MessageStore.anyUndecided(massEmail: id, step: 0))
                RETURNING follow_ups
                """).first() else { return false }
            // In the same transaction: a sent mass email always has its follow-ups' runs.
            let followUps: [FollowUp] = try Self.decodeList(row, column: "follow_ups")
            try await FollowUpRunStore.create(massEmailID: id, count: followUps.count, now: now, db: db)
            return true
        }
    }

    /// Finishes step `step` of a mass email (0 for itself, k for its k-th follow-up) once
    /// every message of it is decided.
    @discardableResult
    public func finishIfDone(_ unit: MassEmailStep, now: Int64) async throws -> Bool {
        unit.step == 0 ? try await finishIfDone(unit.massEmailID, now: now)
            : try await FollowUpRunStore(database: database).finishIfDone(unit.massEmailID, step: unit.step, now: now)
    }

    /// Pauses what `unit` sends, saying why: the mass email, or only its follow-up.
    public func pause(_ unit: MassEmailStep, reason: String, now: Int64) async throws {
        if unit.step == 0 { _ = try await pause(unit.massEmailID, reason: reason, now: now) }
        else { try await FollowUpRunStore(database: database).pause(unit.massEmailID, step: unit.step, reason: reason, now: now) }
    }

    /// Marks what `unit` sends failed, saying why.
    public func fail(_ unit: MassEmailStep, reason: String, now: Int64) async throws {
        if unit.step == 0 { _ = try await fail(unit.massEmailID, reason: reason, now: now) }
        else { try await FollowUpRunStore(database: database).fail(unit.massEmailID, step: unit.step, reason: reason, now: now) }
    }

    /// Whether `unit` is still sending (a worker checks that what it sends was not stopped).
    public func isSending(_ unit: MassEmailStep) async throws -> Bool {
        try await database.read { db in
            try await db.raw("SELECT 1 AS one WHERE \(SendingUnit.sendingCondition(massEmail: unit.massEmailID, step: unit.step))").first() != nil
        }
    }

    /// What workers claim from: the sending mass emails, oldest first, then the sending
    /// follow-ups, each with its sender's rates. Their messages can be claimed while their
    /// recipients are still being chosen. One statement: the engine asks before its claims,
    /// about once a batch.
    public func sendable() async throws -> [SendingUnit] {
        try await database.read { db in
            try await db.raw("""
                SELECT u.*, s.rate_per_minute AS sender_rate_per_minute, s.rate_per_hour AS sender_rate_per_hour FROM (
                    SELECT \(Self.columns), 0 AS follow_up_step, 0 AS part, m.started_at AS unit_started_at
                    FROM mass_emails m JOIN modules mo ON mo.id = m.module_id WHERE m.status = 'sending'
                    UNION ALL
                    SELECT \(Self.columns), r.step, 1, r.started_at
                    FROM follow_up_runs r JOIN mass_emails m ON m.id = r.mass_email_id JOIN modules mo ON mo.id = m.module_id
                    WHERE r.status = 'sending' AND m.status = 'sent') AS u
                LEFT JOIN senders s ON s.id = u.sender_id
                ORDER BY u.part, u.unit_started_at, u.id, u.follow_up_step
                """).all().map { row in
                SendingUnit(massEmail: try Self.massEmail(from: row), step: try row.decode(column: "follow_up_step", as: Int.self),
                            senderRatePerMinute: try row.decode(column: "sender_rate_per_minute", as: Int?.self),
                            senderRatePerHour: try row.decode(column: "sender_rate_per_hour", as: Int?.self))
            }
        }
    }

    /// The statuses of these mass emails now (a worker checks that what it sends was not stopped).
    public func statuses(_ ids: [Int64]) async throws -> [Int64: MassEmail.Status] {
        guard !ids.isEmpty else { return [:] }
        return try await database.read { db in
            var out: [Int64: MassEmail.Status] = [:]
            for row in try await db.raw("SELECT id, status FROM mass_emails WHERE id IN (\(binds: ids))").all() {
                out[try row.decode(column: "id", as: Int64.self)] = MassEmail.Status(rawValue: try row.decode(column: "status", as: String.self))
            }
            return out
        }
    }

    // MARK: Resolving recipients

    /// Sending mass emails whose recipients are not resolved yet and that no live process is
    /// resolving; the caller takes each with ``claimResolution(_:node:now:leaseSeconds:)``.
    public func unresolved(now: Int64) async throws -> [Int64] {
        try await database.read { db in
            try await db.raw("""
                SELECT id FROM mass_emails WHERE status = 'sending' AND resolved_at IS NULL
                  AND (resolver_lease IS NULL OR resolver_lease < \(bind: now)) ORDER BY id
                """).all().map { try $0.decode(column: "id", as: Int64.self) }
        }
    }

    /// Takes (or renews) the right to resolve a mass email's recipients for `leaseSeconds`;
    /// false once another process holds it, or the mass email was stopped.
    public func claimResolution(_ id: Int64, node: String, now: Int64, leaseSeconds: Int64 = 60) async throws -> Bool {
        try await database.transaction { db in
            try await db.raw("""
                UPDATE mass_emails SET resolver = \(bind: node), resolver_lease = \(bind: now + leaseSeconds)
                WHERE id = \(bind: id) AND resolved_at IS NULL AND status IN ('sending', 'paused')
                  AND (resolver = \(bind: node) OR resolver_lease IS NULL OR resolver_lease < \(bind: now))
                RETURNING id
                """).first() != nil
        }
    }

    /// Where resolution stopped: the last record id done, and the counts so far.
    public func resolutionProgress(_ id: Int64) async throws -> (cursor: Int64, skipped: [SkipReason: Int]) {
        let row = try await database.read { db in
            try await db.raw("SELECT resolve_cursor, skipped FROM mass_emails WHERE id = \(bind: id)").first()
        }
        guard let row else { throw HeraldError.notFound("no mass email \(id)") }
        return (try row.decode(column: "resolve_cursor", as: Int64.self), Self.decodeCounts(try row.decode(column: "skipped", as: String.self)))
    }

    /// Queues messages for one chunk of recipients and records the progress in the same
    /// transaction, so that resolution resumes after a crash without counting twice.
    /// Returns how many messages were new (the rest were duplicate addresses). `sendAt` is
    /// when each recipient's message is due, in their order (each recipient's own time zone);
    /// nil: now.
    /// `held`: the mass email has an A/B test, drawn when resolution ends.
    public func enqueue(_ id: Int64, step: Int, recipients: [(recordID: Int64, address: String)], sendAt: [Int64]? = nil, held: Bool = false,
                        cursor: Int64, skipped: [SkipReason: Int], now: Int64) async throws -> Int {
        try await database.transaction { db in
            let inserted = try await MessageStore.insertQueued(massEmailID: id, step: step, recipients: recipients, now: now,
                                                               sendAt: sendAt, held: held, kind: database.kind, db: db)
            var counts = skipped
            counts[.duplicate, default: 0] += recipients.count - inserted
            try await db.raw("""
                UPDATE mass_emails SET resolve_cursor = \(bind: cursor), skipped = \(bind: Self.encodeCounts(counts))
                WHERE id = \(bind: id)
                """).run()
            return inserted
        }
    }

    /// Marks the recipients resolved: from now on workers claim its messages. With an A/B
    /// test, draws the test share in the same transaction (so exactly once): the first
    /// ``ABTest/testSize(of:)`` messages by their place in the draw are queued, taking the
    /// variants in turn; the rest stay held for the winner, chosen at `ab_decide_at`.
    public func markResolved(_ id: Int64, now: Int64) async throws {
        try await database.transaction { db in
            guard let row = try await db.raw("""
                UPDATE mass_emails SET resolved_at = \(bind: now), resolver = NULL, resolver_lease = NULL
                WHERE id = \(bind: id) AND resolved_at IS NULL RETURNING ab_test
                """).first(), let test = try Self.decodeJSON(row, column: "ab_test", as: ABTest.self) else { return }
            let held = try await db.raw("""
                SELECT COUNT(*) AS n FROM mail_messages WHERE mass_email_id = \(bind: id) AND step = 0 AND status = 'held'
                """).first()!.decode(column: "n", as: Int.self)
            try await db.raw("""
                UPDATE mail_messages SET status = 'queued', next_attempt_at = \(bind: now),
                    variant = CAST(drawn.place % \(literal: test.variants.count) AS INTEGER)
                FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY ab_key, id) - 1 AS place FROM mail_messages
                      WHERE mass_email_id = \(bind: id) AND step = 0 AND status = 'held') AS drawn
                WHERE mail_messages.id = drawn.id AND drawn.place < \(literal: test.testSize(of: held))
                """).run()
            try await db.raw("""
                UPDATE mass_emails SET ab_decide_at = \(bind: now + test.waitSeconds) WHERE id = \(bind: id)
                """).run()
        }
    }

    // MARK: Rows

    static func checkReferences(_ draft: MassEmailDraft, in module: Module, db: any SQLDatabase) async throws {
        var problems = ProblemList()
        if try await db.raw("SELECT id FROM templates WHERE id = \(bind: draft.templateID) AND module_id = \(bind: module.id)").first() == nil {
            problems.add("template_id", "no template \(draft.templateID) in module \(module.pluralLabel)")
        }
        for (i, variant) in (draft.abTest?.variants ?? []).enumerated() {
            guard let templateID = variant.templateID else { continue }
            if try await db.raw("SELECT id FROM templates WHERE id = \(bind: templateID) AND module_id = \(bind: module.id)").first() == nil {
                problems.add("ab_test.variants[\(i)].template_id", "no template \(templateID) in module \(module.pluralLabel)")
            }
        }
        if try await db.raw("SELECT id FROM senders WHERE id = \(bind: draft.senderID)").first() == nil {
            problems.add("sender_id", "no sender \(draft.senderID); an admin adds senders under Admin → Senders")
        }
        switch draft.recipients {
        case .view(let view):
            if try await db.raw("SELECT id FROM views WHERE id = \(bind: view) AND module_id = \(bind: module.id)").first() == nil {
                problems.add("recipients.view", "no view \(view) in module \(module.pluralLabel)")
            }
        case .list(let list):
            if try await db.raw("SELECT id FROM static_lists WHERE id = \(bind: list) AND module_id = \(bind: module.id)").first() == nil {
                problems.add("recipients.list", "no list \(list) in module \(module.pluralLabel)")
            }
        case .records(let ids):
            let unique = Array(Set(ids))
            var found = 0
            for start in stride(from: 0, to: unique.count, by: 500) {
                let chunk = Array(unique[start..<min(start + 500, unique.count)])
                found += try await db.raw("SELECT COUNT(*) AS n FROM \(ident: module.table) WHERE id IN (\(binds: chunk))").first()!
                    .decode(column: "n", as: Int.self)
            }
            if found < unique.count { problems.add("recipients.record_ids", "\(unique.count - found) of the selected records do not exist in \(module.pluralLabel)") }
        case .all:
            break
        }
        if !draft.triggerActions.isEmpty {
            let users = Set(try await db.raw("SELECT id FROM users").all().map { try $0.decode(column: "id", as: Int64.self) })
            problems.add(contentsOf: TriggerAction.problems(draft.triggerActions, module: module, userIDs: users))
        }
        if !draft.followUps.isEmpty {
            let templates = Set(try await db.raw("SELECT id FROM templates WHERE module_id = \(bind: module.id)").all()
                .map { try $0.decode(column: "id", as: Int64.self) })
            problems.add(contentsOf: FollowUp.problems(draft.followUps, module: module, templateIDs: templates))
        }
        try problems.check()
    }

    static func explainRefusal(_ id: Int64, action: String, db: any SQLDatabase) async throws -> Never {
        guard let row = try await db.raw("SELECT status FROM mass_emails WHERE id = \(bind: id)").first() else {
            throw HeraldError.notFound("no mass email \(id)")
        }
        let status = try row.decode(column: "status", as: String.self)
        throw HeraldError.conflict("mass email \(id) is \(status) and cannot be \(action)", problems: [Problem(field: "status", reason: status)])
    }

    /// A checked draft as the columns that create and update write alike.
    struct DraftColumns {
        var name: String
        var status: MassEmail.Status
        var scheduledAt: Int64?
        var zone: String
        /// The local-time delivery as JSON, or nil.
        var localDelivery: String?
        var kind: String
        var ref: Int64?
        var ids: String?
        /// The trigger actions as JSON.
        var triggerActions: String
        /// The follow-ups as JSON.
        var followUps: String
        /// The A/B test as JSON, or nil.
        var abTest: String?

        init(_ draft: MassEmailDraft, now: Date) throws {
            triggerActions = MassEmailStore.encodeList(draft.triggerActions)
            followUps = MassEmailStore.encodeList(draft.followUps)
            abTest = draft.abTest.map(MassEmailStore.encodeJSON)
            let timing = try draft.validate(now: now)
            (scheduledAt, zone) = (timing.scheduledAt, timing.timeZone)
            localDelivery = timing.localDelivery.map(MassEmailStore.encodeJSON)
            status = scheduledAt == nil ? .draft : .scheduled
            name = draft.name.trimmingCharacters(in: .whitespacesAndNewlines)
            switch draft.recipients {
            case .view(let id): (kind, ref, ids) = ("view", id, nil)
            case .list(let id): (kind, ref, ids) = ("list", id, nil)
            case .records(let records): (kind, ref, ids) = ("records", nil, records.map(String.init).joined(separator: ","))
            case .all: (kind, ref, ids) = ("all", nil, nil)
            }
        }
    }

    /// Counts by reason as a JSON object (`{"opted_out": 3}`), leaving out the zeros.
    static func encodeCounts<Reason: RawRepresentable<String> & Hashable>(_ counts: [Reason: Int]) -> String {
        let object = Dictionary(uniqueKeysWithValues: counts.filter { $0.value > 0 }.map { ($0.key.rawValue, $0.value) })
        return String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func decodeCounts<Reason: RawRepresentable<String> & Hashable>(_ text: String) -> [Reason: Int] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return [:] }
        var out: [Reason: Int] = [:]
        for (key, value) in object {
            if let reason = Reason(rawValue: key), let n = value as? Int { out[reason] = n }
        }
        return out
    }

    /// A list kept as a JSON column (the trigger actions, the follow-ups): read and written
    /// whole, with its mass email.
    static func encodeList<Item: Encodable>(_ items: [Item]) -> String {
        String(decoding: (try? JSONEncoder().encode(items)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// A value kept as a JSON column (the local delivery, the A/B test and its decision).
    static func encodeJSON<Value: Encodable>(_ value: Value) -> String {
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func decodeJSON<Value: Decodable>(_ row: any SQLRow, column: String, as type: Value.Type) throws -> Value? {
        try row.decode(column: column, as: String?.self).flatMap { try? JSONDecoder().decode(Value.self, from: Data($0.utf8)) }
    }

    static func decodeList<Item: Decodable>(_ row: any SQLRow, column: String) throws -> [Item] {
        try JSONDecoder().decode([Item].self, from: Data(try row.decode(column: column, as: String.self).utf8))
    }

    static func massEmail(from row: any SQLRow) throws -> MassEmail {
        let kind = try row.decode(column: "recipients_kind", as: String.self)
        let ref = try row.decode(column: "recipients_ref", as: Int64?.self)
        let recipients: MassEmail.Recipients = switch kind {
        case "view": .view(ref ?? 0)
        case "list": .list(ref ?? 0)
        case "all": .all
        default: .records((try row.decode(column: "record_ids", as: String?.self) ?? "").split(separator: ",").compactMap { Int64($0) })
        }
        return MassEmail(
            id: try row.decode(column: "id", as: Int64.self),
            name: try row.decode(column: "name", as: String.self),
            module: try row.decode(column: "module", as: String.self),
            ownerID: try row.decode(column: "owner_id", as: Int64.self),
            templateID: try row.decode(column: "template_id", as: Int64.self),
            senderID: try row.decode(column: "sender_id", as: Int64.self),
            recipients: recipients,
            status: MassEmail.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            statusReason: try row.decode(column: "status_reason", as: String?.self),
            scheduledAt: try row.decode(column: "scheduled_at", as: Int64?.self),
            timeZone: try row.decode(column: "time_zone", as: String.self),
            localDelivery: try decodeJSON(row, column: "local_delivery", as: LocalDelivery.self),
            startedAt: try row.decode(column: "started_at", as: Int64?.self),
            finishedAt: try row.decode(column: "finished_at", as: Int64?.self),
            resolvedAt: try row.decode(column: "resolved_at", as: Int64?.self),
            skipped: decodeCounts(try row.decode(column: "skipped", as: String.self)),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            modifiedAt: try row.decode(column: "modified_at", as: Int64.self),
            triggerActions: try decodeList(row, column: "trigger_actions"),
            triggersOnMachineEvents: try row.decode(column: "triggers_on_machines", as: Bool.self),
            followUps: try decodeList(row, column: "follow_ups"),
            abTest: try decodeJSON(row, column: "ab_test", as: ABTest.self),
            abDecideAt: try row.decode(column: "ab_decide_at", as: Int64?.self),
            abDecision: try decodeJSON(row, column: "ab_decision", as: ABDecision.self))
    }
}
