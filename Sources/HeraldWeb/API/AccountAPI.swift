import Hummingbird
import HeraldCore
import HeraldStore

/// `/api/v1/me`, `/api/v1/tokens` and, for admins, `/api/v1/users`.
struct AccountAPI {
    let store: Store
    let accounts: Accounts

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("me") { _, context in JSONResponse.make(Present.user(try context.user())) }
        // One's own name and time zone (role and activity are an admin's, AccountPolicy).
        api.patch("me") { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let change = UserChange(name: body.string("name", maxLength: 100), timeZone: body.string("time_zone", maxLength: 100))
            try body.finish()
            let user = try context.user()
            return JSONResponse.make(Present.user(try await store.users.change(user.id, change, by: user)))
        }
        api.get("tokens") { _, context in
            JSONResponse.make(JSONValue.object(["tokens": .array(try await store.tokens.all(for: try context.user().id).map(Present.token))]))
        }
        api.post("tokens") { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let name = body.string("name", required: true, maxLength: 100)
            let days = body.int("expires_in_days", range: 1...Int64(TokenStore.maximumLifetimeDays))
            try body.finish()
            let (token, secret) = try await accounts.createToken(for: try context.user(), name: name!, expiresInDays: days.map(Int.init),
                                                                 viaToken: context.viaToken)
            guard case .object(var o) = Present.token(token) else { return Response(status: .internalServerError) }
            o["token"] = .string(secret)
            return JSONResponse.make(JSONValue.object(o), status: .created)
        }
        api.delete("tokens/:id") { _, context in
            try await store.tokens.revoke(try context.parameters.require("id", as: Int64.self), for: try context.user().id)
            return Response(status: .noContent)
        }
        let admin = api.group().add(middleware: RequireAdminMiddleware())
        admin.get("users") { _, _ in
            JSONResponse.make(JSONValue.object(["users": .array(try await store.users.all().map(Present.user))]))
        }
        admin.post("users") { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let email = body.string("email", required: true, maxLength: 254)
            let name = body.string("name", required: true, maxLength: 100)
            let password = body.string("password", required: true, maxLength: 200)
            let roleName = body.string("role") ?? "user"
            let zone = body.string("time_zone") ?? "UTC"
            let role = User.Role(rawValue: roleName)
            if role == nil { body.add("role", "'\(roleName)' is not a role; use admin or user") }
            if let email, let name, let password {
                for problem in try await accounts.newUserProblemsWithClash(email: email, name: name, password: password, timeZone: zone) {
                    body.add(problem.field, problem.reason)
                }
            }
            try body.finish()
            let user = try await accounts.createUser(email: email!, name: name!, role: role!, password: password!, timeZone: zone)
            return JSONResponse.make(Present.user(user), status: .created)
        }
        admin.get("users/:id") { _, context in
            let id = try context.parameters.require("id", as: Int64.self)
            guard let user = try await store.users.find(id) else { throw HeraldError.notFound("there is no user \(id)") }
            guard case .object(var o) = Present.user(user) else { return Response(status: .internalServerError) }
            o["owns"] = Present.holdings(try await store.users.holdings(of: id))
            return JSONResponse.make(JSONValue.object(o))
        }
        admin.patch("users/:id") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let change = UserChange(name: body.string("name", maxLength: 100), role: body.choice("role"),
                                    timeZone: body.string("time_zone", maxLength: 100), isActive: body.bool("is_active"))
            try body.finish()
            return JSONResponse.make(Present.user(try await store.users.change(id, change, by: try context.user())))
        }
        admin.post("users/:id/password") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let password = body.string("password", required: true, maxLength: 200)
            try body.finish()
            _ = try await accounts.setPassword(of: id, to: password!, by: try context.user())
            return Response(status: .noContent)
        }
        admin.post("users/:id/hand-over") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let to = body.int("to_user_id", required: true)
            try body.finish()
            let moved = try await store.users.handOver(from: id, to: to!, by: try context.user())
            return JSONResponse.make(JSONValue.object(["handed_over": Present.holdings(moved)]))
        }
    }
}
