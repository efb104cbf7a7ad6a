import Foundation
import HeraldCore
import SQLKit

/// One request to a tracking URL, as the endpoint saw it: recorded later, in a batch.
public struct TrackingHit: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case open
        case click(link: Int)
        /// The hidden link: a machine's click.
        case trap
    }

    public var kind: Kind
    public var messageID: Int64
    /// Seconds since 1970.
    public var at: Int64
    public var isHead: Bool
    public var userAgent: String?

    public init(_ kind: Kind, message messageID: Int64, at: Int64, isHead: Bool = false, userAgent: String?) {
        self.kind = kind
        self.messageID = messageID
        self.at = at
        self.isHead = isHead
        self.userAgent = userAgent
    }
}

/// The message an unsubscribe link names, as its page shows it.
public struct UnsubscribeTarget: Sendable, Hashable {
    public var messageID: Int64
    public var massEmailID: Int64
    public var step: Int
    public var module: String
    public var recordID: Int64
    public var address: String
    public var unsubscribedAt: Int64?
}

/// Opens, clicks and unsubscribes: the tracked links of each mass email, the event log, and
/// each recipient's first times and counts on its message row.
public struct EngagementStore: Sendable {
    let database: any HeraldDatabase

    /// Stores the tracked links of a mass email's step; the first process to store them wins,
    /// so every process redirects a link to the same address.
    /// `firstLink`: the number of the first (an A/B test's variants number theirs on from one another).
    public func saveLinks(_ links: [String], massEmail: Int64, step: Int, firstLink: Int = 0) async throws {
        guard !links.isEmpty else { return }
        try await database.transaction { db in
            for (index, url) in links.enumerated() {
                try await db.raw("""
                    INSERT INTO tracked_links (mass_email_id, step, link, url)
                    VALUES (\(bind: massEmail), \(bind: step), \(bind: firstLink + index), \(bind: url)) ON CONFLICT DO NOTHING
                    """).run()
            }
        }
    }

    /// Where a click on `link` of the message leads, if the message and the link exist.
    public func clickTarget(message: Int64, link: Int) async throws -> String? {
        try await database.read { db in
            try await db.raw("""
                SELECT l.url FROM mail_messages m JOIN tracked_links l
                    ON l.mass_email_id = m.mass_email_id AND l.step = m.step AND l.link = \(bind: link)
                WHERE m.id = \(bind: message)
                """).first()?.decode(column: "url", as: String.self)
        }
    }

    /// Records a batch of hits in one transaction: the events, and each message's first times
    /// and counts. A person's click counts as an open too (images may have been blocked).
    ///
    /// - Returns: the events, for the trigger actions; hits on messages that no longer exist
    ///   are dropped.
    public func record(_ hits: [TrackingHit], quietSeconds: Int64 = MachineRules.defaultQuietSeconds) async throws -> [EngagementEvent] {
        guard !hits.isEmpty else { return [] }
        return try await database.transaction { db in
            struct Message { var massEmailID: Int64; var step: Int; var recordID: Int64; var address: String; var sentAt: Int64? }
            var messages: [Int64: Message] = [:]
            let ids = Set(hits.map(\.messageID)).sorted()
            // PostgreSQL: the rows are locked here, in id order, for the counts written below.
            let lookup: SQLQueryString = database.kind == .postgres
                ? "id = ANY(\(bind: ids)::bigint[]) AND erased_at IS NULL ORDER BY id FOR UPDATE"
                : "id IN (SELECT value FROM json_each(\(bind: JSONRows.integers(ids)))) AND erased_at IS NULL"
            for row in try await db.raw("SELECT id, mass_email_id, step, record_id, address, sent_at FROM mail_messages WHERE \(lookup)").all() {
                messages[try row.decode(column: "id", as: Int64.self)] = Message(
                    massEmailID: try row.decode(column: "mass_email_id", as: Int64.self),
                    step: try row.decode(column: "step", as: Int.self),
                    recordID: try row.decode(column: "record_id", as: Int64.self),
                    address: try row.decode(column: "address", as: String.self),
                    sentAt: try row.decode(column: "sent_at", as: Int64?.self))
            }
            var tallies: [Int64: Tally] = [:]
            var events: [EngagementEvent] = []
            var rows = EventRows(capacity: hits.count, kind: database.kind)
            var agents = MachineRules.AgentMemo()
            for hit in hits {
                guard let message = messages[hit.messageID] else { continue }
                let isTrap = hit.kind == .trap
                let reason = MachineRules.machineReason(
                    .init(isHead: hit.isHead, userAgent: hit.userAgent, isTrap: isTrap,
                          secondsAfterDelivery: message.sentAt.map { hit.at - $0 }),
                    quietSeconds: quietSeconds, memo: &agents)
                let isMachine = reason != nil
                let kind: EngagementEvent.Kind = hit.kind == .open ? .opened : .clicked
                let link: Int? = if case .click(let n) = hit.kind { n } else { nil }
                var tally = tallies[hit.messageID] ?? Tally()
                func first(_ value: Int64?) -> Int64 { min(value ?? hit.at, hit.at) }
                switch (kind, isMachine) {
                case (.opened, false): tally.opens += 1; tally.openedAt = first(tally.openedAt)
                case (.opened, true): tally.machineOpens += 1; tally.machineOpenedAt = first(tally.machineOpenedAt)
                case (_, false): tally.clicks += 1; tally.clickedAt = first(tally.clickedAt); tally.openedAt = first(tally.openedAt)
                case (_, true): tally.machineClicks += 1; tally.machineClickedAt = first(tally.machineClickedAt)
                }
                tallies[hit.messageID] = tally
                func event(_ kind: EngagementEvent.Kind) -> EngagementEvent {
                    EngagementEvent(kind: kind, messageID: hit.messageID, massEmailID: message.massEmailID, step: message.step,
                                    recordID: message.recordID, address: message.address, at: hit.at, isMachine: isMachine)
                }
                events.append(event(kind))
                if kind == .clicked, !isMachine { events.append(event(.opened)) }
                rows.append(message: hit.messageID, massEmail: message.massEmailID, step: message.step, kind: kind.rawValue,
                            link: link, isMachine: isMachine, reason: reason, userAgent: hit.userAgent.map { String($0.prefix(300)) },
                            at: hit.at)
            }
            // A burst is thousands of rows: one bound JSON text (SQLite) or nine arrays
            // (PostgreSQL) each, not a placeholder a value (see JSONRows).
            try await rows.insert(db)
            // On PostgreSQL the rows were locked in id order by the read above, so two processes
            // recording at once cannot deadlock here.
            try await Self.add(tallies.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }, db, kind: database.kind)
            return events
        }
    }

    /// What an unsubscribe link names, if its message still exists.
    public func unsubscribeTarget(message: Int64) async throws -> UnsubscribeTarget? {
        try await database.read { db in
            try await db.raw("""
                SELECT m.id, m.mass_email_id, m.step, mo.api_name AS module, m.record_id, m.address, m.unsubscribed_at
                FROM mail_messages m JOIN mass_emails e ON e.id = m.mass_email_id JOIN modules mo ON mo.id = e.module_id
                WHERE m.id = \(bind: message) AND m.erased_at IS NULL
                """).first().map { row in
                UnsubscribeTarget(messageID: try row.decode(column: "id", as: Int64.self),
                                  massEmailID: try row.decode(column: "mass_email_id", as: Int64.self),
                                  step: try row.decode(column: "step", as: Int.self),
                                  module: try row.decode(column: "module", as: String.self),
                                  recordID: try row.decode(column: "record_id", as: Int64.self),
                                  address: try row.decode(column: "address", as: String.self),
                                  unsubscribedAt: try row.decode(column: "unsubscribed_at", as: Int64?.self))
            }
        }
    }

    /// Unsubscribes the recipient of a message, all at once or not at all: the message is
    /// marked, the event logged, the address suppressed and `Email Opt Out` set on the record
    /// that holds the address (`source`: the record itself, or a deal's contact).
    ///
    /// - Returns: the event, or nil when the recipient had already unsubscribed through this message.
    @discardableResult
    public func unsubscribe(_ target: UnsubscribeTarget, in module: Module, source: RecipientAddressSource?, how: String,
                            at: Int64 = WallClock.epochSeconds()) async throws -> EngagementEvent? {
        try await database.transaction { db in
            let marked = try await db.raw("""
                UPDATE mail_messages SET unsubscribed_at = \(bind: at) WHERE id = \(bind: target.messageID) AND unsubscribed_at IS NULL
                RETURNING id
                """).first()
            guard marked != nil else { return nil }
            try await db.raw("""
                INSERT INTO message_events (message_id, mass_email_id, step, kind, is_machine, reason, at)
                VALUES (\(bind: target.messageID), \(bind: target.massEmailID), \(bind: target.step),
                        \(bind: EngagementEvent.Kind.unsubscribed.rawValue), \(bind: false), \(bind: how), \(bind: at))
                """).run()
            try await SuppressionStore.add(target.address, reason: "unsubscribed",
                                           detail: "mass email \(target.massEmailID), \(how)", now: at, in: db)
            let table = module.table
            switch source {
            case .own(_, let optOut?):
                try await db.raw("""
                    UPDATE \(ident: table) SET \(ident: optOut.column) = \(bind: true), \(ident: "f_" + BuiltinFields.modifiedAt) = \(bind: at)
                    WHERE id = \(bind: target.recordID)
                    """).run()
            case .lookup(let field, let contacts, _, let optOut?):
                try await db.raw("""
                    UPDATE \(ident: contacts.table) SET \(ident: optOut.column) = \(bind: true), \(ident: "f_" + BuiltinFields.modifiedAt) = \(bind: at)
                    WHERE id = (SELECT \(ident: field.column) FROM \(ident: table) WHERE id = \(bind: target.recordID))
                    """).run()
            default:
                break
            }
            return EngagementEvent(kind: .unsubscribed, messageID: target.messageID, massEmailID: target.massEmailID,
                                   step: target.step, recordID: target.recordID, address: target.address, at: at)
        }
    }

    /// People's opens and clicks of a mass email by hour (the start of each hour, in seconds
    /// since 1970), for the chart on its page.
    public func hourly(massEmail: Int64) async throws -> [(hour: Int64, opens: Int, clicks: Int)] {
        try await database.read { db in
            var byHour: [Int64: (opens: Int, clicks: Int)] = [:]
            for row in try await db.raw("""
                SELECT (at / 3600) * 3600 AS hour, kind, COUNT(*) AS n FROM message_events
                WHERE mass_email_id = \(bind: massEmail) AND NOT is_machine AND kind IN ('opened', 'clicked')
                GROUP BY (at / 3600) * 3600, kind
                """).all() {
                let hour = try row.decode(column: "hour", as: Int64.self)
                let n = try row.decode(column: "n", as: Int.self)
                if try row.decode(column: "kind", as: String.self) == "opened" { byHour[hour, default: (0, 0)].opens += n }
                else { byHour[hour, default: (0, 0)].clicks += n }
            }
            return byHour.sorted { $0.key < $1.key }.map { (hour: $0.key, opens: $0.value.opens, clicks: $0.value.clicks) }
        }
    }
}

extension EngagementStore {
    /// One message's new hits, added to its counts.
    struct Tally {
        var opens = 0, machineOpens = 0, clicks = 0, machineClicks = 0
        var openedAt: Int64?, machineOpenedAt: Int64?, clickedAt: Int64?, machineClickedAt: Int64?
    }

    /// The `message_events` rows of one batch of hits, gathered for one statement.
    struct EventRows {
        let kind: DatabaseKind
        private var count = 0
        private var json: JSONRows
        private var messages: [Int64] = [], massEmails: [Int64] = [], steps: [Int64] = [], kinds: [String] = []
        private var links: [Int64] = [], machines: [Bool] = [], reasons: [String] = [], agents: [String] = [], ats: [Int64] = []

        init(capacity: Int, kind: DatabaseKind) {
            self.kind = kind
            json = JSONRows(capacity: kind == .sqlite ? capacity : 0, bytesPerRow: 160)
        }

        mutating func append(message: Int64, massEmail: Int64, step: Int, kind: String, link: Int?, isMachine: Bool,
                             reason: String?, userAgent: String?, at: Int64) {
            count += 1
            guard self.kind == .postgres else {
                json.row()
                json.add(message); json.add(massEmail); json.add(step); json.add(kind); json.add(link); json.add(isMachine)
                json.add(reason); json.add(userAgent); json.add(at)
                return
            }
            // PostgreSQL's arrays carry no nulls here: -1 and "" stand for them (NULLIF below).
            messages.append(message); massEmails.append(massEmail); steps.append(Int64(step)); kinds.append(kind)
            links.append(Int64(link ?? -1)); machines.append(isMachine); reasons.append(reason ?? ""); agents.append(userAgent ?? "")
            ats.append(at)
        }

        func insert(_ db: any SQLDatabase) async throws {
            guard count > 0 else { return }
            if kind == .postgres {
                try await db.raw("""
                    INSERT INTO message_events (message_id, mass_email_id, step, kind, link, is_machine, reason, user_agent, at)
                    SELECT message_id, mass_email_id, step, kind, NULLIF(link, -1), is_machine, NULLIF(reason, ''), NULLIF(user_agent, ''), at
                    FROM unnest(\(bind: messages)::bigint[], \(bind: massEmails)::bigint[], \(bind: steps)::bigint[], \(bind: kinds)::text[],
                                \(bind: links)::bigint[], \(bind: machines)::boolean[], \(bind: reasons)::text[], \(bind: agents)::text[],
                                \(bind: ats)::bigint[])
                         AS v(message_id, mass_email_id, step, kind, link, is_machine, reason, user_agent, at)
                    """).run()
            } else {
                try await db.raw("""
                    INSERT INTO message_events (message_id, mass_email_id, step, kind, link, is_machine, reason, user_agent, at)
                    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8
                    FROM json_each(\(bind: json.json))
                    """).run()
            }
        }
    }

    /// Adds each message's tally to its counts and sets the times of its first hits.
    static func add(_ tallies: [(id: Int64, tally: Tally)], _ db: any SQLDatabase, kind: DatabaseKind) async throws {
        guard !tallies.isEmpty else { return }
        let set: SQLQueryString = """
            UPDATE mail_messages SET opens = mail_messages.opens + v.opens,
                machine_opens = mail_messages.machine_opens + v.machine_opens,
                clicks = mail_messages.clicks + v.clicks, machine_clicks = mail_messages.machine_clicks + v.machine_clicks,
                opened_at = COALESCE(mail_messages.opened_at, v.opened_at),
                machine_opened_at = COALESCE(mail_messages.machine_opened_at, v.machine_opened_at),
                clicked_at = COALESCE(mail_messages.clicked_at, v.clicked_at),
                machine_clicked_at = COALESCE(mail_messages.machine_clicked_at, v.machine_clicked_at)
            """
        if kind == .postgres {
            // -1 stands for no time yet: the arrays carry no nulls.
            func times(_ time: (Tally) -> Int64?) -> [Int64] { tallies.map { time($0.tally) ?? -1 } }
            func counts(_ count: (Tally) -> Int) -> [Int64] { tallies.map { Int64(count($0.tally)) } }
            try await db.raw("""
                \(set)
                FROM (SELECT id, opens, machine_opens, clicks, machine_clicks, NULLIF(opened_at, -1) AS opened_at,
                             NULLIF(machine_opened_at, -1) AS machine_opened_at, NULLIF(clicked_at, -1) AS clicked_at,
                             NULLIF(machine_clicked_at, -1) AS machine_clicked_at
                      FROM unnest(\(bind: tallies.map(\.id))::bigint[], \(bind: counts(\.opens))::bigint[],
                                  \(bind: counts(\.machineOpens))::bigint[], \(bind: counts(\.clicks))::bigint[],
                                  \(bind: counts(\.machineClicks))::bigint[], \(bind: times(\.openedAt))::bigint[],
                                  \(bind: times(\.machineOpenedAt))::bigint[], \(bind: times(\.clickedAt))::bigint[],
                                  \(bind: times(\.machineClickedAt))::bigint[])
                           AS u(id, opens, machine_opens, clicks, machine_clicks, opened_at, machine_opened_at, clicked_at,
                                machine_clicked_at)) AS v
                WHERE mail_messages.id = v.id
                """).run()
        } else {
            var json = JSONRows(capacity: tallies.count)
            for (id, t) in tallies {
                json.row()
                json.add(id); json.add(t.opens); json.add(t.machineOpens); json.add(t.clicks); json.add(t.machineClicks)
                json.add(t.openedAt); json.add(t.machineOpenedAt); json.add(t.clickedAt); json.add(t.machineClickedAt)
            }
            try await db.raw("""
                \(set)
                FROM (SELECT value ->> 0 AS id, value ->> 1 AS opens, value ->> 2 AS machine_opens, value ->> 3 AS clicks,
                             value ->> 4 AS machine_clicks, value ->> 5 AS opened_at, value ->> 6 AS machine_opened_at,
                             value ->> 7 AS clicked_at, value ->> 8 AS machine_clicked_at
                      FROM json_each(\(bind: json.json))) AS v
                WHERE mail_messages.id = v.id
                """).run()
        }
    }
}
