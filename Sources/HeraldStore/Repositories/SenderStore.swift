import Foundation
import HeraldCore
import SQLKit

/// The organisation's sender addresses. Every user may list them (to choose one); the web
/// layer lets only admins change them.
public struct SenderStore: Sendable {
    let database: any HeraldDatabase
    public static let maxNameLength = 100

    public func all() async throws -> [Sender] {
        try await database.read { db in
            try await db.raw("SELECT id, email, name, reply_to, created_at, rate_per_minute, rate_per_hour FROM senders ORDER BY lower(email)")
                .all().map(SenderStore.sender(from:))
        }
    }

    public func find(_ id: Int64) async throws -> Sender {
        let row = try await database.read { db in
            try await db.raw("SELECT id, email, name, reply_to, created_at, rate_per_minute, rate_per_hour FROM senders WHERE id = \(bind: id)").first()
        }
        guard let row else { throw HeraldError.notFound("no sender \(id)") }
        return try SenderStore.sender(from: row)
    }

    /// Adds a sender; `ratePerMinute` and `ratePerHour` cap how fast mass emails go out from it.
    public func create(email: String, name: String, replyTo: String?, ratePerMinute: Int? = nil, ratePerHour: Int? = nil) async throws -> Sender {
        let (email, name, replyTo) = try SenderStore.check(email: email, name: name, replyTo: replyTo, rates: (ratePerMinute, ratePerHour))
        let now = WallClock.epochSeconds()
        let id = try await database.transaction { db in
            try await SenderStore.refuseClash(email, except: nil, db: db)
            let row = try await db.raw("""
                INSERT INTO senders (email, name, reply_to, created_at, rate_per_minute, rate_per_hour)
                VALUES (\(bind: email), \(bind: name), \(bind: replyTo), \(bind: now), \(bind: ratePerMinute), \(bind: ratePerHour))
                RETURNING id
                """).first()
            return try row!.decode(column: "id", as: Int64.self)
        }
        return Sender(id: id, email: email, name: name, replyTo: replyTo, createdAt: now, ratePerMinute: ratePerMinute, ratePerHour: ratePerHour)
    }

    public func update(_ id: Int64, email: String, name: String, replyTo: String?, ratePerMinute: Int? = nil,
                       ratePerHour: Int? = nil) async throws -> Sender {
        let (email, name, replyTo) = try SenderStore.check(email: email, name: name, replyTo: replyTo, rates: (ratePerMinute, ratePerHour))
        try await database.transaction { db in
            try await SenderStore.refuseClash(email, except: id, db: db)
            let updated = try await db.raw("""
                UPDATE senders SET email = \(bind: email), name = \(bind: name), reply_to = \(bind: replyTo),
                    rate_per_minute = \(bind: ratePerMinute), rate_per_hour = \(bind: ratePerHour)
                WHERE id = \(bind: id) RETURNING id
                """).first()
            if updated == nil { throw HeraldError.notFound("no sender \(id)") }
        }
        return try await find(id)
    }

    /// Deletes a sender that no mass email uses (those keep their sender, for their record).
    public func delete(_ id: Int64) async throws {
        try await database.transaction { db in
            if let used = try await db.raw("SELECT name FROM mass_emails WHERE sender_id = \(bind: id) LIMIT 1").first() {
                throw HeraldError.conflict("the mass email '\(try used.decode(column: "name", as: String.self))' uses this sender; it cannot be deleted",
                                           problems: [Problem(field: "id", reason: "in use by a mass email")])
            }
            let deleted = try await db.raw("DELETE FROM senders WHERE id = \(bind: id) RETURNING id").first()
            if deleted == nil { throw HeraldError.notFound("no sender \(id)") }
        }
    }

    /// Every problem of a sender's address, name and reply-to, none when they may be stored
    /// (a clash with another sender is the store's to find): for a request or form whose
    /// other fields are wrong too, so that all are said at once.
    public static func problems(email: String, name: String, replyTo: String?, rates: (Int?, Int?) = (nil, nil)) -> [Problem] {
        do {
            _ = try check(email: email, name: name, replyTo: replyTo, rates: rates)
            return []
        } catch let error as HeraldError {
            return error.problems
        } catch {
            return []
        }
    }

    /// Trimmed values, the reply-to nil when blank, or every problem at once.
    static func check(email: String, name: String, replyTo: String?, rates: (Int?, Int?) = (nil, nil)) throws -> (String, String, String?) {
        var problems = ProblemList()
        let email = email.trimmedWhitespace, name = name.trimmedWhitespace
        let replyTo = replyTo.map(\.trimmedWhitespace).flatMap { $0.isEmpty ? nil : $0 }
        if email.isEmpty { problems.add("email", "is required") }
        else if !EmailAddress.isValid(email) { problems.add("email", "'\(email)' is not a valid email address") }
        if name.isEmpty { problems.add("name", "is required") }
        if name.count > maxNameLength { problems.add("name", "must be at most \(maxNameLength) characters") }
        // The name goes into the From header: a line break there would start another header.
        if name.contains(where: \.isNewline) { problems.add("name", "must be a single line") }
        if let replyTo, !EmailAddress.isValid(replyTo) { problems.add("reply_to", "'\(replyTo)' is not a valid email address") }
        if let perMinute = rates.0, perMinute < 1 { problems.add("rate_per_minute", "must be at least 1 (or empty for no limit)") }
        if let perHour = rates.1, perHour < 1 { problems.add("rate_per_hour", "must be at least 1 (or empty for no limit)") }
        try problems.check()
        return (email, name, replyTo)
    }

    static func refuseClash(_ email: String, except id: Int64?, db: any SQLDatabase) async throws {
        let clash = try await db.raw("""
            SELECT id FROM senders WHERE lower(email) = lower(\(bind: email)) AND id <> \(bind: id ?? 0)
            """).first()
        if clash != nil {
            throw HeraldError.conflict("the sender \(email) already exists", problems: [Problem(field: "email", reason: "already exists")])
        }
    }

    static func sender(from row: any SQLRow) throws -> Sender {
        Sender(id: try row.decode(column: "id", as: Int64.self),
               email: try row.decode(column: "email", as: String.self),
               name: try row.decode(column: "name", as: String.self),
               replyTo: try row.decode(column: "reply_to", as: String?.self),
               createdAt: try row.decode(column: "created_at", as: Int64.self),
               ratePerMinute: try row.decode(column: "rate_per_minute", as: Int?.self),
               ratePerHour: try row.decode(column: "rate_per_hour", as: Int?.self))
    }
}
