import Hummingbird
import HeraldCore
import HeraldStore

/// `/api/v1/suppressions`: the addresses Herald never sends to. Everyone can read it;
/// admins add and remove.
struct SuppressionsAPI {
    let store: Store

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("suppressions") { _, _ in
            JSONResponse.make(JSONValue.object(["suppressions": .array(try await store.suppressions.all().map {
                .object(["address": .string($0.address), "reason": .string($0.reason), "detail": $0.detail.map(JSONValue.string) ?? .null,
                         "created_at": .string(ISODateTime.format(epochSeconds: $0.createdAt))])
            })]))
        }
        let admin = api.group("suppressions").add(middleware: RequireAdminMiddleware())
        admin.post { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let address = body.string("address", required: true, maxLength: 320)
            let reason = body.string("reason", maxLength: 200) ?? "added by an admin"
            try body.finish()
            guard EmailAddress.isValid(address!.trimmedWhitespace) else {
                throw HeraldError.invalid(field: "address", "'\(address!)' is not a valid email address")
            }
            try await store.suppressions.add(EmailAddress.normalized(address!), reason: reason)
            return JSONResponse.make(JSONValue.object(["address": .string(EmailAddress.normalized(address!)), "reason": .string(reason)]),
                                     status: .created)
        }
        admin.delete(":address") { _, context in
            try await store.suppressions.remove(try context.parameters.require("address"))
            return Response(status: .noContent)
        }
    }
}
