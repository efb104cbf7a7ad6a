import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// `/api/v1/tasks` and `/api/v1/calls`: the tasks and calls attached to records.
///
/// A user sees the tasks assigned to them and the calls they make, and those of every record
/// they may see; admins see all. Lists take `mine=true` (assigned to or made by the caller),
/// `module` with `record_id` (one record's), and `open=true`.
struct ActivitiesAPI {
    let activities: ActivityActions

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("tasks") { request, context in
            let tasks = try await activities.tasks(try listing(request), for: try context.user())
            return JSONResponse.make(JSONValue.object(["tasks": .array(tasks.map(Present.task))]))
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
            let task = CRMTask(id: 0, module: target!.module, recordID: target!.id, subject: subject!, dueDate: due,
                               status: status ?? .notStarted, priority: priority ?? .normal, assigneeID: assignee ?? user.id,
                               createdAt: 0, modifiedAt: 0)
            return JSONResponse.make(Present.task(try await activities.add(task, by: user)), status: .created)
        }
        api.get("tasks/:id") { _, context in
            JSONResponse.make(Present.task(try await activities.task(try id(context), for: try context.user())))
        }
        api.patch("tasks/:id") { request, context in
            let id = try id(context), user = try context.user()
            _ = try await activities.task(id, for: user)
            var r = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let subject = r.string("subject", maxLength: CRMTask.maxSubjectLength)
            var due: LocalDate?? = nil
            if r.has("due_date") { due = .some(r.date("due_date")) }
            let status: CRMTask.Status? = r.choice("status")
            let priority: CRMTask.Priority? = r.choice("priority")
            let assignee = r.int("assignee_id")
            try r.finish()
            let updated = try await activities.changeTask(id, by: user) { task in
                if let subject { task.subject = subject }
                if let due { task.dueDate = due }
                if let status { task.status = status }
                if let priority { task.priority = priority }
                if let assignee { task.assigneeID = assignee }
            }
            return JSONResponse.make(Present.task(updated))
        }
        api.delete("tasks/:id") { _, context in
            try await activities.deleteTask(try id(context), by: try context.user())
            return Response(status: .noContent)
        }

        api.get("calls") { request, context in
            let calls = try await activities.calls(try listing(request), for: try context.user())
            return JSONResponse.make(JSONValue.object(["calls": .array(calls.map(Present.call))]))
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
            let call = CRMCall(id: 0, module: target!.module, recordID: target!.id, subject: subject!, ownerID: owner ?? user.id,
                               startAt: start!, status: status ?? .scheduled, createdAt: 0, modifiedAt: 0)
            return JSONResponse.make(Present.call(try await activities.add(call, by: user)), status: .created)
        }
        api.get("calls/:id") { _, context in
            JSONResponse.make(Present.call(try await activities.call(try id(context), for: try context.user())))
        }
        api.patch("calls/:id") { request, context in
            let id = try id(context), user = try context.user()
            _ = try await activities.call(id, for: user)
            var r = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let subject = r.string("subject", maxLength: CRMTask.maxSubjectLength)
            let start = r.dateTime("start_at")
            let status: CRMCall.Status? = r.choice("status")
            let owner = r.int("owner_id")
            try r.finish()
            let updated = try await activities.changeCall(id, by: user) { call in
                if let subject { call.subject = subject }
                if let start { call.startAt = start }
                if let status { call.status = status }
                if let owner { call.ownerID = owner }
            }
            return JSONResponse.make(Present.call(updated))
        }
        api.delete("calls/:id") { _, context in
            try await activities.deleteCall(try id(context), by: try context.user())
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

    func id(_ context: AppRequestContext) throws -> Int64 {
        try context.parameters.require("id", as: Int64.self)
    }

    /// The list's query: `module` with `record_id`, `mine`, `open` (the rules of who sees
    /// what are ``ActivityActions``').
    func listing(_ request: Request) throws -> ActivityActions.Listing {
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
        var listing = ActivityActions.Listing(openOnly: flag("open"))
        listing.mine = flag("mine")
        try problems.check()
        if let module = query["module"].map(String.init), !module.isEmpty {
            guard let id = query["record_id"].flatMap({ Int64(String($0)) }), id > 0 else {
                throw HeraldError.invalid(field: "record_id", "a record id is required with module")
            }
            listing.record = (module, id)
        } else if query["record_id"] != nil {
            throw HeraldError.invalid(field: "module", "is required with record_id")
        }
        return listing
    }
}
