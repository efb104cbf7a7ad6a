import Crypto
import Foundation
import HeraldCore
import HeraldStore
import Mail

/// The ``MessageMaker`` of mass emails: each mass email's template is compiled once (per
/// process), each batch's records are read in one query, and every message gets a
/// Message-ID derived from (mass email, step, recipient), so that a retry is the same message.
public actor TemplateMessageMaker: MessageMaker {
    struct Prepared {
        var module: Module
        var template: CompiledTemplate
        var sender: Sender
    }

    let store: Store
    let composer = MessageComposer()
    private var prepared: [Int64: Prepared] = [:]
    private var owners: [Int64: MergeValues.Person] = [:]

    public init(store: Store) {
        self.store = store
    }

    public func make(_ batch: [ClaimedMessage], of massEmail: MassEmail) async throws -> [Result<OutgoingMessage, HeraldError>] {
        let prepared = try await prepare(massEmail)
        let records = try await store.records.find(in: prepared.module, ids: Array(Set(batch.map(\.recordID))), scope: .all)
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let owners = try await owners(of: records)
        let module = prepared.module
        let sender = prepared.sender
        let nameFields = ["first_name", "last_name"].compactMap { module.field($0) }
        let now = Date()
        return batch.map { claimed in
            guard let record = byID[claimed.recordID] else {
                return .failure(HeraldError.notFound("record \(claimed.recordID) was deleted before its message was sent"))
            }
            let ownerID: Int64? = if case .reference(let id)? = record[BuiltinFields.owner] { id } else { nil }
            let values = MergeValues(record: record, module: module, owner: ownerID.flatMap { owners[$0] }, sender: sender)
            let rendered = prepared.template.render(values)
            let name = nameFields.compactMap { record[$0.apiName]?.text }.filter { !$0.isEmpty }.joined(separator: " ")
            do throws(MailError) {
                return .success(try composer.compose(
                    rendered, from: sender, to: claimed.address, recipientName: name.isEmpty ? nil : name,
                    messageID: Self.messageID(massEmail: massEmail.id, step: claimed.step, address: claimed.address, sender: sender),
                    date: now))
            } catch {
                return .failure(HeraldError.invalid(field: "message", error.message))
            }
        }
    }

    /// `<mass email>.<step>.<hash of the address>@<sender's domain>`: stable, so that the
    /// same recipient's message is recognisably the same however often it is built.
    public static func messageID(massEmail: Int64, step: Int, address: String, sender: Sender) -> String {
        let digest = SHA256.hash(data: Data(address.lowercased().utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        let domain = sender.email.split(separator: "@").last.map(String.init) ?? "herald.invalid"
        return "herald.\(massEmail).\(step).\(digest)@\(domain)"
    }

    private func prepare(_ massEmail: MassEmail) async throws -> Prepared {
        if let ready = prepared[massEmail.id] { return ready }
        let module = try await store.modules.named(massEmail.module)
        let template = try await store.templates.find(massEmail.templateID)
        let compiled: CompiledTemplate
        do {
            compiled = try CompiledTemplate(template, module: module)
        } catch let error as HeraldError {
            throw HeraldError.invalid(field: "template_id", "the template '\(template.name)' no longer compiles: \(error.problems.map(\.description).joined(separator: "; "))")
        }
        let ready = Prepared(module: module, template: compiled, sender: try await store.senders.find(massEmail.senderID))
        prepared[massEmail.id] = ready
        return ready
    }

    private func owners(of records: [Record]) async throws -> [Int64: MergeValues.Person] {
        let wanted = Set(records.compactMap { record -> Int64? in
            if case .reference(let id)? = record[BuiltinFields.owner] { return id } else { return nil }
        })
        if !wanted.isSubset(of: owners.keys) {
            for user in try await store.users.all() { owners[user.id] = MergeValues.Person(name: user.name, email: user.email) }
        }
        return owners
    }
}
