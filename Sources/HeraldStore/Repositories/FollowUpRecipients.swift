import Foundation
import HeraldCore
import SQLKit

/// One recipient of a follow-up: the mass email's (step 0) message it follows up on.
public struct FollowUpRecipient: Sendable, Hashable {
    /// The step 0 message: its Message-ID is what a threaded follow-up replies to.
    public var messageID: Int64
    public var recordID: Int64
    public var address: String
}

/// A chunk of a follow-up's recipients, with those left out counted by reason.
public struct FollowUpSelection: Sendable, Hashable {
    public var recipients: [FollowUpRecipient] = []
    public var excluded: [FollowUpExclusionReason: Int] = [:]
    /// The last step 0 message looked at, to continue after; nil when there were none left.
    public var cursor: Int64?
}

extension MassEmailStore {
    /// The next `limit` recipients of follow-up `step` (1 for the first) of mass email
    /// `massEmailID`, after step 0 message id `after`, in message id order (keyset
    /// pagination, as the recipient resolver walks records).
    ///
    /// A recipient is one whose mass email message was sent. Left out, under the first reason
    /// that applies: those whose message to that address so far (the mass email's or an
    /// earlier follow-up's) bounced or was unsubscribed from, whose record is opted out now,
    /// whose address is suppressed (an erased person's message, which has no address left,
    /// counts as that: their address is, by its keyed hash), and those the follow-up's `exclusions` match as of `now`
    /// (field conditions are on the record as it is now; `within_last_days` counts from
    /// `now` in `zone`). Opens and clicks are people's: a machine's (a privacy proxy, a link
    /// scanner) do not count.
    public func followUpRecipients(of massEmailID: Int64, step: Int, in module: Module, source: RecipientAddressSource,
                                   exclusions: ResolvedFollowUpExclusions, now: Date, zone: TimeZone,
                                   after: Int64 = 0, limit: Int = 1000) async throws -> FollowUpSelection {
        precondition(step >= 1, "step 0 is the mass email itself")
        let sql = FollowUpSQL(kind: database.kind, step: step, module: module, criteria: CriteriaSQL(kind: database.kind, now: now, zone: zone))
        // The columns are read by place (see CellRow): 0 id, 1 record_id, 2 address, 3 bounced,
        // 4 unsubscribed, 5 opt_out, 6 suppressed, 7 excluded.
        let rows = try await database.read { db in
            try await db.rows("""
                SELECT m.id, m.record_id, m.address,
                    CASE WHEN \(sql.anyMessage("e.status = 'bounced'")) THEN 1 ELSE 0 END AS bounced,
                    CASE WHEN \(sql.anyMessage("e.unsubscribed_at IS NOT NULL")) THEN 1 ELSE 0 END AS unsubscribed,
                    \(sql.optOut(source)) AS opt_out,
                    CASE WHEN m.erased_at IS NOT NULL OR EXISTS (SELECT 1 FROM suppressions s WHERE s.address = m.address)
                         THEN 1 ELSE 0 END AS suppressed,
                    CASE WHEN \(sql.excluded(exclusions)) THEN 1 ELSE 0 END AS excluded
                FROM mail_messages m
                WHERE m.mass_email_id = \(bind: massEmailID) AND m.step = 0 AND m.status IN ('sent', 'bounced') AND m.id > \(bind: after)
                ORDER BY m.id LIMIT \(literal: limit)
                """) { row -> (id: Int64, excludedFor: FollowUpExclusionReason?, recipient: FollowUpRecipient) in
                let id: Int64 = try row.decode(0)
                // The first reason that applies, in the order the columns list them.
                let reason = try FollowUpExclusionReason.inColumnOrder.enumerated().first { try row.flag(3 + $0.offset) }?.element
                return (id, reason, FollowUpRecipient(messageID: id, recordID: try row.decode(1), address: try row.decode(2)))
            }
        }
        var selection = FollowUpSelection()
        for row in rows {
            selection.cursor = row.id
            if let reason = row.excludedFor {
                selection.excluded[reason, default: 0] += 1
            } else {
                selection.recipients.append(row.recipient)
            }
        }
        return selection
    }
}

extension FollowUpExclusionReason {
    /// The reasons as the selection's columns give them, from column 3 on.
    fileprivate static let inColumnOrder: [FollowUpExclusionReason] = [.bounced, .unsubscribed, .optedOut, .suppressed, .criteria]
}

/// The SQL conditions of a follow-up's selection, on a step 0 message `m`.
struct FollowUpSQL {
    let kind: DatabaseKind
    let step: Int
    let module: Module
    let criteria: CriteriaSQL

    /// Whether a message of the mass email to `m`'s address before this step — `e` — meets
    /// `condition`. By address, as messages are made: one per address and step.
    func anyMessage(_ condition: SQLQueryString) -> SQLQueryString {
        """
        EXISTS (SELECT 1 FROM mail_messages e WHERE e.mass_email_id = m.mass_email_id AND e.step IN (\(binds: Array(0..<step)))
            AND e.address = m.address AND \(condition))
        """
    }

    /// The opt-out flag of `m`'s record now (or of the record its lookup names, for deals).
    func optOut(_ source: RecipientAddressSource) -> SQLQueryString {
        let table = module.table
        switch source {
        case .own(_, let field?):
            return "(SELECT t.\(ident: field.column) FROM \(ident: table) t WHERE t.id = m.record_id)"
        case .lookup(let lookup, let target, _, let field?):
            return """
                (SELECT c.\(ident: field.column) FROM \(ident: target.table) c
                 WHERE c.id = (SELECT t.\(ident: lookup.column) FROM \(ident: table) t WHERE t.id = m.record_id))
                """
        case .own(_, nil), .lookup(_, _, _, nil):
            return "NULL"
        }
    }

    /// Whether the exclusion rules leave `m` out; no rules leave out nobody.
    func excluded(_ exclusions: ResolvedFollowUpExclusions) -> SQLQueryString {
        guard !exclusions.rules.isEmpty else { return "1=0" }
        let parts = exclusions.rules.map(rule)
        return "(" + parts.joined(separator: exclusions.match == .all ? " AND " : " OR ") + ")"
    }

    private func rule(_ rule: ResolvedFollowUpExclusions.Rule) -> SQLQueryString {
        switch rule {
        case .engagement(let engagement):
            switch engagement {
            case .opened: return anyMessage("e.opened_at IS NOT NULL")
            case .notOpened: return "NOT \(anyMessage("e.opened_at IS NOT NULL"))"
            case .clicked: return anyMessage("e.clicked_at IS NOT NULL")
            case .notClicked: return "NOT \(anyMessage("e.clicked_at IS NOT NULL"))"
            case .replied: return anyMessage("EXISTS (SELECT 1 FROM replies r WHERE r.message_id = e.id)")
            case .bounced: return anyMessage("(e.status = 'bounced' OR EXISTS (SELECT 1 FROM bounces b WHERE b.message_id = e.id))")
            case .unsubscribed: return anyMessage("e.unsubscribed_at IS NOT NULL")
            }
        case .field(let resolved):
            // A subquery, so that the criteria's bare column names are the record's.
            return "m.record_id IN (SELECT id FROM \(ident: module.table) WHERE \(criteria.compile(resolved)))"
        }
    }
}
