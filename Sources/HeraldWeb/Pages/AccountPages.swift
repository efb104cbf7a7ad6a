import Foundation
import Hummingbird
import HeraldCore
import HeraldStore

/// The user's own account: profile, password and API tokens; for admins also the users.
struct AccountPages {
    let store: Store
    let accounts: Accounts
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/account") { _, context in try await page(context: context) }
        app.post("/account/password") { request, context in
            let user = try context.user()
            let form = try await FormData.read(request, context: context)
            guard try await accounts.login(email: user.email, password: form["current_password"] ?? "") != nil else {
                return try await page(passwordProblems: [Problem(field: "current_password", reason: "is not your current password")],
                                      context: context)
            }
            do {
                let updated = try await accounts.setPassword(of: user.id, to: form["new_password"] ?? "", field: "new_password", by: user)
                // The change ended every session, this one too; carry on in a fresh one.
                context.sessions.createSession(WebSession(for: updated))
                return try await page(flash: "Your password was changed. Your other sessions were logged out and your API tokens revoked.",
                                      context: context)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(passwordProblems: error.problems, context: context)
            }
        }
        app.post("/account/tokens") { request, context in
            // As in the API: a token that could make tokens would outlive its own revocation.
            guard !context.viaToken else {
                throw HeraldError.forbidden("API tokens are made from a logged-in session, not with another token")
            }
            let form = try await FormData.read(request, context: context)
            do {
                let days = form["expires_in_days"].flatMap { $0.isEmpty ? nil : Int($0) ?? -1 }
                let (token, secret) = try await store.tokens.create(for: try context.user().id, name: form["name"] ?? "", expiresInDays: days)
                return try await page(newToken: (token.name, secret), context: context)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(tokenProblems: error.problems, context: context)
            }
        }
        app.post("/account/tokens/:id/revoke") { _, context in
            try await store.tokens.revoke(try context.parameters.require("id", as: Int64.self), for: try context.user().id)
            return Response.redirect(to: "/account#tokens", type: .normal)
        }
        app.group("account").add(middleware: RequireAdminMiddleware()).post("users") { request, context in
            let form = try await FormData.read(request, context: context)
            let values = ["email": form["email"] ?? "", "name": form["name"] ?? "", "role": form["role"] ?? "user",
                          "time_zone": form["time_zone"] ?? "UTC"]
            do {
                var problems = ProblemList()
                if values["name"]!.trimmingCharacters(in: .whitespaces).isEmpty { problems.add("name", "is required") }
                if TimeZone(identifier: values["time_zone"]!) == nil { problems.add("time_zone", "'\(values["time_zone"]!)' is not a time zone") }
                guard let role = User.Role(rawValue: values["role"]!) else { throw HeraldError.invalid(field: "role", "choose admin or user") }
                try problems.check()
                let user = try await accounts.createUser(email: values["email"]!, name: values["name"]!, role: role,
                                                         password: form["password"] ?? "", timeZone: values["time_zone"]!)
                return try await page(flash: "Created the user \(user.name) (\(user.email)).", context: context)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                let problems = error.problems.isEmpty ? [Problem(field: "", reason: error.message)] : error.problems
                return try await page(userForm: values, userProblems: problems, context: context)
            }
        }
    }

    func page(flash: String? = nil, newToken: (name: String, secret: String)? = nil, tokenProblems: [Problem] = [],
              passwordProblems: [Problem] = [], userForm: [String: String] = [:], userProblems: [Problem] = [],
              context: AppRequestContext) async throws -> Response {
        let user = try context.user()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: user.timeZone) ?? .gmt
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        func time(_ s: Int64?) -> String { s.map { formatter.string(from: Date(timeIntervalSince1970: TimeInterval($0))) } ?? "—" }
        let now = WallClock.epochSeconds()
        let tokens = try await store.tokens.all(for: user.id).map { t -> [String: Any] in
            ["id": t.id, "name": t.name, "prefix": t.prefix, "created": time(t.createdAt), "last_used": time(t.lastUsedAt),
             "expires": t.expiresAt.map { time($0) } ?? "never", "active": !t.isSpent(now: now),
             "ended": t.revokedAt.map { "revoked " + time($0) } ?? "expired " + time(t.expiresAt)]
        }
        var data: [String: Any] = [
            "me": ["name": user.name, "email": user.email, "time_zone": user.timeZone, "role": user.role.rawValue],
            "tokens": tokens, "has_tokens": !tokens.isEmpty, "csrf": context.csrf,
            "token_error": tokenProblems.map(\.description).first as Any,
            "password_errors": passwordProblems.map(\.description),
        ]
        if let newToken { data["new_token"] = ["name": newToken.name, "secret": newToken.secret] }
        if user.isAdmin {
            let errors = Dictionary(userProblems.map { ($0.field, $0.reason) }, uniquingKeysWith: { "\($0); \($1)" })
            data["admin"] = [
                "users": try await store.users.all().map { u -> [String: Any] in
                    ["id": u.id, "name": u.name, "email": u.email, "role": u.role.rawValue, "time_zone": u.timeZone, "active": u.isActive]
                },
                "form": ["email": userForm["email"] ?? "", "name": userForm["name"] ?? "", "time_zone": userForm["time_zone"] ?? "UTC",
                         "is_admin": userForm["role"] == "admin"],
                "errors": ["email": errors["email"] as Any, "name": errors["name"] as Any, "password": errors["password"] as Any,
                           "time_zone": errors["time_zone"] as Any, "role": errors["role"] as Any],
                "other_errors": userProblems.filter { !["email", "name", "password", "time_zone", "role"].contains($0.field) }.map(\.description),
                "has_errors": !userProblems.isEmpty,
            ]
        }
        let failed = !tokenProblems.isEmpty || !passwordProblems.isEmpty || !userProblems.isEmpty
        let html = pages.render("account", title: "Account", context: context, data: data,
                                modules: try await store.modules.all(), flash: flash)
        return HTMLResponse(html: html, status: failed ? .unprocessableContent : .ok).response
    }
}
