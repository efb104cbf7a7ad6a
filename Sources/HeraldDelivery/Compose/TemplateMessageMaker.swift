import Crypto
import Foundation
import HeraldCore
import HeraldStore
import Mail

/// The ``MessageMaker`` of mass emails: each mass email's template is compiled once (per
/// process), each batch's records are read in one query, and every message gets a
/// Message-ID derived from (mass email, step, recipient), so that a retry is the same message.
public struct TemplateMessageMaker: MessageMaker {
    struct Prepared {
        /// The module with only the fields a message needs (those its templates use, the
        /// owner and the recipient's name): a batch reads and decodes those columns alone.
        var module: Module
        var template: CompiledTemplate
        /// For an A/B test's own messages: each variant's template, and the number its first
        /// tracked link has (the variants' links are numbered on from one another, so that a
        /// click always finds its own variant's address).
        var variants: [(template: CompiledTemplate, firstLink: Int)]
        var sender: Sender
        /// For a follow-up sent as a reply: the mass email's own template, whose subject
        /// (after "Re: ") the reply's is; with an A/B test, each variant's, by variant.
        var originals: [CompiledTemplate]
        /// The fields of lookups' records its templates read (a deal's `contact.first_name`),
        /// and every module, to read them by.
        var lookupFields: [String: Set<String>]
        var modules: [Module]
    }

    /// What is made once and shared by the batches; the rendering itself runs outside it, so
    /// that batches render in parallel.
    actor Cache {
        var prepared: [MassEmailStep: Prepared] = [:]
        var owners: [Int64: MergeValues.Person] = [:]

        func prepared(_ id: MassEmailStep, _ make: () async throws -> Prepared) async throws -> Prepared {
            if let ready = prepared[id] { return ready }
            let ready = try await make()
            prepared[id] = ready
            return ready
        }

        func owners(_ wanted: Set<Int64>, _ load: () async throws -> [Int64: MergeValues.Person]) async throws -> [Int64: MergeValues.Person] {
            if !wanted.isSubset(of: owners.keys) { owners = try await load() }
            return owners
        }
    }

    let store: Store
    let links: EngagementLinks
    let composer = MessageComposer()
    let cache = Cache()
    /// VERP return paths, when a bounce domain is configured.
    let returnPaths: ReturnPathSource?
    /// The DKIM keys messages are signed with.
    let domains: SendingDomains?

    /// - Parameters:
    ///   - links: where each message's tracking and unsubscribe links point.
    ///   - returnPaths: the VERP return paths, when a bounce domain is configured.
    ///   - domains: the sending domains whose keys sign each message (by its From domain).
    public init(store: Store, links: EngagementLinks, returnPaths: ReturnPathSource? = nil, domains: SendingDomains? = nil) {
        self.store = store
        self.links = links
        self.returnPaths = returnPaths
        self.domains = domains
    }

    public func make(_ batch: [ClaimedMessage], of massEmail: MassEmail) async throws -> [Result<OutgoingMessage, HeraldError>] {
        let step = batch.first?.step ?? 0
        precondition(batch.allSatisfy { $0.step == step }, "a batch is one step's messages")
        let prepared = try await prepare(massEmail, step: step)
        var records = try await store.records.find(in: prepared.module, ids: Array(Set(batch.map(\.recordID))), scope: .all)
        if !prepared.lookupFields.isEmpty {
            records = try await store.records.withLookups(records, uses: prepared.lookupFields, module: prepared.module, among: prepared.modules)
        }
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let owners = try await owners(of: records)
        let module = prepared.module
        let sender = prepared.sender
        let nameFields = Self.nameFields(of: module)
        let domain = Self.domain(of: sender)
        let now = Date()
        let verp = try await returnPaths?.current()
        let signers = await domains?.signers(for: sender.email) ?? []
        // A reply to an A/B test's message quotes the subject of the variant its recipient got.
        let variantOf = prepared.originals.count > 1
            ? try await store.messages.variants(massEmail: massEmail.id, addresses: batch.map(\.address)) : [:]
        return batch.map { claimed in
            guard let record = byID[claimed.recordID] else {
                return .failure(HeraldError.notFound("record \(claimed.recordID) was deleted before its message was sent"))
            }
            let ownerID: Int64? = if case .reference(let id)? = record[BuiltinFields.owner] { id } else { nil }
            let (template, firstLink) = claimed.variant.flatMap { prepared.variants.indices.contains($0) ? prepared.variants[$0] : nil }
                ?? (prepared.template, 0)
            let extra = links.mergeValues(message: claimed.id, links: template.trackedLinks.count, firstLink: firstLink)
            let values = MergeValues(record: record, owner: ownerID.flatMap { owners[$0] }, sender: sender, extra: extra)
            var rendered = template.render(values)
            var inReplyTo: [String] = []
            if !prepared.originals.isEmpty {
                let variant = variantOf[claimed.address] ?? 0
                let original = prepared.originals[prepared.originals.indices.contains(variant) ? variant : 0]
                rendered.subject = Self.replySubject(original.renderSubject(values))
                inReplyTo = [messageID(massEmail: massEmail.id, step: 0, address: claimed.address, domain: domain)]
            }
            let name = Self.recipientName(record, fields: nameFields)
            let unsubscribe = links.listUnsubscribe(message: claimed.id, mailDomain: verp?.domain, oneClick: extra[LinkTracking.unsubscribeName])
            do throws(MailError) {
                return .success(try composer.compose(
                    rendered, from: sender, to: claimed.address, recipientName: name.isEmpty ? nil : name,
                    messageID: messageID(massEmail: massEmail.id, step: claimed.step, address: claimed.address, domain: domain),
                    date: now, inReplyTo: inReplyTo,
                    listUnsubscribe: MailMessage.ListUnsubscribe(urls: unsubscribe, oneClick: true),
                    returnPath: verp?.bounceAddress(for: claimed.id), signers: signers))
            } catch {
                return .failure(HeraldError.invalid(field: "message", error.message))
            }
        }
    }

    /// One message as a mass email would send it to `record` (or, without one, with the
    /// template's fallbacks): tracked links, the open pixel, the unsubscribe link and
    /// `List-Unsubscribe`, the VERP return path and the DKIM signature, for checks before
    /// sending. Its tokens name no message (id 0), so nothing it links to is recorded.
    /// - Parameter text: the template's own text part; nil makes it from the HTML.
    public func sample(subject: String, html: String, text: String?, module: Module, record: Record?, owner: MergeValues.Person?,
                       sender: Sender) async throws -> OutgoingMessage {
        let modules = try await store.modules.all()
        let compiled = try CompiledTemplate(subject: subject, html: html, text: text, module: module,
                                            lookups: CompiledTemplate.lookups(of: module, among: modules),
                                            extraNames: MailTemplate.engineNames, tracking: true)
        let extra = links.mergeValues(message: 0, links: compiled.trackedLinks.count)
        let looked = try await store.records.withLookups(record.map { [$0] } ?? [], uses: compiled.lookupFields, module: module, among: modules).first
        let values = looked.map { MergeValues(record: $0, owner: owner, sender: sender, extra: extra) }
            ?? MergeValues(sender: sender, extra: extra)
        let address = record.flatMap { r in module.emailField.flatMap { r[$0.apiName]?.text } }.flatMap { $0.isEmpty ? nil : $0 }
            ?? "recipient@example.org"
        let name = record.map { Self.recipientName($0, fields: Self.nameFields(of: module)) } ?? ""
        let verp = try await returnPaths?.current()
        let unsubscribe = links.listUnsubscribe(message: 0, mailDomain: verp?.domain, oneClick: extra[LinkTracking.unsubscribeName])
        do throws(MailError) {
            return try composer.compose(
                compiled.render(values), from: sender, to: address, recipientName: name.isEmpty ? nil : name,
                messageID: messageID(massEmail: 0, step: 0, address: address, domain: Self.domain(of: sender)), date: Date(),
                listUnsubscribe: MailMessage.ListUnsubscribe(urls: unsubscribe, oneClick: true),
                returnPath: verp?.bounceAddress(for: 0), signers: await domains?.signers(for: sender.email) ?? [])
        } catch {
            throw HeraldError.invalid(field: "message", error.message)
        }
    }

    /// The message's ``HeraldMessageID``, at the sender's domain (``domain(of:)``).
    func messageID(massEmail: Int64, step: Int, address: String, domain: String) -> String {
        HeraldMessageID.make(massEmail: massEmail, step: step, address: address, domain: domain, signer: links.signer)
    }

    /// The domain of the sender's address, which its messages' ids end with.
    static func domain(of sender: Sender) -> String {
        sender.email.split(separator: "@").last.map(String.init) ?? "herald.invalid"
    }

    /// The fields of the recipient's name in the To header.
    static let nameFields = ["first_name", "last_name"]

    /// The API names of those of ``nameFields`` that `module` has.
    static func nameFields(of module: Module) -> [String] {
        nameFields.compactMap { module.field($0)?.apiName }
    }

    /// The recipient's name for the To header: the name fields' values that are not empty,
    /// a space between.
    static func recipientName(_ record: Record, fields: [String]) -> String {
        var name = ""
        for field in fields {
            guard let value = record[field]?.text, !value.isEmpty else { continue }
            if !name.isEmpty { name += " " }
            name += value
        }
        return name
    }

    /// "Re: " and the original subject, once: a subject that already reads "Re: …" keeps it.
    static func replySubject(_ subject: String) -> String {
        subject.lowercased().hasPrefix("re:") ? subject : "Re: \(subject)"
    }

    private func prepare(_ massEmail: MassEmail, step: Int) async throws -> Prepared {
        try await cache.prepared(MassEmailStep(massEmailID: massEmail.id, step: step)) {
            let module = try await store.modules.named(massEmail.module)
            let modules = try await store.modules.all()
            let lookups = CompiledTemplate.lookups(of: module, among: modules)
            guard step <= massEmail.followUps.count else {
                throw HeraldError.notFound("mass email \(massEmail.id) has no follow-up \(step)")
            }
            let followUp = step > 0 ? massEmail.followUps[step - 1] : nil
            let compiled = try await compile(followUp?.templateID ?? massEmail.templateID, module: module, lookups: lookups, tracking: true)
            // Stored before the first message goes out, so that every click has somewhere to go;
            // an A/B test's messages all have a variant, whose links are stored below instead.
            let testing = step == 0 && massEmail.abTest != nil
            if !testing { try await store.engagement.saveLinks(compiled.trackedLinks, massEmail: massEmail.id, step: step) }
            var variants: [(template: CompiledTemplate, firstLink: Int)] = []
            if step == 0, let test = massEmail.abTest {
                var firstLink = 0
                for variant in test.variants {
                    let template = try await compile(variant, of: massEmail, module: module, lookups: lookups, tracking: true)
                    try await store.engagement.saveLinks(template.trackedLinks, massEmail: massEmail.id, step: 0, firstLink: firstLink)
                    variants.append((template, firstLink))
                    firstLink += template.trackedLinks.count
                }
            }
            var originals: [CompiledTemplate] = []
            if followUp?.threaded == true {
                if let test = massEmail.abTest {
                    for variant in test.variants { originals.append(try await compile(variant, of: massEmail, module: module, lookups: lookups, tracking: false)) }
                } else {
                    originals = [try await compile(massEmail.templateID, module: module, lookups: lookups, tracking: false)]
                }
            }
            var needed = compiled.fieldNames
            var lookupFields = compiled.lookupFields
            for template in variants.map(\.template) + originals {
                needed.formUnion(template.fieldNames)
                lookupFields.merge(template.lookupFields) { $0.union($1) }
            }
            needed.formUnion([BuiltinFields.owner] + Self.nameFields)
            var narrowed = module
            narrowed.fields = module.fields.filter { needed.contains($0.apiName) }
            return Prepared(module: narrowed, template: compiled, variants: variants, sender: try await store.senders.find(massEmail.senderID),
                            originals: originals, lookupFields: lookupFields, modules: modules)
        }
    }

    /// An A/B test's variant: its template (or the mass email's) with its subject (or the template's).
    private func compile(_ variant: ABTest.Variant, of massEmail: MassEmail, module: Module, lookups: [String: Module],
                         tracking: Bool) async throws -> CompiledTemplate {
        try await compile(variant.templateID ?? massEmail.templateID, subject: variant.subject, module: module, lookups: lookups, tracking: tracking)
    }

    /// Compiles a saved template, with `subject` instead of its own (an A/B test's variant).
    private func compile(_ templateID: Int64, subject: String? = nil, module: Module, lookups: [String: Module],
                         tracking: Bool) async throws -> CompiledTemplate {
        var template = try await store.templates.find(templateID)
        if let subject { template.subject = subject }
        do {
            return try CompiledTemplate(template, module: module, lookups: lookups, extraNames: MailTemplate.engineNames, tracking: tracking)
        } catch let error as HeraldError {
            throw HeraldError.invalid(field: "template_id", "the template '\(template.name)' no longer compiles: \(error.problems.map(\.description).joined(separator: "; "))")
        }
    }

    private func owners(of records: [Record]) async throws -> [Int64: MergeValues.Person] {
        let wanted = Set(records.compactMap { record -> Int64? in
            if case .reference(let id)? = record[BuiltinFields.owner] { return id } else { return nil }
        })
        return try await cache.owners(wanted) {
            Dictionary(try await store.users.all().map { ($0.id, MergeValues.Person(name: $0.name, email: $0.email)) },
                       uniquingKeysWith: { a, _ in a })
        }
    }
}
