import Foundation
import HeraldCore
import HeraldStore
import Mail

/// The spam check before sending: a template rendered for one record exactly as a mass email
/// would send it (``TemplateMessageMaker/sample(subject:html:text:module:record:owner:sender:)``)
/// and scored by SpamAssassin's `spamd`, against the organisation's threshold.
///
/// Herald runs without SpamAssassin: a check then fails with a 502 that says how to enable it,
/// and only an organisation that refuses mass email over the threshold is held up by that
/// (a check that cannot be made refuses rather than lets through).
public struct SpamCheck: Sendable {
    /// A score and where it stands.
    public struct Outcome: Sendable {
        public var report: SpamReport
        /// The organisation's threshold when the check was made.
        public var threshold: Double
        /// At or over the threshold, as SpamAssassin counts its `required_score`; the score
        /// compared is the one spamd reports, to one decimal (a 4.96 reads as 5.0).
        public var isOverThreshold: Bool { report.score >= threshold }
        /// Whether the organisation refuses mass email over the threshold.
        public var refusesOverThreshold: Bool
    }

    public let client: SpamAssassinClient
    let store: Store
    let maker: TemplateMessageMaker
    /// Checks this process runs at once; spamd has a few children (Debian starts 5), each
    /// held for up to the client's timeout.
    let concurrentChecks: Int
    /// How long a check waits for a turn before it is refused as busy.
    let waitForTurn: Duration
    private let turns: TurnGate

    public init(client: SpamAssassinClient, store: Store, maker: TemplateMessageMaker, concurrentChecks: Int = 2,
                waitForTurn: Duration = .seconds(20)) {
        self.client = client
        self.store = store
        self.maker = maker
        self.concurrentChecks = concurrentChecks
        self.waitForTurn = waitForTurn
        self.turns = TurnGate(limit: concurrentChecks)
    }

    /// Checks the template content for `record` (nil: fallbacks) from `sender`.
    /// - Throws: ``HeraldError`` `.invalid` when the template does not compile, `.upstream`
    ///   when SpamAssassin cannot be asked (saying how to enable it), `.tooManyRequests` when
    ///   ``concurrentChecks`` others are running and none ends within ``waitForTurn``.
    public func check(subject: String, html: String, text: String?, module: Module, record: Record?,
                      sender: Sender) async throws -> Outcome {
        let owner = try await owner(of: record)
        let message = try await maker.sample(subject: subject, html: html, text: text, module: module, record: record,
                                             owner: owner, sender: sender)
        guard await turns.enter(waitingUpTo: waitForTurn) else {
            throw HeraldError.tooManyRequests("SpamAssassin is busy with \(concurrentChecks) other checks from this server; "
                                              + "try again in a few seconds", retryAfter: 5)
        }
        let report: SpamReport
        do throws(MailError) {
            report = try await client.report(message.message)
        } catch {
            await turns.leave()
            throw HeraldError.upstream("SpamAssassin could not check the message: \(error.message)" + (error.hint.map { ". \($0)" } ?? ""))
        }
        await turns.leave()
        return Outcome(report: report, threshold: try await store.settings.spamThreshold(),
                       refusesOverThreshold: try await store.settings.refuseOverSpamThreshold())
    }

    /// The record a mass email's message is checked with: the first of `recordIDs` (its
    /// chosen records) that `scope` sees, else the first record `scope` sees in `module`; nil
    /// (fallbacks) when there is none. The form's button and the refusal use this one choice.
    public func sampleRecord(in module: Module, recordIDs: [Int64], scope: AccessScope) async throws -> Record? {
        if let first = recordIDs.first, let record = try await store.records.find(in: module, id: first, scope: scope) {
            return record
        }
        return try await store.records.list(in: module, RecordQuery(limit: 1), scope: scope).records.first
    }

    /// When the organisation refuses mass email over its spam threshold, checks each message
    /// of a mass email about to be sent or scheduled (its template, its follow-ups', each A/B
    /// variant's with its own subject) as it would be sent, for
    /// ``sampleRecord(in:recordIDs:scope:)``, and refuses (422 on the ``Content/field`` of the
    /// message) a score at or over the threshold, or a check that cannot be made.
    ///
    /// It runs when the mass email is saved to be sent now or scheduled; one already
    /// scheduled, sending or paused when the setting is turned on keeps going.
    public func requireUnderThreshold(_ contents: [Content], sender: Sender, module: Module,
                                      recordIDs: [Int64], scope: AccessScope) async throws {
        guard try await store.settings.refuseOverSpamThreshold() else { return }
        let record = try await sampleRecord(in: module, recordIDs: recordIDs, scope: scope)
        var seen: Set<Content.Key> = []
        for content in contents where seen.insert(content.key).inserted {
            let field = content.field
            // A template that is not there, or of another module, is refused where the mass
            // email is stored, with its own words.
            guard let template = try? await store.templates.find(content.templateID), template.module == module.apiName else { continue }
            let outcome: Outcome
            do {
                outcome = try await check(subject: content.subject ?? template.subject, html: template.html,
                                          text: template.hasOwnText ? template.text : nil, module: module, record: record, sender: sender)
            } catch let error as HeraldError where [.upstream, .tooManyRequests].contains(error.kind) {
                throw HeraldError.invalid(field: field, "the organisation refuses mass email over its spam threshold, and the "
                                          + "message could not be checked: \(error.message)")
            }
            guard outcome.isOverThreshold else { continue }
            let rules = outcome.report.rules.filter { $0.score > 0 }.prefix(3).map { "\($0.name) \(Self.points($0.score))" }
            let what = content.subject.map { "'\(template.name)' with the subject '\($0.prefix(80))'" } ?? "'\(template.name)'"
            throw HeraldError.invalid(field: field, "\(what) scores \(Self.points(outcome.report.score)) in "
                                      + "SpamAssassin, at or over the organisation's threshold of \(Self.threshold(outcome.threshold))"
                                      + (rules.isEmpty ? "" : " (\(rules.joined(separator: ", ")))")
                                      + "; run “Check for spam” on the template to see every rule")
        }
    }

    /// One message a mass email will send, to be held to the threshold: a template, with an
    /// A/B variant's own subject when it has one, and the field a refusal names.
    public struct Content: Sendable {
        public var field: String
        public var templateID: Int64
        public var subject: String?

        public init(field: String, templateID: Int64, subject: String? = nil) {
            self.field = field
            self.templateID = templateID
            self.subject = subject
        }

        /// The same template with the same subject is checked once.
        struct Key: Hashable {
            var templateID: Int64
            var subject: String?
        }

        var key: Key { Key(templateID: templateID, subject: subject) }
    }

    /// A score as SpamAssassin writes it: one decimal.
    public static func points(_ score: Double) -> String {
        String(format: "%.1f", score)
    }

    /// A threshold as it was set: 4.25 stays 4.25 (one decimal would save 4.2 back), 5 is 5.0.
    public static func threshold(_ value: Double) -> String {
        String(value)
    }

    private func owner(of record: Record?) async throws -> MergeValues.Person? {
        guard case .reference(let id)? = record?[BuiltinFields.owner], let user = try await store.users.find(id) else { return nil }
        return MergeValues.Person(name: user.name, email: user.email)
    }
}
