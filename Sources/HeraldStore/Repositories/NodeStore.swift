import HeraldCore
import SQLKit

/// The processes that send, each known by its node name (kept in its state folder), and
/// their heartbeats: how the processes sharing one database learn that one of them died.
///
/// Every sending process moves its heartbeat on about once a second. One whose heartbeat
/// is older than ``staleAfter`` is dead: the first live process to notice takes its claimed
/// messages back into the queue and frees its recipient resolutions, and deletes its row.
/// A dead process that comes back finds its row gone (``beat(_:now:)`` says so) and drops
/// what it held. Wall clocks of the machines must agree to within a second (NTP): the
/// heartbeat is a process's time, judged by another's.
public struct NodeStore: Sendable {
    let database: any HeraldDatabase

    /// How old a heartbeat may be before the others declare its process dead, in seconds.
    /// A live process stops handing messages to SMTP well before (after 3 s without a
    /// heartbeat the database took), so that it sends nothing after the takeover.
    public static let staleAfter: Int64 = 5

    /// A process and what holds its sending up, as it last reported.
    public struct Condition: Sendable, Hashable {
        public enum Kind: String, Sendable {
            case waitingForRelay = "waiting_for_relay"
            case journalUnwritable = "journal_unwritable"
            case outOfTouch = "out_of_touch"
        }
        public var node: String
        public var kind: Kind
        public var since: Int64
        public var nextTry: Int64?
        public var reason: String?

        public init(node: String, kind: Kind, since: Int64, nextTry: Int64? = nil, reason: String? = nil) {
            self.node = node
            self.kind = kind
            self.since = since
            self.nextTry = nextTry
            self.reason = reason
        }
    }

    /// Registers the process (or moves its heartbeat on, when it is there already).
    public func register(_ node: String, now: Int64) async throws {
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO delivery_nodes (node, heartbeat_at, started_at) VALUES (\(bind: node), \(bind: now), \(bind: now))
                ON CONFLICT (node) DO UPDATE SET heartbeat_at = \(bind: now), started_at = \(bind: now),
                    condition = NULL, condition_since = NULL, condition_next_try = NULL, condition_reason = NULL
                """).run()
        }
    }

    /// Moves the process's heartbeat on. Returns false when its row was gone: the others
    /// declared it dead and took its messages; it is registered anew.
    public func beat(_ node: String, now: Int64) async throws -> Bool {
        let alive = try await database.transaction { db in
            try await db.raw("UPDATE delivery_nodes SET heartbeat_at = \(bind: now) WHERE node = \(bind: node) RETURNING node").first() != nil
        }
        if !alive { try await register(node, now: now) }
        return alive
    }

    /// Declares the processes whose heartbeat is stale dead: their claimed messages go back
    /// to the queue, their attempt not counted (those whose outcome they had not yet
    /// written may have been delivered: the window the engine states), their recipient
    /// resolutions are freed, their rows deleted. With `orphans`, messages held by a node that
    /// has no row at all go back too: a claim needs its node's row (``MessageStore/claim(massEmail:step:node:limit:now:)``),
    /// so only a database written by an older Herald, or by hand, has any.
    /// Returns the dead and the messages taken back.
    ///
    /// The orphans are looked for only when asked (the engine asks once a minute): that looks
    /// through the index of claims, which keeps an entry for every claim of a send until it is
    /// vacuumed, and done at every heartbeat it cost 45 ms a second by the end of a million
    /// messages. The dead's own messages are found by their names, and only when some died.
    @discardableResult
    public func takeOver(now: Int64, by node: String, orphans: Bool = true) async throws -> (nodes: [String], messages: Int) {
        try await database.transaction { db in
            let dead = try await db.raw("""
                DELETE FROM delivery_nodes WHERE heartbeat_at < \(bind: now - Self.staleAfter) AND node <> \(bind: node) RETURNING node
                """).all().map { try $0.decode(column: "node", as: String.self) }
            var holders: [SQLQueryString] = []
            if !dead.isEmpty { holders.append("claimed_by IN (\(binds: dead))") }
            if orphans { holders.append("claimed_by NOT IN (SELECT node FROM delivery_nodes)") }
            var messages = 0
            if !holders.isEmpty {
                messages = try await db.raw("""
                    UPDATE mail_messages SET status = \(MessageStore.givenBackStatus), attempts = attempts - 1, claimed_by = NULL,
                        next_attempt_at = \(bind: now)
                    WHERE status = 'sending' AND claimed_by IS NOT NULL AND (\(holders.joined(separator: " OR ")))
                    RETURNING id
                    """).all().count
            }
            if !dead.isEmpty {
                try await db.raw("UPDATE mass_emails SET resolver = NULL, resolver_lease = NULL WHERE resolver IN (\(binds: dead))").run()
                try await db.raw("UPDATE follow_up_runs SET resolver = NULL, resolver_lease = NULL WHERE resolver IN (\(binds: dead))").run()
            }
            return (dead, messages)
        }
    }

    /// Records what holds the process's sending up (nil: nothing).
    public func report(_ node: String, _ condition: Condition?) async throws {
        try await database.transaction { db in
            try await db.raw("""
                UPDATE delivery_nodes SET condition = \(bind: condition?.kind.rawValue), condition_since = \(bind: condition?.since),
                    condition_next_try = \(bind: condition?.nextTry), condition_reason = \(bind: condition?.reason.map { String($0.prefix(500)) })
                WHERE node = \(bind: node)
                """).run()
        }
    }

    /// What holds up the sending of the processes that are alive, longest first.
    public func conditions(now: Int64) async throws -> [Condition] {
        try await database.read { db in
            try await db.raw("""
                SELECT node, condition, condition_since, condition_next_try, condition_reason FROM delivery_nodes
                WHERE condition IS NOT NULL AND heartbeat_at >= \(bind: now - Self.staleAfter)
                ORDER BY condition_since, node
                """).all().compactMap { row in
                guard let kind = Condition.Kind(rawValue: try row.decode(column: "condition", as: String.self)) else { return nil }
                return Condition(node: try row.decode(column: "node", as: String.self), kind: kind,
                                 since: try row.decode(column: "condition_since", as: Int64?.self) ?? now,
                                 nextTry: try row.decode(column: "condition_next_try", as: Int64?.self),
                                 reason: try row.decode(column: "condition_reason", as: String?.self))
            }
        }
    }

    /// The processes alive now (heartbeat fresh), by name.
    public func alive(now: Int64) async throws -> [String] {
        try await database.read { db in
            try await db.raw("SELECT node FROM delivery_nodes WHERE heartbeat_at >= \(bind: now - Self.staleAfter) ORDER BY node")
                .all().map { try $0.decode(column: "node", as: String.self) }
        }
    }
}
