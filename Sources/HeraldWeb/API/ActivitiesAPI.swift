import Hummingbird
import HeraldCore
import HeraldStore

/// `/api/v1/tasks` and `/api/v1/calls`: the tasks and calls attached to records.
///
/// A user sees the tasks assigned to them and the calls they make, and those of every record
/// they may see; admins see all. Lists take `mine=true` (assigned to or made by the caller),
/// `module` with `record_id` (one record's), and `open=true`.
struct ActivitiesAPI {
    let store: Store

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("tasks") { request, context in
            let filter = try await filter(request, context)
            return JSONResponse.make(JSONValue.object(["tasks": .array(try await store.tasks.list(filter).map(Present.task))]))
        }
        api.post("tasks") { request, context in
            let user = try context.user()
            var r = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let target = readTarget(&r)
            let subject = r.string("subject", required: true, maxLength: CRMTask.maxSubjectLength)
            let due = r.date("due_date")
            let status: CRMTask.Status? = r.choice("status")
            let priority: CRMTask.Priority? = r.choice("priority")
            let assignee = r.int("assignee_id")
            try r.finish()
            let module = try await visibleRecord(target!, user: user)
            let task = CRMTask(id: 0, module: module.apiName, recordID: target!.id, subject: subject!, dueDate: due,
                               status: status ?? .notStarted, priority: priority ?? .normal, assigneeID: assignee ?? user.id,
                               createdAt: 0, modifiedAt: 0)
            return JSONResponse.make(Present.task(try await store.tasks.create(task, in: module, by: user.id)), status: .created)
        }
        api.get("tasks/:id") { _, context in
            JSONResponse.make(Present.task(try await task(context)))
        }
        api.patch("tasks/:id") { request, context in
            var task = try await self.task(context)
            var r = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            if let subject = r.string("subject", maxLength: CRMTask.maxSubjectLength) { task.subject = subject }
            if r.has("due_date") { task.dueDate = r.date("due_date") }
            if let status: CRMTask.Status = r.choice("status") { task.status = status }
            if let priority: CRMTask.Priority = r.choice("priority") { task.priority = priority }
            if let assignee = r.int("assignee_id") { task.assigneeID = assignee }
            try r.finish()
            let updated = try await store.tasks.update(task, in: try await store.modules.named(task.module))
            return JSONResponse.make(Present.task(updated))
        }
        api.delete("tasks/:id") { _, context in
            try await store.tasks.delete(try await task(context).id)
            return Response(status: .noContent)
        }

        api.get("calls") { request, context in
            let filter = try await filter(request, context)
            return JSONResponse.make(JSONValue.object(["calls": .array(try await store.calls.list(filter).map(Present.call))]))
        }
        api.post("calls") { request, context in
            let user = try context.user()
            var r = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let target = readTarget(&r)
            let subject = r.string("subject", required: true, maxLength: CRMTask.maxSubjectLength)
            let start = r.dateTime("start_at", required: true)
            let status: CRMCall.Status? = r.choice("status")
            let owner = r.int("owner_id")
            try r.finish()
            let module = try await visibleRecord(target!, user: user)
            let call = CRMCall(id: 0, module: module.apiName, recordID: target!.id, subject: subject!, ownerID: owner ?? user.id,
                               startAt: start!, status: status ?? .scheduled, createdAt: 0, modifiedAt: 0)
            return JSONResponse.make(Present.call(try await store.calls.create(call, in: module, by: user.id)), status: .created)
        }
        api.get("calls/:id") { _, context in
            JSONResponse.make(Present.call(try await call(context)))
        }
        api.patch("calls/:id") { request, context in
            var call = try await self.call(context)
            var r = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            if let subject = r.string("subject", maxLength: CRMTask.maxSubjectLength) { call.subject = subject }
            if let start = r.dateTime("start_at") { call.startAt = start }
            if let status: CRMCall.Status = r.choice("status") { call.status = status }
            if let owner = r.int("owner_id") { call.ownerID = owner }
            try r.finish()
            let updated = try await store.calls.update(call, in: try await store.modules.named(call.module))
            return JSONResponse.make(Present.call(updated))
        }
        api.delete("calls/:id") { _, context in
            try await store.calls.delete(try await call(context).id)
            return Response(status: .noContent)
        }
    }

    /// `module` and `record_id` of a new task or call.
    func readTarget(_ r: inout JSONObjectReader) -> (module: String, id: Int64)? {
        let module = r.string("module", required: true)
        let id = r.int("record_id", required: true)
        guard let module, let id else { return nil }
        return (module, id)
    }

    /// The module of a record the user may see; 404 otherwise.
    func visibleRecord(_ target: (module: String, id: Int64), user: User) async throws -> Module {
        let module = try await store.modules.named(target.module)
        guard try await store.records.find(in: module, id: target.id, scope: user.scope) != nil else {
            throw HeraldError.notFound("no \(module.singularLabel.lowercased()) \(target.id) in \(module.pluralLabel)")
        }
        return module
    }

    /// The list's filter from the query: a non-admin without a record sees their own.
    func filter(_ request: Request, _ context: AppRequestContext) async throws -> ActivityFilter {
        let user = try context.user()
        let query = request.uri.queryParameters
        // true or false, nothing else: a typo must not silently mean false.
        var problems = ProblemList()
        func flag(_ key: String) -> Bool {
            let value: String? = query[Substring(key)].map(String.init)
            switch value {
            case nil, "false"?: return false
            case "true"?: return true
            case let other?:
                problems.add(key, "must be true or false, not '\(other.prefix(40))'")
                return false
            }
        }
        let open = flag("open"), mine = flag("mine")
        try problems.check()
        var filter = ActivityFilter(openOnly: open)
        if let module = query["module"].map(String.init), !module.isEmpty {
            guard let id = query["record_id"].flatMap({ Int64(String($0)) }), id > 0 else {
                throw HeraldError.invalid(field: "record_id", "a record id is required with module")
            }
            _ = try await visibleRecord((module, id), user: user)
            filter.record = (module, id)
        } else if query["record_id"] != nil {
            throw HeraldError.invalid(field: "module", "is required with record_id")
        }
        if mine || (filter.record == nil && !user.isAdmin) { filter.user = user.id }
        return filter
    }

    func task(_ context: AppRequestContext) async throws -> CRMTask {
        let task = try await store.tasks.find(try context.parameters.require("id", as: Int64.self))
        guard try await mayAccess(module: task.module, recordID: task.recordID, person: task.assigneeID, context) else {
            throw HeraldError.notFound("no task \(task.id)")
        }
        return task
    }

    func call(_ context: AppRequestContext) async throws -> CRMCall {
        let call = try await store.calls.find(try context.parameters.require("id", as: Int64.self))
        guard try await mayAccess(module: call.module, recordID: call.recordID, person: call.ownerID, context) else {
            throw HeraldError.notFound("no call \(call.id)")
        }
        return call
    }

    /// Admins, the assignee or owner, and whoever may see the record.
    func mayAccess(module: String, recordID: Int64, person: Int64, _ context: AppRequestContext) async throws -> Bool {
        let user = try context.user()
        if user.isAdmin || person == user.id { return true }
        return try await store.records.find(in: try await store.modules.named(module), id: recordID, scope: user.scope) != nil
    }
}
