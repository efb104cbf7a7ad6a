import Foundation
import HeraldCore
import SQLKit

/// A/B tests of mass emails: how each variant did, and choosing the winner once.
///
/// The test share is drawn when the recipients are resolved
/// (``MassEmailStore/markResolved(_:now:)``); the rest wait as `held`. Choosing the winner
/// is one conditional UPDATE of the mass email (`… WHERE ab_decision IS NULL`) with the
/// release of the held messages in the same transaction, so that of several processes (or a
/// person pressing the button while the rule fires) exactly one decides, and the rest are
/// queued exactly once.
public struct ABTestStore: Sendable {
    let database: any HeraldDatabase

    /// Mass emails whose test wait is over and whose winner is not chosen; stopped or failed
    /// ones are left alone.
    public func due(now: Int64) async throws -> [Int64] {
        try await database.read { db in
            try await db.raw("""
                SELECT id FROM mass_emails WHERE ab_decide_at <= \(bind: now) AND ab_decision IS NULL
                  AND status IN ('sending', 'paused') ORDER BY ab_decide_at LIMIT 100
                """).all().map { try $0.decode(column: "id", as: Int64.self) }
        }
    }

    /// When the next test's wait is over, if any.
    public func nextDueAt() async throws -> Int64? {
        try await database.read { db in
            try await db.raw("""
                SELECT MIN(ab_decide_at) AS t FROM mass_emails WHERE ab_decision IS NULL AND status IN ('sending', 'paused')
                """).first()?.decode(column: "t", as: Int64?.self)
        }
    }

    /// How each variant did in the test share, by people alone: a machine's open or click
    /// (``MessageRow/machineOpens``) is not counted, nor are the rest's messages once the
    /// winner went to them (their place in the draw is cleared then). One row per variant,
    /// in order, zeros included; `variants` is how many the test has.
    public func results(_ massEmailID: Int64, variants: Int) async throws -> [ABVariantResult] {
        try await database.read { db in
            var results = (0..<variants).map { ABVariantResult(variant: $0, sent: 0) }
            for row in try await db.raw("""
                SELECT m.variant, SUM(CASE WHEN m.status IN ('sent', 'bounced') THEN 1 ELSE 0 END) AS sent,
                    COUNT(m.opened_at) AS opened, COUNT(m.clicked_at) AS clicked,
                    SUM(CASE WHEN EXISTS (SELECT 1 FROM replies r WHERE r.message_id = m.id) THEN 1 ELSE 0 END) AS replied
                FROM mail_messages m WHERE m.mass_email_id = \(bind: massEmailID) AND m.step = 0 AND m.variant IS NOT NULL
                  AND m.ab_key IS NOT NULL
                GROUP BY m.variant
                """).all() {
                let variant = try row.decode(column: "variant", as: Int.self)
                guard results.indices.contains(variant) else { continue }
                results[variant] = ABVariantResult(variant: variant, sent: try row.decode(column: "sent", as: Int?.self) ?? 0,
                                                   opened: try row.decode(column: "opened", as: Int.self),
                                                   clicked: try row.decode(column: "clicked", as: Int.self),
                                                   replied: try row.decode(column: "replied", as: Int?.self) ?? 0)
            }
            return results
        }
    }

    /// Records `decision` unless a winner was chosen already, and queues the held messages
    /// with the winning variant (out of the test's figures from then on); returns how many it queued, or nil when another decision
    /// came first (409 for a person who picked one).
    public func choose(_ massEmailID: Int64, _ decision: ABDecision) async throws -> Int? {
        try await database.transaction { db in
            guard try await db.raw("""
                UPDATE mass_emails SET ab_decision = \(bind: MassEmailStore.encodeJSON(decision)), modified_at = \(bind: decision.at)
                WHERE id = \(bind: massEmailID) AND ab_test IS NOT NULL AND ab_decision IS NULL AND resolved_at IS NOT NULL
                  AND status IN ('sending', 'paused')
                RETURNING id
                """).first() != nil else { return nil }
            return try await db.raw("""
                UPDATE mail_messages SET status = 'queued', variant = \(bind: decision.winner), next_attempt_at = \(bind: decision.at),
                    ab_key = NULL
                WHERE mass_email_id = \(bind: massEmailID) AND step = 0 AND status = 'held' RETURNING id
                """).all().count
        }
    }
}
