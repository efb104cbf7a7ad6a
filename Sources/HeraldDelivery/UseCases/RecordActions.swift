import Foundation
import HeraldCore
import HeraldStore

/// Records' changes, for the record form, the list's selection and the API alike: who may
/// see and change a record (its owner or an admin; to anyone else it does not exist), that
/// users own what they create and only admins give a record to someone else, and what a
/// record's values must be (checked by ``RecordChanges`` before this is called, every
/// problem at once).
public struct RecordActions: Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    /// The record `id` of `module`, if `user` may see it (404 otherwise, as for one that does not exist).
    public func find(_ id: Int64, in module: Module, for user: User) async throws -> Record {
        guard let record = try await store.records.find(in: module, id: id, scope: user.scope) else {
            throw Self.notFound(id, in: module)
        }
        return record
    }

    /// What mass email did with a record: the messages it was sent (of the mass emails `user`
    /// may see), and its addresses on the suppression list. Its addresses are its own email
    /// fields', or, for a module mailed through a lookup (deals), the looked-up record's.
    public func mailHistory(of record: Record, in module: Module, for user: User) async throws -> (messages: [RecordMessage], suppressed: [Suppression]) {
        var addresses = Set<String>()
        switch RecipientAddressSource.of(module, among: try await store.modules.all()) {
        case .own?:
            for field in module.fields where field.type == .email {
                if let text = record[field.apiName]?.text, !text.isEmpty { addresses.insert(EmailAddress.normalized(text)) }
            }
        case .lookup(let field, let target, let email, _)?:
            if case .reference(let id)? = record[field.apiName], let looked = try await store.records.find(in: target, id: id, scope: .all),
               let text = looked[email.apiName]?.text, !text.isEmpty {
                addresses.insert(EmailAddress.normalized(text))
            }
        case nil:
            return ([], [])
        }
        let sorted = addresses.sorted()
        return (try await store.messages.history(of: record.id, module: module, addresses: sorted, owner: user.isAdmin ? nil : user.id),
                try await store.suppressions.entries(sorted))
    }

    public func create(in module: Module, _ changes: RecordChanges, by user: User) async throws -> Record {
        try Self.checkOwner(changes, user: user)
        return try await store.records.create(in: module, changes, owner: user.id, scope: user.scope)
    }

    public func update(_ id: Int64, in module: Module, _ changes: RecordChanges, by user: User) async throws -> Record {
        try Self.checkOwner(changes, user: user)
        return try await store.records.update(in: module, id: id, changes, scope: user.scope)
    }

    /// Deletes the records `ids` of `module`; all of them are checked first, so that a
    /// selection with one record the user may not change deletes none.
    public func delete(_ ids: [Int64], in module: Module, by user: User) async throws {
        // One read for the whole selection; for one record the delete's own check is all.
        if ids.count > 1 {
            let visible = Set(try await store.records.find(in: module, ids: ids, scope: user.scope).map(\.id))
            if let missing = ids.first(where: { !visible.contains($0) }) { throw Self.notFound(missing, in: module) }
        }
        for id in ids { try await store.records.delete(in: module, id: id, scope: user.scope) }
    }

    private static func notFound(_ id: Int64, in module: Module) -> HeraldError {
        HeraldError.notFound("no \(module.singularLabel.lowercased()) \(id) in \(module.pluralLabel)")
    }

    /// Users own what they create; only admins may give a record to someone else.
    static func checkOwner(_ changes: RecordChanges, user: User) throws {
        guard case .reference(let owner)?? = changes.values[BuiltinFields.owner] else { return }
        if owner != user.id && !user.isAdmin {
            throw HeraldError.forbidden("only admins may give a record to another owner")
        }
    }
}
