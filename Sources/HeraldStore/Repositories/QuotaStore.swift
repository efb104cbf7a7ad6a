import Crypto
import Foundation
import HeraldCore
import SQLKit

/// The organisation's daily sending quota, shared by every process.
public struct QuotaStore: Sendable {
    let database: any HeraldDatabase

    /// Takes up to `wanted` messages from `day`'s quota of `limit` and returns how many it got.
    public func reserve(_ wanted: Int, day: String, limit: Int) async throws -> Int {
        guard wanted > 0 else { return 0 }
        let lock: SQLQueryString = database.kind == .postgres ? "FOR UPDATE" : ""
        return try await database.transaction { db in
            try await db.raw("INSERT INTO send_quota (day, used) VALUES (\(bind: day), 0) ON CONFLICT (day) DO NOTHING").run()
            let used = try await db.raw("SELECT used FROM send_quota WHERE day = \(bind: day) \(lock)").first()!.decode(column: "used", as: Int.self)
            let granted = max(0, min(wanted, limit - used))
            if granted > 0 {
                try await db.raw("UPDATE send_quota SET used = used + \(bind: granted) WHERE day = \(bind: day)").run()
            }
            return granted
        }
    }

    /// Gives back what was reserved and not sent.
    public func release(_ count: Int, day: String) async throws {
        guard count > 0 else { return }
        try await database.transaction { db in
            try await db.raw("UPDATE send_quota SET used = CASE WHEN used > \(bind: count) THEN used - \(bind: count) ELSE 0 END WHERE day = \(bind: day)").run()
        }
    }

    public func used(day: String) async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT used FROM send_quota WHERE day = \(bind: day)").first()?.decode(column: "used", as: Int.self) ?? 0
        }
    }
}
