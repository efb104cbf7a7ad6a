import HeraldCore
import HeraldStore

/// Tasks and calls on records, for the record page, "My tasks", "My calls" and the API alike.
///
/// Who may see one: an admin, its assignee (a task) or owner (a call), and whoever may see its
/// record; to anyone else it does not exist (404). A new one goes only on a record its maker
/// may see. A list without a record is the user's own unless they are an admin; a list of a
/// record needs the record to be visible.
public struct ActivityActions: Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    /// What a list shows: one record's activities, or `mine` (assigned to or made by the
    /// user), `openOnly` for those not done.
    public struct Listing: Sendable {
        public var record: (module: String, id: Int64)?
        public var mine: Bool
        public var openOnly: Bool

        public init(record: (module: String, id: Int64)? = nil, mine: Bool = false, openOnly: Bool = false) {
            (self.record, self.mine, self.openOnly) = (record, mine, openOnly)
        }
    }

    public func tasks(_ listing: Listing, for user: User) async throws -> [CRMTask] {
        try await store.tasks.list(filter(listing, for: user))
    }

    public func calls(_ listing: Listing, for user: User) async throws -> [CRMCall] {
        try await store.calls.list(filter(listing, for: user))
    }

    /// The task `id`, if `user` may see it.
    public func task(_ id: Int64, for user: User) async throws -> CRMTask {
        let task = try await store.tasks.find(id)
        guard try await mayAccess(module: task.module, recordID: task.recordID, person: task.assigneeID, user) else {
            throw HeraldError.notFound("no task \(id)")
        }
        return task
    }

    /// The call `id`, if `user` may see it.
    public func call(_ id: Int64, for user: User) async throws -> CRMCall {
        let call = try await store.calls.find(id)
        guard try await mayAccess(module: call.module, recordID: call.recordID, person: call.ownerID, user) else {
            throw HeraldError.notFound("no call \(id)")
        }
        return call
    }

    /// Adds `task` to its record, which `user` must be able to see; its values are the store's to check.
    public func add(_ task: CRMTask, by user: User) async throws -> CRMTask {
        let module = try await visibleRecord(task.module, task.recordID, user: user)
        return try await store.tasks.create(task, in: module, by: user.id)
    }

    public func add(_ call: CRMCall, by user: User) async throws -> CRMCall {
        let module = try await visibleRecord(call.module, call.recordID, user: user)
        return try await store.calls.create(call, in: module, by: user.id)
    }

    /// Changes the task `id` as `change` says; the task stays on its record.
    public func changeTask(_ id: Int64, by user: User, _ change: (inout CRMTask) -> Void) async throws -> CRMTask {
        var task = try await task(id, for: user)
        let (module, recordID) = (task.module, task.recordID)
        change(&task)
        (task.id, task.module, task.recordID) = (id, module, recordID)
        return try await store.tasks.update(task, in: try await store.modules.named(module))
    }

    public func changeCall(_ id: Int64, by user: User, _ change: (inout CRMCall) -> Void) async throws -> CRMCall {
        var call = try await call(id, for: user)
        let (module, recordID) = (call.module, call.recordID)
        change(&call)
        (call.id, call.module, call.recordID) = (id, module, recordID)
        return try await store.calls.update(call, in: try await store.modules.named(module))
    }

    public func deleteTask(_ id: Int64, by user: User) async throws {
        try await store.tasks.delete(try await task(id, for: user).id)
    }

    public func deleteCall(_ id: Int64, by user: User) async throws {
        try await store.calls.delete(try await call(id, for: user).id)
    }

    private func filter(_ listing: Listing, for user: User) async throws -> ActivityFilter {
        var filter = ActivityFilter(openOnly: listing.openOnly)
        if let record = listing.record {
            _ = try await visibleRecord(record.module, record.id, user: user)
            filter.record = record
        }
        if listing.mine || (filter.record == nil && !user.isAdmin) { filter.user = user.id }
        return filter
    }

    /// The module of a record the user may see; 404 otherwise, as ``RecordActions`` says it.
    private func visibleRecord(_ moduleName: String, _ id: Int64, user: User) async throws -> Module {
        let module = try await store.modules.named(moduleName)
        _ = try await RecordActions(store: store).find(id, in: module, for: user)
        return module
    }

    /// Admins, the assignee or owner, and whoever may see the record.
    private func mayAccess(module: String, recordID: Int64, person: Int64, _ user: User) async throws -> Bool {
        if user.isAdmin || person == user.id { return true }
        return try await store.records.find(in: try await store.modules.named(module), id: recordID, scope: user.scope) != nil
    }
}
