import Hummingbird
import HeraldCore
import HeraldStore

/// `/api/v1/modules/:module/lists`: static lists of hand-picked records.
struct ListsAPI {
    let store: Store

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("modules/:module/lists") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return JSONResponse.make(JSONValue.object(["lists": .array(try await store.lists.all(in: module, scope: try context.user().scope).map(Present.list))]))
        }
        api.post("modules/:module/lists") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let name = body.string("name", required: true, maxLength: ViewStore.maxNameLength)
            let ids = body.ids("record_ids") ?? []
            try body.finish()
            let user = try context.user()
            let list = try await store.lists.create(in: module, name: name!, by: user.id, members: ids, scope: user.scope)
            return JSONResponse.make(Present.list(list), status: .created)
        }
        api.get("modules/:module/lists/:id") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return JSONResponse.make(Present.list(try await store.lists.find(try context.parameters.require("id", as: Int64.self), in: module,
                                                                  scope: try context.user().scope)))
        }
        api.patch("modules/:module/lists/:id") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let id = try context.parameters.require("id", as: Int64.self)
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let name = body.string("name", required: true, maxLength: ViewStore.maxNameLength)
            try body.finish()
            return JSONResponse.make(Present.list(try await store.lists.rename(id, in: module, to: name!, scope: try context.user().scope)))
        }
        api.delete("modules/:module/lists/:id") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            try await store.lists.delete(try context.parameters.require("id", as: Int64.self), in: module, scope: try context.user().scope)
            return Response(status: .noContent)
        }
        api.post("modules/:module/lists/:id/members") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let ids = try await ListsAPI.ids(request, context: context)
            let list = try await store.lists.add(ids, to: try context.parameters.require("id", as: Int64.self), in: module, scope: try context.user().scope)
            return JSONResponse.make(Present.list(list))
        }
        api.post("modules/:module/lists/:id/members/remove") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let ids = try await ListsAPI.ids(request, context: context)
            let list = try await store.lists.remove(ids, from: try context.parameters.require("id", as: Int64.self), in: module, scope: try context.user().scope)
            return JSONResponse.make(Present.list(list))
        }
    }

    static func ids(_ request: Request, context: AppRequestContext) async throws -> [Int64] {
        var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
        let ids = body.ids("record_ids", required: true)
        try body.finish()
        return ids!
    }
}
