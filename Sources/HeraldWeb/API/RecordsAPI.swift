import Hummingbird
import HeraldCore
import HeraldStore

/// `/api/v1/modules/:module/records`: create, read, update, delete and list records, and
/// erase the person a record stands for.
struct RecordsAPI {
    let store: Store

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("modules/:module/records") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let listing = try RecordListing(query: request.uri.queryParameters, module: module)
            let result = try await listing.run(module: module, store: store, user: try context.user())
            return JSONResponse.make(JSONValue.object([
                "records": .array(result.page.records.map { Present.record($0, in: module) }),
                "total": .number(Double(result.page.total)),
                "page": .number(Double(listing.page)),
                "per_page": .number(Double(listing.perPage)),
            ]))
        }
        api.post("modules/:module/records") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let user = try context.user()
            var changes = try await RecordsAPI.changes(from: request, context: context, module: module, creating: true)
            try RecordsAPI.checkOwner(&changes, user: user)
            let record = try await store.records.create(in: module, changes, owner: user.id, scope: user.scope)
            return JSONResponse.make(Present.record(record, in: module), status: .created)
        }
        api.get("modules/:module/records/:id") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let id = try context.parameters.require("id", as: Int64.self)
            guard let record = try await store.records.find(in: module, id: id, scope: try context.user().scope) else {
                throw HeraldError.notFound("no \(module.singularLabel.lowercased()) \(id) in \(module.pluralLabel)")
            }
            return JSONResponse.make(Present.record(record, in: module))
        }
        api.patch("modules/:module/records/:id") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let user = try context.user()
            var changes = try await RecordsAPI.changes(from: request, context: context, module: module, creating: false)
            try RecordsAPI.checkOwner(&changes, user: user)
            let record = try await store.records.update(in: module, id: try context.parameters.require("id", as: Int64.self), changes, scope: user.scope)
            return JSONResponse.make(Present.record(record, in: module))
        }
        api.delete("modules/:module/records/:id") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            try await store.records.delete(in: module, id: try context.parameters.require("id", as: Int64.self), scope: try context.user().scope)
            return Response(status: .noContent)
        }
        // GDPR art. 17: admins only, as it reaches past the record (its messages, replies,
        // bounces, the suppression list). A user is refused before the record is looked for.
        api.group("modules/:module/records/:id/erase").add(middleware: RequireAdminMiddleware()).post { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let erasure = try await store.erasure.erase(in: module, id: try context.parameters.require("id", as: Int64.self))
            return JSONResponse.make(Present.erasure(erasure))
        }
    }

    /// A record's fields from a JSON object; `id` and unknown names are refused with the rest.
    static func changes(from request: Request, context: AppRequestContext, module: Module, creating: Bool) async throws -> RecordChanges {
        let json = try await JSONBody.decode(JSONValue.self, from: request, context: context)
        guard let object = json.objectValue else { throw HeraldError.invalid(field: "", "the body must be a JSON object of field names and values") }
        var inputs: [String: FieldInput] = [:]
        var problems = ProblemList()
        for (key, value) in object {
            if key == "id" { problems.add("id", "is set by Herald"); continue }
            inputs[key] = .json(value)
        }
        switch RecordChanges.validate(inputs, module: module, creating: creating) {
        case .success(let changes):
            try problems.check()
            return changes
        case .failure(let error):
            problems.add(contentsOf: error.problems)
            throw HeraldError.invalid(problems.problems)
        }
    }

    /// Users own what they create; only admins may give a record to someone else.
    static func checkOwner(_ changes: inout RecordChanges, user: User) throws {
        guard case .reference(let owner)?? = changes.values[BuiltinFields.owner] else { return }
        if owner != user.id && !user.isAdmin {
            throw HeraldError.forbidden("only admins may give a record to another owner")
        }
    }
}
