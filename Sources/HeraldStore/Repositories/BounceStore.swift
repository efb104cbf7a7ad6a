import Foundation
import HeraldCore
import SQLKit

/// The message a bounce or a reply is about: enough to name the recipient in an
/// ``EngagementEvent``.
public struct SentMessage: Sendable, Hashable {
    public var id: Int64
    public var massEmailID: Int64
    public var step: Int
    public var recordID: Int64
    public var address: String
    public var status: MessageStatus
}

/// When repeated soft bounces suppress an address: `count` of them within `days` days.
public struct SoftBounceThreshold: Sendable, Hashable {
    public var count: Int
    public var days: Int

    public init(count: Int, days: Int) {
        self.count = count
        self.days = days
    }

    public static let standard = SoftBounceThreshold(count: 3, days: 7)
}

/// Bounces and complaints, from every source, and what they do (the suppression reasons are
/// `hard_bounce`, as the engine writes at send time, `soft_bounces` and `complaint`): a hard
/// bounce or a refusal marks its message bounced; the address is suppressed as the report's
/// ``Bounce/Suppression`` says (at once, at the ``SoftBounceThreshold``, never), and always
/// for a complaint. The suppression's detail starts with the bounce's reason.
public struct BounceStore: Sendable {
    let database: any HeraldDatabase

    /// A bounce to record, before it has an id.
    public struct Report: Sendable, Hashable {
        public var messageID: Int64?
        public var address: String
        public var kind: Bounce.Kind
        public var status: String?
        public var action: String?
        public var diagnostic: String?
        /// See ``Bounce/reason``.
        public var reason: String?
        /// What the report does to the address (a complaint always suppresses).
        public var suppression: Bounce.Suppression
        public var source: String
        /// The report as received, kept to be viewed.
        public var raw: String?
        /// The same report received again has the same fingerprint, and is recorded once.
        public var fingerprint: String
        public var receivedAt: Int64

        public init(messageID: Int64?, address: String, kind: Bounce.Kind, status: String? = nil, action: String? = nil,
                    diagnostic: String? = nil, reason: String? = nil, suppression: Bounce.Suppression? = nil, source: String,
                    raw: String? = nil, fingerprint: String, receivedAt: Int64) {
            self.messageID = messageID
            self.address = address
            self.kind = kind
            self.status = status
            self.action = action
            self.diagnostic = diagnostic
            self.reason = reason
            self.suppression = suppression ?? {
                switch kind {
                case .hard, .complaint: .now
                case .soft: .atThreshold
                case .refused, .delivery: .never
                }
            }()
            self.source = source
            self.raw = raw
            self.fingerprint = fingerprint
            self.receivedAt = receivedAt
        }
    }

    /// What recording did.
    public struct Recorded: Sendable, Hashable {
        public var bounce: Bounce
        public var message: SentMessage?
        /// Whether this bounce put the address on the suppression list.
        public var suppressed: Bool
    }

    /// Records `report` and applies it, in one transaction; nil when a report with the same
    /// fingerprint was recorded before, or when it names an erased person's message (nothing
    /// changes then).
    ///
    /// When the message is known, its address is the one bounced (the report's may be an
    /// alias the mail was forwarded to).
    public func record(_ report: Report, softThreshold: SoftBounceThreshold = .standard) async throws -> Recorded? {
        try await database.transaction { db in
            // A report about an erased person's message is not kept: it would bring their
            // address back (see ErasureStore).
            if let id = report.messageID,
               try await db.raw("SELECT id FROM mail_messages WHERE id = \(bind: id) AND erased_at IS NOT NULL").first() != nil {
                return nil
            }
            let message: SentMessage? = if let id = report.messageID { try await Self.message(id, in: db) } else { nil }
            let address = (message?.address ?? report.address).lowercased()
            guard let row = try await db.raw("""
                INSERT INTO bounces (message_id, mass_email_id, address, kind, status, action, diagnostic, reason, source, fingerprint, raw, received_at)
                VALUES (\(bind: message?.id), \(bind: message?.massEmailID), \(bind: address), \(bind: report.kind.rawValue),
                        \(bind: report.status.map { String($0.prefix(20)) }), \(bind: report.action.map { String($0.prefix(40)) }),
                        \(bind: report.diagnostic.map { String($0.prefix(1000)) }), \(bind: report.reason.map { String($0.prefix(40)) }),
                        \(bind: report.source), \(bind: report.fingerprint),
                        \(bind: report.raw), \(bind: report.receivedAt))
                ON CONFLICT (fingerprint) DO NOTHING
                RETURNING id
                """).first() else { return nil }
            let bounce = Bounce(id: try row.decode(column: "id", as: Int64.self), messageID: message?.id, massEmailID: message?.massEmailID,
                                address: address, kind: report.kind, status: report.status, action: report.action,
                                diagnostic: report.diagnostic, reason: report.reason, source: report.source, receivedAt: report.receivedAt)
            if let message, report.kind == .hard || report.kind == .refused {
                // Only a sent message becomes bounced: one still queued or already failed keeps its state.
                try await db.raw("UPDATE mail_messages SET status = 'bounced' WHERE id = \(bind: message.id) AND status = 'sent'").run()
            }
            var suppressed = false
            let detail = Bounce.suppressionDetail(reason: report.reason, source: report.source,
                                                  text: [report.status, report.diagnostic].compactMap { $0 }.joined(separator: " "))
            switch (report.kind, report.suppression) {
            case (.delivery, _), (_, .never):
                break
            case (.complaint, _):
                try await SuppressionStore.add(address, reason: "complaint", detail: detail, now: report.receivedAt, in: db)
                suppressed = true
            case (_, .now):
                try await SuppressionStore.add(address, reason: "hard_bounce", detail: detail, now: report.receivedAt, in: db)
                suppressed = true
            case (_, .atThreshold):
                // Hard bounces that say nothing about the address count too: several of them
                // for one address do.
                let since = report.receivedAt - Int64(softThreshold.days) * 86_400
                let count = try await db.raw("""
                    SELECT COUNT(*) AS n FROM bounces WHERE address = \(bind: address) AND kind IN ('soft', 'hard') AND received_at > \(bind: since)
                    """).first()!.decode(column: "n", as: Int.self)
                if softThreshold.count > 0, count >= softThreshold.count {
                    try await SuppressionStore.add(address, reason: "soft_bounces",
                                                   detail: "\(count) soft bounces within \(softThreshold.days) days; last: \(detail)",
                                                   now: report.receivedAt, in: db)
                    suppressed = true
                }
            }
            return Recorded(bounce: bounce, message: message, suppressed: suppressed)
        }
    }

    /// The message `id`, nil when there is no such row.
    public func message(_ id: Int64) async throws -> SentMessage? {
        try await database.read { db in try await Self.message(id, in: db) }
    }

    /// The message of mass email `massEmail`, step `step`, to `address`.
    public func message(massEmail: Int64, step: Int, address: String) async throws -> SentMessage? {
        try await database.read { db in
            try await db.raw("""
                SELECT id, mass_email_id, step, record_id, address, status FROM mail_messages
                WHERE mass_email_id = \(bind: massEmail) AND step = \(bind: step) AND address = \(bind: address.lowercased())
                    AND erased_at IS NULL
                """).first().map(Self.sentMessage)
        }
    }

    /// The message last sent to `address`: where a provider's event that names no message of
    /// ours belongs.
    public func latestMessage(to address: String) async throws -> SentMessage? {
        try await database.read { db in
            try await db.raw("""
                SELECT id, mass_email_id, step, record_id, address, status FROM mail_messages
                WHERE address = \(bind: address.lowercased()) AND sent_at IS NOT NULL ORDER BY sent_at DESC, id DESC LIMIT 1
                """).first().map(Self.sentMessage)
        }
    }

    /// Addresses of a mass email's step in id order after `after`: for matching a Message-ID
    /// that names the address only by its hash.
    public func addresses(massEmail: Int64, step: Int, after: Int64, limit: Int) async throws -> [(id: Int64, address: String)] {
        try await database.read { db in
            try await db.raw("""
                SELECT id, address FROM mail_messages WHERE mass_email_id = \(bind: massEmail) AND step = \(bind: step) AND id > \(bind: after)
                ORDER BY id LIMIT \(literal: limit)
                """).all().map { (try $0.decode(column: "id", as: Int64.self), try $0.decode(column: "address", as: String.self)) }
        }
    }

    /// A mass email's bounces, newest first, before `before` (an id).
    public func list(massEmail: Int64, before: Int64 = .max, limit: Int = 100) async throws -> [Bounce] {
        try await database.read { db in
            try await db.raw("""
                SELECT id, message_id, mass_email_id, address, kind, status, action, diagnostic, reason, source, received_at FROM bounces
                WHERE mass_email_id = \(bind: massEmail) AND id < \(bind: before) ORDER BY id DESC LIMIT \(literal: limit)
                """).all().map(Self.bounce)
        }
    }

    /// One bounce and the report it came from, as received.
    public func find(_ id: Int64) async throws -> (bounce: Bounce, raw: String?)? {
        try await database.read { db in
            guard let row = try await db.raw("""
                SELECT id, message_id, mass_email_id, address, kind, status, action, diagnostic, reason, source, received_at, raw FROM bounces
                WHERE id = \(bind: id)
                """).first() else { return nil }
            return (try Self.bounce(row), try row.decode(column: "raw", as: String?.self))
        }
    }

    static func message(_ id: Int64, in db: any SQLDatabase) async throws -> SentMessage? {
        try await db.raw("""
            SELECT id, mass_email_id, step, record_id, address, status FROM mail_messages WHERE id = \(bind: id) AND erased_at IS NULL
            """).first().map(sentMessage)
    }

    static func sentMessage(_ row: any SQLRow) throws -> SentMessage {
        SentMessage(id: try row.decode(column: "id", as: Int64.self), massEmailID: try row.decode(column: "mass_email_id", as: Int64.self),
                    step: try row.decode(column: "step", as: Int.self), recordID: try row.decode(column: "record_id", as: Int64.self),
                    address: try row.decode(column: "address", as: String.self),
                    status: MessageStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed)
    }

    static func bounce(_ row: any SQLRow) throws -> Bounce {
        Bounce(id: try row.decode(column: "id", as: Int64.self), messageID: try row.decode(column: "message_id", as: Int64?.self),
               massEmailID: try row.decode(column: "mass_email_id", as: Int64?.self),
               address: try row.decode(column: "address", as: String.self),
               kind: Bounce.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .hard,
               status: try row.decode(column: "status", as: String?.self), action: try row.decode(column: "action", as: String?.self),
               diagnostic: try row.decode(column: "diagnostic", as: String?.self), reason: try row.decode(column: "reason", as: String?.self),
               source: try row.decode(column: "source", as: String.self),
               receivedAt: try row.decode(column: "received_at", as: Int64.self))
    }
}
