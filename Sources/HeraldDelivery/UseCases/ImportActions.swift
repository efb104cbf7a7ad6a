import HeraldCore
import HeraldStore

/// CSV imports, for the import pages and the API alike. The importing user decides how
/// duplicates are treated, whether it is all or nothing and whether it is a dry run; who owns
/// the new records and which records count as duplicates or may be named by lookups is always
/// the user's own (their id and scope), so no caller can import into records the user may not
/// see, nor give records away unless the user is an admin (the importer refuses an owner
/// column from anyone else).
public struct ImportActions: Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    public func run(into module: Module, _ options: ImportOptions, input: ByteChunks, by user: User) async throws -> ImportReport {
        var options = options
        options.owner = user.id
        options.scope = user.scope
        return try await store.importer.run(into: module, options: options, input: input)
    }
}
