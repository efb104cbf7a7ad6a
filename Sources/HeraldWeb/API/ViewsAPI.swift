import Hummingbird
import HeraldCore
import HeraldStore

/// `/api/v1/modules/:module/views`: saved filters, counted and listed when used.
struct ViewsAPI {
    let store: Store

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("modules/:module/views") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return JSONResponse.make(JSONValue.object(["views": .array(try await store.views.all(in: module).map { Present.view($0) })]))
        }
        api.post("modules/:module/views") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let (name, criteria) = try await ViewsAPI.read(request, context: context)
            let view = try await store.views.create(in: module, name: name, criteria: criteria, by: try context.user().id)
            return JSONResponse.make(Present.view(view), status: .created)
        }
        api.post("modules/:module/views/count") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let raw = body.raw("criteria") ?? .object(["all": .array([])])
            try body.finish()
            let criteria = try Criteria.parse(raw).get()
            let resolved = try criteria.resolve(in: module).get()
            let count = try await store.records.count(in: module, criteria: resolved, scope: try context.user().scope)
            return JSONResponse.make(JSONValue.object(["count": .number(Double(count)), "summary": .string(criteria.summary(in: module))]))
        }
        api.get("modules/:module/views/:id") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let view = try await store.views.find(try context.parameters.require("id", as: Int64.self), in: module)
            let count = try await store.records.count(in: module, criteria: try view.criteria.resolve(in: module).get(), scope: try context.user().scope)
            return JSONResponse.make(Present.view(view, count: count))
        }
        api.put("modules/:module/views/:id") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let existing = try await store.views.find(try context.parameters.require("id", as: Int64.self), in: module)
            try ViewsAPI.requireMayChange(existing, by: try context.user())
            let (name, criteria) = try await ViewsAPI.read(request, context: context)
            let view = try await store.views.update(existing.id, in: module, name: name, criteria: criteria, scope: try context.user().scope)
            return JSONResponse.make(Present.view(view))
        }
        api.delete("modules/:module/views/:id") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            try await store.views.delete(try context.parameters.require("id", as: Int64.self), in: module, scope: try context.user().scope)
            return Response(status: .noContent)
        }
    }

    /// Who may change `view` is answered before what was sent is read: its problems would
    /// otherwise come first, as if it could be saved once mended (the store checks again).
    static func requireMayChange(_ view: View, by user: User) throws {
        guard user.mayChange(madeBy: view.createdBy) else {
            throw HeraldError.mayNotChange("view")
        }
    }

    static func read(_ request: Request, context: AppRequestContext) async throws -> (String, Criteria) {
        var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
        let name = body.string("name", required: true, maxLength: ViewStore.maxNameLength)
        var criteria = Criteria.everything
        if let raw = body.raw("criteria") {
            switch Criteria.parse(raw) {
            case .success(let c): criteria = c
            case .failure(let e): for p in e.problems { body.add(p.field, p.reason) }
            }
        } else {
            body.add("criteria", "is required")
        }
        try body.finish()
        return (name!, criteria)
    }
}
