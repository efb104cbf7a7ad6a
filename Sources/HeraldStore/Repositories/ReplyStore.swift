import HeraldCore
import SQLKit

/// A reply a recipient sent to a mass email's message.
public struct Reply: Sendable, Hashable {
    public var id: Int64
    public var messageID: Int64
    public var massEmailID: Int64
    public var recordID: Int64
    public var fromAddress: String?
    public var subject: String?
    /// The reply's header block as received.
    public var headers: String
    /// Its text (the text/plain part, or the HTML part's text).
    public var text: String
    public var forwardedAt: Int64?
    public var receivedAt: Int64
}

/// Replies to mass emails, kept on the record they answer.
public struct ReplyStore: Sendable {
    let database: any HeraldDatabase

    /// Keeps a reply to `message`; nil when one with the same fingerprint was kept before.
    public func record(_ message: SentMessage, from: String?, subject: String?, headers: String, text: String,
                       fingerprint: String, receivedAt: Int64) async throws -> Reply? {
        try await database.transaction { db in
            guard let row = try await db.raw("""
                INSERT INTO replies (message_id, mass_email_id, record_id, from_address, subject, headers, text, fingerprint, received_at)
                VALUES (\(bind: message.id), \(bind: message.massEmailID), \(bind: message.recordID), \(bind: from.map { String($0.prefix(320)) }),
                        \(bind: subject.map { String($0.prefix(1000)) }), \(bind: headers), \(bind: text), \(bind: fingerprint), \(bind: receivedAt))
                ON CONFLICT (fingerprint) DO NOTHING RETURNING id
                """).first() else { return nil }
            return Reply(id: try row.decode(column: "id", as: Int64.self), messageID: message.id, massEmailID: message.massEmailID,
                         recordID: message.recordID, fromAddress: from, subject: subject, headers: headers, text: text,
                         forwardedAt: nil, receivedAt: receivedAt)
        }
    }

    public func markForwarded(_ id: Int64, at: Int64) async throws {
        try await database.transaction { db in
            try await db.raw("UPDATE replies SET forwarded_at = \(bind: at) WHERE id = \(bind: id)").run()
        }
    }

    /// The replies of a mass email's recipients, newest first.
    public func list(massEmail: Int64, limit: Int = 100) async throws -> [Reply] {
        try await list(where: "mass_email_id = \(bind: massEmail)", limit: limit)
    }

    /// The replies kept on a record of `module` (record ids are per module), newest first.
    public func list(module: Int64, record: Int64, limit: Int = 100) async throws -> [Reply] {
        try await list(where: """
            record_id = \(bind: record) AND mass_email_id IN (SELECT id FROM mass_emails WHERE module_id = \(bind: module))
            """, limit: limit)
    }

    private func list(where condition: SQLQueryString, limit: Int) async throws -> [Reply] {
        try await database.read { db in
            try await db.raw("""
                SELECT id, message_id, mass_email_id, record_id, from_address, subject, headers, text, forwarded_at, received_at
                FROM replies WHERE \(condition) ORDER BY id DESC LIMIT \(literal: limit)
                """).all().map { row in
                Reply(id: try row.decode(column: "id", as: Int64.self), messageID: try row.decode(column: "message_id", as: Int64.self),
                      massEmailID: try row.decode(column: "mass_email_id", as: Int64.self),
                      recordID: try row.decode(column: "record_id", as: Int64.self),
                      fromAddress: try row.decode(column: "from_address", as: String?.self),
                      subject: try row.decode(column: "subject", as: String?.self),
                      headers: try row.decode(column: "headers", as: String.self), text: try row.decode(column: "text", as: String.self),
                      forwardedAt: try row.decode(column: "forwarded_at", as: Int64?.self),
                      receivedAt: try row.decode(column: "received_at", as: Int64.self))
            }
        }
    }
}
