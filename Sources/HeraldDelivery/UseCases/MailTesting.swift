import Foundation
import HeraldCore
import HeraldStore
import Mail

/// Template previews, spam checks and test sends, for the API and the pages alike: what a
/// person may preview with (records they may see), and what a test send is held to (the
/// suppression list, the daily quota, a per-user limit, no password in any answer).
public struct MailTesting: Sendable {
    let store: Store
    let delivery: Delivery

    public init(store: Store, delivery: Delivery) {
        self.store = store
        self.delivery = delivery
    }

    /// Compiles unsaved or saved content and renders it for a record (nil: no record, so
    /// fallbacks and inverted sections show) and a sender (nil: the first one, if any).
    public func preview(subject: String, html: String, text: String?, module: Module, recordID: Int64?, senderID: Int64?,
                 user: User) async throws -> RenderedMail {
        let compiled = try CompiledTemplate(subject: subject, html: html, text: text, module: module,
                                            lookups: CompiledTemplate.lookups(of: module, among: try await store.modules.all()),
                                            extraNames: MailTemplate.engineNames)
        let sender = try await self.sender(senderID, required: false)
        return compiled.render(try await values(module: module, recordID: recordID, sender: sender, user: user,
                                                lookups: compiled.lookupFields))
    }

    /// The sender with `id`; without an id, the first sender (or, when `required`, a 422).
    public func sender(_ id: Int64?, required: Bool) async throws -> Sender? {
        if let id {
            do {
                return try await store.senders.find(id)
            } catch let error as HeraldError where error.kind == .notFound {
                throw HeraldError.invalid(field: "sender_id", "no sender \(id)")
            }
        }
        let first = try await store.senders.all().first
        if first == nil, required {
            throw HeraldError.invalid(field: "sender_id", "is required; an admin adds sender addresses under Senders")
        }
        return first
    }

    /// What a template renders with for record `recordID`, as `user` may see it, with the
    /// values of its lookups' records that `lookups` names (``CompiledTemplate/lookupFields``).
    public func values(module: Module, recordID: Int64?, sender: Sender?, user: User,
                       lookups: [String: Set<String>] = [:]) async throws -> MergeValues {
        // The engine's own names show as placeholders: their values exist only when sending.
        let extra = Dictionary(uniqueKeysWithValues: MailTemplate.engineNames.map { ($0, "[\($0)]") })
        guard let recordID else { return MergeValues(sender: sender, extra: extra) }
        guard let found = try await store.records.find(in: module, id: recordID, scope: user.scope) else {
            throw HeraldError.invalid(field: "record_id", "no record \(recordID) in \(module.pluralLabel)")
        }
        let record = lookups.isEmpty ? found
            : try await store.records.withLookups([found], uses: lookups, module: module, among: try await store.modules.all()).first ?? found
        var owner: User?
        if let ownerID = record.ownerID { owner = try await store.users.find(ownerID) }
        return MergeValues(record: record, owner: owner.map { .init(name: $0.name, email: $0.email) },
                           sender: sender, extra: extra)
    }

    /// Scores the content with SpamAssassin as a mass email would send it to record `recordID`
    /// (nil: no record, fallbacks) from sender `senderID` (nil: the first; a 422 when there is
    /// none). A 502 says how to enable SpamAssassin when it cannot be reached.
    public func spamCheck(subject: String, html: String, text: String?, module: Module, recordID: Int64?, senderID: Int64?,
                   user: User) async throws -> SpamCheck.Outcome {
        let sender = try await self.sender(senderID, required: true)!
        var record: Record?
        if let recordID {
            record = try await store.records.find(in: module, id: recordID, scope: user.scope)
            if record == nil { throw HeraldError.invalid(field: "record_id", "no record \(recordID) in \(module.pluralLabel)") }
        }
        return try await delivery.spam.check(subject: subject, html: html, text: text, module: module, record: record, sender: sender)
    }

    /// A few records to preview with, for the editor's drop-down.
    public func sampleRecords(in module: Module, user: User, limit: Int = 10) async throws -> [(id: Int64, title: String)] {
        try await store.records.list(in: module, RecordQuery(limit: limit), scope: user.scope).records
            .map { ($0.id, $0.title(in: module)) }
    }

    /// Sends one message, for `user`, through the configured transport and reports each
    /// recipient's fate.
    ///
    /// A test goes to any address typed, so it is held to what a mass email is: never to a
    /// suppressed address (422 on `to`), within the daily quota (it counts toward it; 429 when
    /// used up), and at most ``TestSendStore/limit`` a user (429 with Retry-After); each is
    /// recorded. A transport that cannot be reached or refuses the whole transaction is a 502
    /// whose message names the cause, never the password.
    public func send(_ rendered: RenderedMail, from sender: Sender, to address: String, by user: User) async throws -> JSONValue {
        let to = address.trimmedWhitespace
        guard EmailAddress.isValid(to) else {
            throw HeraldError.invalid(field: "to", to.isEmpty ? "is required" : "'\(to)' is not a valid email address")
        }
        if try await !store.suppressions.suppressed(among: [EmailAddress.normalized(to)]).isEmpty {
            throw HeraldError.invalid(field: "to", "\(to) is on the suppression list; Herald sends it nothing, tests neither")
        }
        let (url, origin) = try await configuredTransport()
        try await store.testSends.take(user: user.id, address: to)
        try await takeFromQuota()
        let message: OutgoingMessage
        do {
            message = try MessageComposer().compose(rendered, from: sender, to: to, signers: await delivery.domains.signers(for: sender.email))
        } catch {
            throw HeraldError.invalid(field: "to", error.message)
        }
        let result: DeliveryResult
        do {
            let transport = try await delivery.transports.transport()
            result = try await transport.send(message.envelope, message: message.message)
        } catch let error as MailError {
            let secrets = await secrets()
            throw HeraldError.upstream(MailTesting.scrub("could not send through \(url): \(error.messageWithReply)"
                                                         + (error.hint.map { ". " + $0 } ?? ""), secrets: secrets))
        }
        let secrets = await secrets()
        return .object([
            "transport": .string(url.description), "origin": .string(origin.rawValue),
            "accepted": .bool(result.allAccepted),
            "recipients": .array(result.recipients.map { r in
                .object([
                    "recipient": .string(r.recipient),
                    "status": .string(MailTesting.statusName(r.status)),
                    "code": r.code.map { .number(Double($0)) } ?? .null,
                    "reply": .string(MailTesting.scrub(r.reply.map { "\($0)" } ?? r.text, secrets: secrets)),
                ])
            }),
        ])
    }

    /// One message from today's quota, if the organisation has one; 429 until midnight (in
    /// its time zone) when it is used up.
    private func takeFromQuota() async throws {
        guard let limit = try await store.settings.dailyQuota() else { return }
        let day = try await store.settings.today()
        guard try await store.quota.reserve(1, day: day, limit: limit) == 0 else { return }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try await store.settings.timeZone()
        let now = Date()
        let midnight = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: now)) ?? now.addingTimeInterval(3600)
        throw HeraldError.tooManyRequests("today's sending quota of \(limit) messages is used up, and test sends count toward it",
                                          retryAfter: Int64(midnight.timeIntervalSince(now).rounded(.up)))
    }

    /// The transport in use, its URL redacted; a saved URL that no longer parses is a 502.
    public func configuredTransport() async throws -> (url: TransportURL, origin: TransportSource.Origin) {
        do {
            return try await delivery.transports.configured()
        } catch let error as MailError {
            throw HeraldError.upstream("the mail transport is not usable: \(error.message)")
        }
    }

    /// The passwords of the URLs Herald may send with, to scrub from any text shown.
    private func secrets() async -> [String] {
        let saved = try? await store.settings.value(TransportSource.settingsKey)
        return [delivery.transports.override, saved ?? nil].compactMap { text -> String? in
            guard let text, let password = URLComponents(string: text)?.password, !password.isEmpty else { return nil }
            return password
        }.flatMap { [$0, $0.removingPercentEncoding ?? $0] }
    }

    /// Words for a recipient's fate, as `herald send-test` prints them.
    public static func statusName(_ status: RecipientResult.Status) -> String {
        switch status {
        case .accepted: "accepted"
        case .transientFailure: "deferred"
        case .permanentFailure: "refused"
        }
    }

    public static func scrub(_ text: String, secrets: [String]) -> String {
        secrets.filter { $0.count >= 3 }.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }
}
