import Crypto
import Foundation
import HeraldCore
import SQLKit

/// The messages of mass emails: the queue workers claim from, and each message's fate.
///
/// Claims are batched and leased: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so that
/// several processes claim disjoint batches of one mass email; on SQLite the single writer
/// does the same. Outcomes are written back in batches, each guarded by the claim number.
public struct MessageStore: Sendable {
    let database: any HeraldDatabase

    /// Queues a message per recipient for step `step`, within the caller's transaction, and
    /// returns how many were new: an address that already has a message of this step (a
    /// duplicate, or a chunk queued before a crash) gets no second one.
    ///
    /// On PostgreSQL the rows go as arrays (a bind a column, `unnest`) rather than a bind a
    /// value: PostgreSQL parses and plans every statement, and thousands of binds made that
    /// a large part of its work. SQLite, in process, parses the VALUES form cheaply.
    ///
    /// `held`: the mass email has an A/B test; its messages wait, with their place in the
    /// draw, until ``MassEmailStore/markResolved(_:now:)`` draws the test share.
    static func insertQueued(massEmailID: Int64, step: Int, recipients: [(recordID: Int64, address: String)], now: Int64,
                             sendAt: [Int64]? = nil, held: Bool = false, kind: DatabaseKind, db: any SQLDatabase) async throws -> Int {
        let times = sendAt ?? Array(repeating: now, count: recipients.count)
        precondition(times.count == recipients.count, "one time for each recipient")
        let status = held ? "held" : "queued"
        let keys: [Int64] = held ? recipients.map { ABTest.key(massEmail: massEmailID, address: $0.address) } : []
        // planned_at only where each recipient has a time of their own.
        // How many were new is counted where the rows are (not a row of ids a message sent back).
        if kind == .postgres {
            return try await db.raw("""
                WITH inserted AS (
                INSERT INTO mail_messages (mass_email_id, step, record_id, address, status, attempts, next_attempt_at, planned_at, ab_key)
                SELECT \(bind: massEmailID), \(bind: step), u.record_id, u.address, \(bind: status), 0, u.send_at,
                       \(sendAt == nil ? "NULL" : "u.send_at" as SQLQueryString), \(held ? "u.ab_key" : "NULL" as SQLQueryString)
                FROM unnest(\(bind: recipients.map(\.recordID))::bigint[], \(bind: recipients.map(\.address))::text[],
                            \(bind: times)::bigint[], \(bind: held ? keys : times)::bigint[]) AS u(record_id, address, send_at, ab_key)
                ON CONFLICT (mass_email_id, step, address) DO NOTHING RETURNING 1)
                SELECT COUNT(*) AS n FROM inserted
                """).first()!.decode(column: "n", as: Int.self)
        }
        var rows = JSONRows(capacity: recipients.count)
        for (i, recipient) in recipients.enumerated() {
            rows.row()
            rows.add(recipient.recordID); rows.add(recipient.address); rows.add(times[i])
            rows.add(sendAt == nil ? nil : times[i]); rows.add(held ? keys[i] : nil as Int64?)
        }
        // "WHERE true": SQLite's grammar needs it between a SELECT and ON CONFLICT. changes()
        // counts the rows this connection's last statement inserted, in the caller's transaction.
        try await db.raw("""
            INSERT INTO mail_messages (mass_email_id, step, record_id, address, status, attempts, next_attempt_at, planned_at, ab_key)
            SELECT \(bind: massEmailID), \(bind: step), value ->> 0, value ->> 1, \(bind: status), 0, value ->> 2, value ->> 3, value ->> 4
            FROM json_each(\(bind: rows.json)) WHERE true
            ON CONFLICT (mass_email_id, step, address) DO NOTHING
            """).run()
        return try await db.raw("SELECT changes() AS n").first()!.decode(column: "n", as: Int.self)
    }

    /// The SQL condition that a message of step `step` of mass email `massEmail` is still
    /// undecided: waiting, being sent, or to be tried again.
    static func anyUndecided(massEmail: Int64, step: Int) -> SQLQueryString {
        """
        EXISTS (SELECT 1 FROM mail_messages WHERE mass_email_id = \(bind: massEmail) AND step = \(bind: step)
                AND status IN ('queued', 'sending', 'deferred', 'uncertain', 'held'))
        """
    }

    /// Claims up to `limit` due messages of one mass email's step `step` (0 for its own, k
    /// for its k-th follow-up's) for `node`: they are its until it writes their outcomes or
    /// gives them back, or until its heartbeat lapses and another process takes them over
    /// (``NodeStore/takeOver(now:by:orphans:)``).
    ///
    /// Only a node that has its row claims: one the others declared dead (its row deleted, its
    /// messages given back) claims nothing until its next heartbeat registers it again, so no
    /// message is ever held by a node that no takeover would look for. On PostgreSQL the claim
    /// holds the row (KEY SHARE, which heartbeats do not wait for) until it commits, so a
    /// takeover's DELETE waits for it and then finds its messages by name; a claim after the
    /// DELETE finds no row. SQLite's writers take turns.
    ///
    /// In a transaction, though one statement: committed on its own, a claim whose rows did not
    /// reach the engine (a connection lost while they came, a cancelled task) would leave its
    /// messages `sending` under a live node that no takeover looks at, until a restart; with
    /// COMMIT after the rows have come, only a COMMIT whose answer is lost leaves that.
    public func claim(massEmail: Int64, step: Int = 0, node: String, limit: Int, now: Int64) async throws -> [ClaimedMessage] {
        guard limit > 0 else { return [] }
        let postgres = database.kind == .postgres
        let lock: SQLQueryString = postgres ? "FOR UPDATE SKIP LOCKED" : ""
        let holdNode: SQLQueryString = postgres ? "FOR KEY SHARE" : ""
        return try await database.transaction { db in
            try await db.rows("""
                UPDATE mail_messages SET status = 'sending', prior_status = status, claimed_by = \(bind: node), attempts = attempts + 1,
                    claims = claims + 1
                WHERE \(SendingUnit.sendingCondition(massEmail: massEmail, step: step))
                  AND EXISTS (SELECT 1 FROM delivery_nodes WHERE node = \(bind: node) \(holdNode))
                  AND id IN (SELECT id FROM mail_messages WHERE mass_email_id = \(bind: massEmail) AND step = \(bind: step)
                             AND status IN \(Self.waiting) AND next_attempt_at <= \(bind: now)
                             ORDER BY next_attempt_at LIMIT \(literal: limit) \(lock))
                RETURNING id, record_id, address, attempts, claims, variant
                """) { row in
                ClaimedMessage(id: try row.decode(0), massEmailID: massEmail, step: step, recordID: try row.decode(1),
                               address: try row.decode(2), attempt: try row.decode(3), claim: try row.decode(4), variant: try row.decode(5))
            }
        }
    }

    /// Writes outcomes back, a few hundred rows a statement, in one transaction. Each row
    /// changes only if `node` still holds the message for that claim: a late outcome (of a
    /// process the others declared dead, or of an earlier claim) changes nothing.
    ///
    /// `alsoRequeued` (replaying a journal after a restart): an outcome also applies to a
    /// message that the others gave back to the queue after this node's heartbeat lapsed and
    /// that nobody has claimed since, so that what was delivered is not sent again.
    ///
    /// Of several outcomes of one message, the last of its latest claim counts: an `UPDATE … FROM`
    /// with two rows for one message applies either of them, and a late outcome of the claim
    /// before may come after the new claim's (a batch still out when its process was declared
    /// dead) and would otherwise push it out, matching no row itself.
    ///
    /// Without a bounce among them the write is one statement, its own transaction (a write
    /// whose answer is lost is tried again and changes nothing the second time); a bounce's row
    /// is written in the same transaction as its message's status.
    public func record(_ outcomes: [MessageOutcome], node: String, alsoRequeued: Bool = false) async throws {
        guard !outcomes.isEmpty else { return }
        let outcomes = Self.lastOfEach(outcomes)
        let database = self.database
        let write: @Sendable (any SQLDatabase) async throws -> Void = { db in
            if database.kind == .postgres {
                // As in insertQueued, arrays; they cannot hold NULL here, so an absent value travels as a value no real
                // one has (0, -1 or the empty text) and NULLIF turns it back.
                try await db.raw("""
                    UPDATE mail_messages SET status = \(Self.outcomeStatus("v.status")), attempts = v.attempts,
                        next_attempt_at = COALESCE(NULLIF(v.next_attempt_at, -1), mail_messages.next_attempt_at),
                        smtp_code = NULLIF(v.code, 0), smtp_status = NULLIF(v.enhanced_code, ''), smtp_text = NULLIF(v.text, ''),
                        sent_at = NULLIF(v.sent_at, 0), claimed_by = NULL
                    FROM unnest(\(bind: outcomes.map(\.id))::bigint[], \(bind: outcomes.map(\.status.rawValue))::text[],
                                \(bind: outcomes.map { Int64($0.attempts) })::bigint[], \(bind: outcomes.map { $0.nextAttemptAt ?? -1 })::bigint[],
                                \(bind: outcomes.map { Int64($0.code ?? 0) })::bigint[], \(bind: outcomes.map { $0.enhancedCode ?? "" })::text[],
                                \(bind: outcomes.map { $0.text.map { String($0.prefix(500)) } ?? "" })::text[],
                                \(bind: outcomes.map { $0.sentAt ?? 0 })::bigint[], \(bind: outcomes.map { Int64($0.claim) })::bigint[])
                         AS v(id, status, attempts, next_attempt_at, code, enhanced_code, text, sent_at, claim)
                    WHERE mail_messages.id = v.id AND \(Self.held(claim: "v.claim", node: node, alsoRequeued: alsoRequeued, kind: database.kind))
                    """).run()
            } else {
                var rows = JSONRows(capacity: outcomes.count)
                for o in outcomes {
                    rows.row()
                    rows.add(o.id); rows.add(o.status.rawValue); rows.add(o.attempts); rows.add(o.nextAttemptAt); rows.add(o.code)
                    rows.add(o.enhancedCode); rows.add(o.text.map { String($0.prefix(500)) }); rows.add(o.sentAt); rows.add(o.claim)
                }
                try await db.raw("""
                    UPDATE mail_messages SET status = \(Self.outcomeStatus("v.status")), attempts = v.attempts,
                        next_attempt_at = COALESCE(v.next_attempt_at, mail_messages.next_attempt_at),
                        smtp_code = v.code, smtp_status = v.enhanced_code, smtp_text = v.text, sent_at = v.sent_at,
                        claimed_by = NULL
                    FROM (SELECT value ->> 0 AS id, value ->> 1 AS status, value ->> 2 AS attempts, value ->> 3 AS next_attempt_at,
                                 value ->> 4 AS code, value ->> 5 AS enhanced_code, value ->> 6 AS text, value ->> 7 AS sent_at,
                                 value ->> 8 AS claim
                          FROM json_each(\(bind: rows.json))) AS v
                    WHERE mail_messages.id = v.id AND \(Self.held(claim: "v.claim", node: node, alsoRequeued: alsoRequeued, kind: database.kind))
                    """).run()
            }
            // A refusal at send time is a bounce like any other: listed with the mass email's
            // bounces (the engine has already suppressed the addresses it had to).
            let now = WallClock.epochSeconds()
            for o in outcomes where o.status == .bounced {
                try await db.raw("""
                    INSERT INTO bounces (message_id, mass_email_id, address, kind, status, action, diagnostic, reason, source, fingerprint, received_at)
                    SELECT id, mass_email_id, address, \(bind: o.bounceKind.rawValue), \(bind: o.enhancedCode), 'failed',
                           \(bind: [o.code.map(String.init), o.text].compactMap { $0 }.joined(separator: " ").prefix(1000).description),
                           \(bind: o.bounceReason), 'smtp',
                           \(bind: "smtp:\(o.id):\(o.claim)"), \(bind: now)
                    FROM mail_messages WHERE id = \(bind: o.id) AND status = 'bounced' AND claims = \(bind: o.claim)
                    ON CONFLICT (fingerprint) DO NOTHING
                    """).run()
            }
        }
        if outcomes.contains(where: { $0.status == .bounced }) {
            try await database.transaction(write)
        } else {
            try await database.statement(write)
        }
    }

    /// The status an outcome in column `status` leaves: a message given back unsent (`queued`:
    /// a rest, the relay out, a stop) returns to the status it had when claimed, so that a
    /// deferred or uncertain one stays so.
    private static func outcomeStatus(_ status: String) -> SQLQueryString {
        "CASE WHEN \(unsafeRaw: status) = 'queued' THEN \(givenBackStatus) ELSE \(unsafeRaw: status) END"
    }

    /// The status a message given back from a claim returns to (see ``outcomeStatus(_:)``).
    static let givenBackStatus: SQLQueryString = "COALESCE(prior_status, 'queued')"

    /// The statuses of a message that waits to be claimed (what a claim saves in `prior_status`).
    static let waiting: SQLQueryString = "('queued', 'deferred', 'uncertain')"

    /// Of each message, the last outcome of its latest claim, in the order those came.
    static func lastOfEach(_ outcomes: [MessageOutcome]) -> [MessageOutcome] {
        var last: [Int64: Int] = [:]
        for (i, o) in outcomes.enumerated() where last[o.id].map({ outcomes[$0].claim <= o.claim }) ?? true { last[o.id] = i }
        guard last.count < outcomes.count else { return outcomes }
        return outcomes.indices.filter { last[outcomes[$0].id] == $0 }.map { outcomes[$0] }
    }

    /// The condition that `node` still holds a message for the claim in column `claim` (or,
    /// `alsoRequeued`, that the message was given back from that claim and not claimed since).
    ///
    /// Written so that the database finds each row by its id (the outcome's), never through the
    /// index of claims: that index keeps an entry for every claim until it is vacuumed, and a
    /// bitmap scan of it, which PostgreSQL chose for the outcomes of a large send, passes every
    /// one of them (at 1,000,000 messages 330,000-510,000 entries and 7,000-11,000 table pages
    /// for a flush of 400 outcomes, most of the statement's time); SQLite, not knowing how many
    /// rows json_each has, would walk the node's claims and the outcomes for each. SQLite is kept
    /// from that index by `+` before the column; PostgreSQL by a CASE, through which it cannot
    /// prove the index's `WHERE`.
    private static func held(claim: String, node: String, alsoRequeued: Bool, kind: DatabaseKind) -> SQLQueryString {
        let held: SQLQueryString = """
            (mail_messages.status = 'sending' AND mail_messages.claims = \(unsafeRaw: claim)
             AND \(unsafeRaw: kind == .sqlite ? "+" : "")mail_messages.claimed_by = \(bind: node))
            """
        let condition: SQLQueryString = alsoRequeued ? """
            (\(held) OR (mail_messages.status IN \(waiting) AND mail_messages.claimed_by IS NULL
                         AND mail_messages.claims = \(unsafeRaw: claim)))
            """ : held
        guard kind == .postgres else { return condition }
        return "(CASE WHEN \(condition) THEN true ELSE false END)"
    }

    /// Gives back every message `node` had claimed (after its journal has been replayed at
    /// start): they were never handed to SMTP, or are in the window that SMTP leaves unknowable.
    @discardableResult
    public func requeueClaims(of node: String) async throws -> Int {
        try await database.transaction { db in
            try await db.raw("""
                UPDATE mail_messages SET status = \(Self.givenBackStatus), attempts = attempts - 1, claimed_by = NULL
                WHERE status = 'sending' AND claimed_by = \(bind: node) RETURNING id
                """).all().count
        }
    }

    /// A record's mail history: the messages that mass emails of `module` (those `owner` made,
    /// or every one when nil) sent the record at `addresses`, newest first, with each mass
    /// email's name.
    ///
    /// Found through the (mass email, step, address) key, one probe a mass email and step,
    /// so that no index on the record is kept up by every send; a message sent before the
    /// record's address changed is not found by its new one.
    public func history(of recordID: Int64, module: Module, addresses: [String], owner: Int64?, limit: Int = 50) async throws -> [RecordMessage] {
        guard !addresses.isEmpty else { return [] }
        return try await database.read { db in
            let ownerFilter: SQLQueryString = owner.map { "owner_id = \(bind: $0)" } ?? "1=1"
            var names: [Int64: String] = [:]
            for row in try await db.raw("""
                SELECT id, name FROM mass_emails WHERE module_id = \(bind: module.id) AND \(ownerFilter) AND started_at IS NOT NULL
                ORDER BY id DESC LIMIT 1000
                """).all() {
                names[try row.decode(column: "id", as: Int64.self)] = try row.decode(column: "name", as: String.self)
            }
            guard !names.isEmpty else { return [] }
            let steps = Array(0...FollowUp.maxCount)
            var out: [RecordMessage] = []
            let ids = names.keys.sorted(by: >)
            for start in stride(from: 0, to: ids.count, by: 200) {
                let chunk = Array(ids[start..<min(start + 200, ids.count)])
                for row in try await db.raw("""
                    SELECT id, mass_email_id, step, status, sent_at, opened_at, clicked_at, unsubscribed_at FROM mail_messages
                    WHERE mass_email_id IN (\(binds: chunk)) AND step IN (\(binds: steps)) AND address IN (\(binds: addresses))
                      AND record_id = \(bind: recordID)
                    """).all() {
                    let massEmail = try row.decode(column: "mass_email_id", as: Int64.self)
                    out.append(RecordMessage(
                        id: try row.decode(column: "id", as: Int64.self), massEmailID: massEmail, massEmailName: names[massEmail] ?? "",
                        step: try row.decode(column: "step", as: Int.self),
                        status: MessageStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
                        sentAt: try row.decode(column: "sent_at", as: Int64?.self), openedAt: try row.decode(column: "opened_at", as: Int64?.self),
                        clickedAt: try row.decode(column: "clicked_at", as: Int64?.self),
                        unsubscribedAt: try row.decode(column: "unsubscribed_at", as: Int64?.self)))
                }
                if out.count >= limit { break }
            }
            return Array(out.sorted { $0.id > $1.id }.prefix(limit))
        }
    }

    /// Messages of a mass email in id order, after `after`, optionally only with one status.
    public func page(massEmail: Int64, step: Int? = nil, status: MessageStatus? = nil, after: Int64 = 0, limit: Int = 100) async throws -> [MessageRow] {
        let stepFilter: SQLQueryString = step.map { "step = \(bind: $0)" } ?? "1=1"
        let statusFilter: SQLQueryString = status.map { "status = \(bind: $0.rawValue)" } ?? "1=1"
        return try await database.read { db in
            var rows = try await db.raw("""
                SELECT id, step, record_id, address, status, attempts, next_attempt_at, smtp_code, smtp_status, smtp_text, sent_at,
                    opened_at, opens, machine_opens, clicked_at, clicks, machine_clicks, unsubscribed_at, variant
                FROM mail_messages WHERE mass_email_id = \(bind: massEmail) AND id > \(bind: after) AND \(stepFilter) AND \(statusFilter)
                ORDER BY id LIMIT \(literal: limit)
                """).all().map { row in
                MessageRow(id: try row.decode(column: "id", as: Int64.self), step: try row.decode(column: "step", as: Int.self),
                           recordID: try row.decode(column: "record_id", as: Int64.self),
                           address: try row.decode(column: "address", as: String.self),
                           status: MessageStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
                           attempts: try row.decode(column: "attempts", as: Int.self),
                           nextAttemptAt: try row.decode(column: "next_attempt_at", as: Int64.self),
                           code: try row.decode(column: "smtp_code", as: Int?.self),
                           enhancedCode: try row.decode(column: "smtp_status", as: String?.self),
                           text: try row.decode(column: "smtp_text", as: String?.self),
                           sentAt: try row.decode(column: "sent_at", as: Int64?.self),
                           openedAt: try row.decode(column: "opened_at", as: Int64?.self),
                           opens: try row.decode(column: "opens", as: Int.self),
                           machineOpens: try row.decode(column: "machine_opens", as: Int.self),
                           clickedAt: try row.decode(column: "clicked_at", as: Int64?.self),
                           clicks: try row.decode(column: "clicks", as: Int.self),
                           machineClicks: try row.decode(column: "machine_clicks", as: Int.self),
                           unsubscribedAt: try row.decode(column: "unsubscribed_at", as: Int64?.self),
                           variant: try row.decode(column: "variant", as: Int?.self))
            }
            guard !rows.isEmpty else { return rows }
            // Replies and complaints of this page's messages, one query each (by their indexes).
            let ids = rows.map(\.id)
            var replied: [Int64: Int64] = [:], complained: [Int64: Int64] = [:]
            for row in try await db.raw("""
                SELECT message_id, MIN(received_at) AS at FROM replies WHERE message_id IN (\(binds: ids)) GROUP BY message_id
                """).all() {
                replied[try row.decode(column: "message_id", as: Int64.self)] = try row.decode(column: "at", as: Int64.self)
            }
            for row in try await db.raw("""
                SELECT message_id, MIN(received_at) AS at FROM bounces
                WHERE mass_email_id = \(bind: massEmail) AND kind = 'complaint' AND message_id IN (\(binds: ids)) GROUP BY message_id
                """).all() {
                complained[try row.decode(column: "message_id", as: Int64.self)] = try row.decode(column: "at", as: Int64.self)
            }
            for i in rows.indices {
                rows[i].repliedAt = replied[rows[i].id]
                rows[i].complainedAt = complained[rows[i].id]
            }
            return rows
        }
    }

    /// The A/B test variant each of `addresses` got from the mass email (step 0), for a
    /// follow-up that replies to it.
    public func variants(massEmail: Int64, addresses: [String]) async throws -> [String: Int] {
        guard !addresses.isEmpty else { return [:] }
        return try await database.read { db in
            var out: [String: Int] = [:]
            for row in try await db.raw("""
                SELECT address, variant FROM mail_messages
                WHERE mass_email_id = \(bind: massEmail) AND step = 0 AND variant IS NOT NULL AND address IN (\(binds: addresses))
                """).all() {
                out[try row.decode(column: "address", as: String.self)] = try row.decode(column: "variant", as: Int.self)
            }
            return out
        }
    }

    /// For a mass email sent in each recipient's time zone: how many of its messages are due at
    /// each planned time, and how many of those still wait for it, earliest first.
    public func plannedSends(massEmail: Int64) async throws -> [PlannedSend] {
        try await database.read { db in
            try await db.raw("""
                SELECT planned_at, COUNT(*) AS n, SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS w FROM mail_messages
                WHERE mass_email_id = \(bind: massEmail) AND step = 0 AND planned_at IS NOT NULL
                GROUP BY planned_at ORDER BY planned_at LIMIT 500
                """).all().map {
                PlannedSend(at: try $0.decode(column: "planned_at", as: Int64.self), messages: try $0.decode(column: "n", as: Int.self),
                            waiting: try $0.decode(column: "w", as: Int.self))
            }
        }
    }

    /// How many messages from `sender` were sent since `since` or are being sent now, by any
    /// process: what a per-sender rate has used up.
    public func sentCount(sender: Int64, since: Int64) async throws -> Int {
        try await database.read { db in
            try await db.raw("""
                SELECT COUNT(*) AS n FROM mail_messages mm JOIN mass_emails m ON m.id = mm.mass_email_id
                WHERE (mm.sent_at >= \(bind: since) OR mm.status = 'sending') AND m.sender_id = \(bind: sender)
                """).first()!.decode(column: "n", as: Int.self)
        }
    }

    /// Whether any process holds (has claimed and not answered) a message of the mass email.
    public func holding(massEmail: Int64) async throws -> Bool {
        try await database.read { db in
            try await db.raw("""
                SELECT id FROM mail_messages WHERE mass_email_id = \(bind: massEmail) AND status = 'sending' LIMIT 1
                """).first() != nil
        }
    }
}
