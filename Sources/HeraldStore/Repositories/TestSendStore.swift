import HeraldCore
import SQLKit

/// Test sends (a template's, the transport's): one row each, so that they are limited per
/// user across every process and counted. They go to any address a user types, past a mass
/// email's checks, which is why they are bounded at all.
public struct TestSendStore: Sendable {
    let database: any HeraldDatabase

    /// Each user's test sends: at most 20 in any hour.
    public static let limit = SlidingWindowLimit(limit: 20, window: 3600)

    /// Records one test send by `user` to `address` if ``limit`` allows it; otherwise throws
    /// 429 with the seconds until it would.
    public func take(user: Int64, address: String, now: Int64 = WallClock.epochSeconds()) async throws {
        let limit = TestSendStore.limit
        // PostgreSQL: lock the user's row so that two processes cannot both take the last one.
        let lock: SQLQueryString = database.kind == .postgres ? "FOR UPDATE" : ""
        try await database.transaction { db in
            _ = try await db.raw("SELECT id FROM users WHERE id = \(bind: user) \(lock)").first()
            let earlier = try await db.raw("""
                SELECT sent_at FROM test_sends WHERE user_id = \(bind: user) AND sent_at > \(bind: now - limit.window)
                """).all().map { try $0.decode(column: "sent_at", as: Int64.self) }
            if case .wait(let seconds) = limit.decide(earlier: earlier, now: now) {
                throw HeraldError.tooManyRequests(
                    "you have sent \(limit.limit) tests in the last hour; the next one can go in \(seconds) seconds", retryAfter: seconds)
            }
            try await db.raw("""
                INSERT INTO test_sends (user_id, address, sent_at) VALUES (\(bind: user), \(bind: address), \(bind: now))
                """).run()
        }
    }

    /// How many test sends everyone made since `since`.
    public func count(since: Int64) async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM test_sends WHERE sent_at >= \(bind: since)").first()!.decode(column: "n", as: Int.self)
        }
    }
}
