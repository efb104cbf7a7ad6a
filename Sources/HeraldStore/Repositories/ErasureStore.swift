import Foundation
import HeraldCore
import SQLKit

/// Erasing a person on request (GDPR art. 17, "the right to be forgotten"), in one
/// transaction: all of it or none.
///
/// Gone: the record; its tasks, calls and static list memberships; the address in plain text
/// on the suppression list; the record in mass emails' selections of records; and, of every
/// message to the person (those of their record, and those of any record to one of their
/// addresses: a deal's message goes to its contact's address), the address, the record, the
/// server's reply, the opens' and clicks' user agents, the replies' sender, subject, headers
/// and text, the bounce reports' address, diagnostic and report as received.
///
/// Kept, anonymous: the rows themselves. A mass email's figures are counted from them (sent,
/// bounced, opened and clicked from the messages; replied, soft-bounced, complained and
/// refused from the replies and bounces; the hourly chart from the events; how often each
/// trigger action ran from its runs), and they must not change when someone is erased; with
/// the address and the record gone, what is left says nothing about anyone. Kept too: each
/// address as a keyed hash on the suppression list (``SuppressionStore/erasedKey(_:secret:)``),
/// which the recipient resolver matches, so that the person, imported again, is never mailed.
///
/// A message to the person that a sending process holds at this moment (`sending`) makes
/// erasing refuse with a conflict, to be tried again a moment later: that process is handing
/// the address to the mail server and would write the server's reply, which may quote the
/// address, and a bounce back after the erasure. Messages still waiting (queued, deferred,
/// uncertain) are erased with the rest and marked failed: they are not sent. A mass email
/// in progress therefore does not hold an erasure up; it only loses a recipient.
///
/// ```swift
/// let erased = try await store.erasure.erase(in: contacts, id: 42)
/// ```
public struct ErasureStore: Sendable {
    let database: any HeraldDatabase
    let settings: SettingsStore

    /// What ``erase(in:id:now:)`` would remove now, counted without changing anything.
    public func preview(in module: Module, id: Int64) async throws -> Erasure {
        try await database.read { db in
            let person = try await Person.find(in: module, id: id, lock: false, db: db)
            var erasure = Erasure(module: module.apiName, recordID: id)
            erasure.records = 1
            let undecided = person.messages.filter { $0.status.isPending }.count
            erasure.messages = person.messages.count - undecided
            erasure.unsentMessages = undecided
            for part in person.parts {
                erasure[keyPath: part.count] = try await db.raw("SELECT COUNT(*) AS n FROM \(ident: part.table) WHERE \(part.condition)")
                    .first()!.decode(column: "n", as: Int.self)
            }
            erasure.massEmailSelections = try await person.selections(db).count
            erasure.suppressedAddresses = person.addresses.count
            return erasure
        }
    }

    /// Erases the person of record `id` of `module` and returns what went. Not found when
    /// there is no such record; invalid when the module's records have no address of their own
    /// (a deal is no person); a conflict while one of their messages is being sent.
    public func erase(in module: Module, id: Int64, now: Int64 = WallClock.epochSeconds()) async throws -> Erasure {
        let secret = try await settings.engagementSecret()
        let lock = database.kind == .postgres
        return try await database.transaction { db in
            let person = try await Person.find(in: module, id: id, lock: lock, db: db)
            if let busy = person.messages.first(where: { $0.status == .sending }) {
                throw HeraldError.conflict("""
                    a message of the mass email '\(busy.massEmail)' to this person is being handed to the mail server \
                    right now; erase them again in a minute
                    """)
            }
            var erasure = Erasure(module: module.apiName, recordID: id)
            for part in person.parts {
                let statement: SQLQueryString = if let anonymise = part.anonymise {
                    "UPDATE \(ident: part.table) SET \(anonymise) WHERE \(part.condition) RETURNING 1 AS one"
                } else {
                    "DELETE FROM \(ident: part.table) WHERE \(part.condition) RETURNING 1 AS one"
                }
                erasure[keyPath: part.count] = try await db.raw(statement).all().count
            }
            // The rows stay for the figures (see the type's comment); one still waiting is not
            // sent. (The right-hand sides read the row as it was, on both databases.)
            let ids = person.messages.map(\.id)
            if !ids.isEmpty {
                try await db.raw("""
                    UPDATE mail_messages SET address = 'erased:' || CAST(id AS TEXT), record_id = 0, claimed_by = NULL,
                        status = CASE WHEN \(Person.waiting) THEN 'failed' ELSE status END,
                        smtp_code = CASE WHEN \(Person.waiting) THEN NULL ELSE smtp_code END,
                        smtp_status = CASE WHEN \(Person.waiting) THEN NULL ELSE smtp_status END,
                        smtp_text = CASE WHEN \(Person.waiting) THEN 'not sent: the person was erased' END,
                        erased_at = \(bind: now)
                    WHERE \(Person.among("id", ids))
                    """).run()
                erasure.unsentMessages = person.messages.filter { $0.status.isPending }.count
                erasure.messages = ids.count - erasure.unsentMessages
            }
            for (massEmail, remaining) in try await person.selections(db) {
                try await db.raw("""
                    UPDATE mass_emails SET record_ids = \(bind: remaining.map(String.init).joined(separator: ",")) WHERE id = \(bind: massEmail)
                    """).run()
                erasure.massEmailSelections += 1
            }
            for address in person.addresses {
                try await db.raw("""
                    INSERT INTO suppressions (address, reason, detail, created_at)
                    VALUES (\(bind: SuppressionStore.erasedKey(address, secret: secret)), 'erased',
                            'a person erased on request (GDPR art. 17); only a keyed hash of the address is kept', \(bind: now))
                    ON CONFLICT (address) DO NOTHING
                    """).run()
            }
            erasure.suppressedAddresses = person.addresses.count
            // Where someone sent a test to the person: not a figure, so gone (not counted).
            for address in person.addresses {
                try await db.raw("DELETE FROM test_sends WHERE lower(address) = \(bind: address)").run()
            }
            try await db.raw("DELETE FROM \(ident: module.table) WHERE id = \(bind: id)").run()
            erasure.records = 1
            return erasure
        }
    }
}

/// The person a record stands for, and where they appear.
private struct Person {
    struct Message {
        var id: Int64
        var status: MessageStatus
        var massEmail: String
    }

    /// A table, the rows of it that are the person's, where their number goes, and, for rows
    /// that figures are counted from, what erasing sets instead of deleting them.
    struct Part {
        var table: String
        var condition: SQLQueryString
        var count: WritableKeyPath<Erasure, Int>
        var anonymise: SQLQueryString? = nil
    }

    let module: Module
    let id: Int64
    /// Normalised: those of the record's email fields, and those its messages went to.
    let addresses: [String]
    /// Messages not erased before, to the record or to one of the addresses.
    let messages: [Message]

    static func find(in module: Module, id: Int64, lock: Bool, db: any SQLDatabase) async throws -> Person {
        guard let record = try await RecordStore.fetch(module, id: id, scope: .all, db: db) else {
            throw HeraldError.notFound("no \(module.singularLabel.lowercased()) \(id) in \(module.pluralLabel)")
        }
        guard module.emailField != nil else {
            throw HeraldError.invalid(field: "module", "\(module.pluralLabel) have no email address of their own: only a person's record can be erased")
        }
        var addresses = Set<String>()
        for field in module.fields where field.type == .email {
            if case .text(let text)? = record[field.apiName], !EmailAddress.normalized(text).isEmpty {
                addresses.insert(EmailAddress.normalized(text))
            }
        }
        let ofModule: SQLQueryString = "SELECT id FROM mass_emails WHERE module_id = \(bind: module.id)"
        for row in try await db.raw("""
            SELECT DISTINCT address FROM mail_messages
            WHERE record_id = \(bind: id) AND mass_email_id IN (\(ofModule)) AND erased_at IS NULL
            """).all() {
            addresses.insert(try row.decode(column: "address", as: String.self))
        }
        let sorted = addresses.sorted()
        // Locked on PostgreSQL, so that no process claims one of them between this look and the
        // erasure (a claim skips locked rows); SQLite has one writer at a time already.
        let forUpdate: SQLQueryString = lock ? "FOR UPDATE OF m" : ""
        let messages = try await db.raw("""
            SELECT m.id, m.status, e.name FROM mail_messages m JOIN mass_emails e ON e.id = m.mass_email_id
            WHERE m.erased_at IS NULL AND ((m.record_id = \(bind: id) AND e.module_id = \(bind: module.id)) OR \(among("m.address", sorted)))
            ORDER BY m.id \(forUpdate)
            """).all().map { row in
            Message(id: try row.decode(column: "id", as: Int64.self),
                    status: MessageStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
                    massEmail: try row.decode(column: "name", as: String.self))
        }
        return Person(module: module, id: id, addresses: sorted, messages: messages)
    }

    /// The person's rows other than the messages and the record, before either changes.
    var parts: [Part] {
        let messageIDs = messages.map(\.id)
        let ofModule: SQLQueryString = "SELECT id FROM mass_emails WHERE module_id = \(bind: module.id)"
        let erasedID: SQLQueryString = "'erased:' || CAST(id AS TEXT)"
        return [
            Part(table: "message_events", condition: "\(Self.among("message_id", messageIDs)) AND user_agent IS NOT NULL",
                 count: \.events, anonymise: "user_agent = NULL"),
            Part(table: "replies", condition: """
                (\(Self.among("message_id", messageIDs)) OR (record_id = \(bind: id) AND mass_email_id IN (\(ofModule)))
                 OR \(Self.among("lower(from_address)", addresses))) AND record_id <> 0
                """, count: \.replies,
                 anonymise: "record_id = 0, from_address = NULL, subject = NULL, headers = '', text = '', fingerprint = \(erasedID)"),
            Part(table: "bounces", condition: """
                (\(Self.among("message_id", messageIDs)) OR \(Self.among("address", addresses))) AND address NOT LIKE 'erased:%'
                """, count: \.bounces,
                 anonymise: "address = \(erasedID), diagnostic = NULL, raw = NULL, fingerprint = \(erasedID)"),
            Part(table: "tasks", condition: "module_id = \(bind: module.id) AND record_id = \(bind: id)", count: \.tasks),
            Part(table: "calls", condition: "module_id = \(bind: module.id) AND record_id = \(bind: id)", count: \.calls),
            Part(table: "static_list_members", condition: """
                record_id = \(bind: id) AND list_id IN (SELECT id FROM static_lists WHERE module_id = \(bind: module.id))
                """, count: \.listMemberships),
            // A run is kept under a number no record has: minus the id of the person's message
            // of that mass email (one per mass email and record, so the key stays unique).
            Part(table: "trigger_runs", condition: "record_id = \(bind: id) AND mass_email_id IN (\(ofModule))", count: \.triggerRuns,
                 anonymise: """
                    record_id = -COALESCE((SELECT MIN(m.id) FROM mail_messages m
                                           WHERE m.mass_email_id = trigger_runs.mass_email_id AND m.record_id = \(bind: id)), \(bind: id))
                    """),
            Part(table: "suppressions", condition: Self.among("address", addresses), count: \.suppressions),
        ]
    }

    /// The module's mass emails to selected records whose selection names the record, each
    /// with the selection without it.
    func selections(_ db: any SQLDatabase) async throws -> [(Int64, [Int64])] {
        try await db.raw("""
            SELECT id, record_ids FROM mass_emails WHERE module_id = \(bind: module.id) AND recipients_kind = 'records'
            """).all().compactMap { row in
            let ids = (try row.decode(column: "record_ids", as: String?.self) ?? "").split(separator: ",").compactMap { Int64($0) }
            guard ids.contains(id) else { return nil }
            return (try row.decode(column: "id", as: Int64.self), ids.filter { $0 != id })
        }
    }

    /// A message still waiting to be sent (`sending` ones refuse the erasure).
    static let waiting: SQLQueryString = "status IN \(MessageStore.waiting)"

    /// `column IN (values)`, and false for no values (`IN ()` is no SQL).
    static func among(_ column: String, _ values: [some Encodable & Sendable]) -> SQLQueryString {
        values.isEmpty ? "1=0" : "\(unsafeRaw: column) IN (\(binds: values))"
    }
}
