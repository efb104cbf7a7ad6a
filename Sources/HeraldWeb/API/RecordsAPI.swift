import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// `/api/v1/modules/:module/records`: create, read, update, delete and list records, and
/// erase the person a record stands for.
struct RecordsAPI {
    let store: Store
    let delivery: Delivery

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
            let changes = try await RecordsAPI.changes(from: request, context: context, module: module, creating: true)
            let record = try await delivery.records.create(in: module, changes, by: user)
            return JSONResponse.make(Present.record(record, in: module), status: .created)
        }
        api.get("modules/:module/records/:id") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let record = try await delivery.records.find(try context.parameters.require("id", as: Int64.self), in: module, for: try context.user())
            return JSONResponse.make(Present.record(record, in: module))
        }
        api.patch("modules/:module/records/:id") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let user = try context.user()
            let changes = try await RecordsAPI.changes(from: request, context: context, module: module, creating: false)
            let record = try await delivery.records.update(try context.parameters.require("id", as: Int64.self), in: module, changes, by: user)
            return JSONResponse.make(Present.record(record, in: module))
        }
        api.delete("modules/:module/records/:id") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            try await delivery.records.delete([try context.parameters.require("id", as: Int64.self)], in: module, by: try context.user())
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
}
