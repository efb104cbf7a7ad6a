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
        app.get("/account") { _, context in
            try await page(context: context)
        }
        app.post("/account/profile") { request, context in
            let user = try context.user()
            let form = try await FormData.read(request, context: context)
            do {
                _ = try await store.users.change(user.id, UserChange(name: form["name"], timeZone: form["time_zone"]), by: user)
                return context.redirect(to: "/account", flash: "Saved.")
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(profileForm: form.dictionary, profileProblems: error.problems, context: context)
            }
        }
        app.post("/account/password") { request, context in
            let user = try context.user()
            let form = try await FormData.read(request, context: context)
            guard try await accounts.login(email: user.email, password: form["current_password"] ?? "") != nil else {
                // With what is wrong with the new one, so that one try mends both.
                let problems = [Problem(field: "current_password", reason: "is not your current password")]
                    + (Accounts.passwordProblem(form["new_password"] ?? "").map { [Problem(field: "new_password", reason: $0)] } ?? [])
                return try await page(passwordProblems: problems, context: context)
            }
            do {
                let updated = try await accounts.setPassword(of: user.id, to: form["new_password"] ?? "", field: "new_password", by: user)
                // The change ended every session, this one too; carry on in a fresh one.
                context.sessions.createSession(WebSession(for: updated))
                return context.redirect(to: "/account", flash: "Your password was changed. Your other sessions were logged out and your API tokens revoked.")
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(passwordProblems: error.problems, context: context)
            }
        }
        app.post("/account/tokens") { request, context in
            let form = try await FormData.read(request, context: context)
            do {
                let days = form["expires_in_days"].flatMap { $0.isEmpty ? nil : Int($0) ?? -1 }
                let (token, secret) = try await accounts.createToken(for: try context.user(), name: form["name"] ?? "", expiresInDays: days,
                                                                     viaToken: context.viaToken)
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
                problems.add(contentsOf: try await accounts.newUserProblemsWithClash(email: values["email"]!, name: values["name"]!,
                                                                                     password: form["password"] ?? "", timeZone: values["time_zone"]!))
                let role = User.Role(rawValue: values["role"]!)
                if role == nil { problems.add("role", "choose admin or user") }
                try problems.check()
                let user = try await accounts.createUser(email: values["email"]!, name: values["name"]!, role: role!,
                                                         password: form["password"] ?? "", timeZone: values["time_zone"]!)
                return context.redirect(to: "/account#users", flash: "Created the user \(user.name) (\(user.email)).")
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await page(userForm: values, userProblems: error.pageProblems, context: context)
            }
        }
    }

    func page(newToken: (name: String, secret: String)? = nil, tokenProblems: [Problem] = [],
              passwordProblems: [Problem] = [], userForm: [String: String] = [:], userProblems: [Problem] = [],
              profileForm: [String: String] = [:], profileProblems: [Problem] = [],
              context: AppRequestContext) async throws -> Response {
        let user = try context.user()
        let local = LocalTime(zoneNamed: user.timeZone)
        func time(_ s: Int64?) -> String { s.map(local.numeric) ?? "—" }
        let now = WallClock.epochSeconds()
        let tokens = try await store.tokens.all(for: user.id).map { t in
            Page.Token(id: t.id, name: t.name, prefix: t.prefix, created: time(t.createdAt), lastUsed: time(t.lastUsedAt),
                       expires: t.expiresAt.map { time($0) } ?? "never", active: !t.isSpent(now: now),
                       ended: t.revokedAt.map { "revoked " + time($0) } ?? "expired " + time(t.expiresAt))
        }
        var admin: Page.Admin?
        if user.isAdmin {
            admin = Page.Admin(
                users: try await store.users.all().map {
                    Page.UserRow(id: $0.id, name: $0.name, email: $0.email, role: $0.role.rawValue, timeZone: $0.timeZone, active: $0.isActive)
                },
                form: Page.UserForm(email: userForm["email"] ?? "", name: userForm["name"] ?? "", timeZone: userForm["time_zone"] ?? "UTC",
                                    isAdmin: userForm["role"] == "admin"),
                errors: AdminPages.errorMap(userProblems),
                otherErrors: userProblems.filter { !["email", "name", "password", "time_zone", "role"].contains($0.field) }.map(\.description),
                hasErrors: !userProblems.isEmpty)
        }
        let model = Page(
            me: Page.Me(name: profileForm["name"] ?? user.name, email: user.email, role: user.role.rawValue,
                        zones: MassEmailPages.zoneNames(including: user.timeZone).map {
                            SelectOption(value: $0, label: $0, selected: $0 == (profileForm["time_zone"] ?? user.timeZone))
                        },
                        errors: AdminPages.errorMap(profileProblems)),
            tokens: tokens, hasTokens: !tokens.isEmpty, tokenError: tokenProblems.map(\.description).first,
            // Named as the form's labels name the fields.
            passwordErrors: passwordProblems.map { p in
                (["current_password": "Current password", "new_password": "New password"][p.field] ?? p.field) + ": " + p.reason
            },
            newToken: newToken.map { Page.NewToken(name: $0.name, secret: $0.secret) }, admin: admin)
        let failed = !tokenProblems.isEmpty || !passwordProblems.isEmpty || !userProblems.isEmpty || !profileProblems.isEmpty
        let html = pages.render("account", title: "Account", context: context, page: model,
                                modules: try await store.modules.all())
        return HTMLResponse(html: html, status: failed ? .unprocessableContent : .ok).response
    }

    /// The account page's model (`account.mustache`).
    struct Page: PageModel {
        struct Me: PageModel {
            let name: String, email: String, role: String
            let zones: [SelectOption]
            let errors: [String: String]
        }
        struct Token: PageModel {
            let id: Int64
            let name: String, prefix: String, created: String, lastUsed: String, expires: String
            let active: Bool
            let ended: String
        }
        struct NewToken: PageModel { let name: String, secret: String }
        struct UserRow: PageModel {
            let id: Int64
            let name: String, email: String, role: String, timeZone: String
            let active: Bool
        }
        struct UserForm: PageModel {
            let email: String, name: String, timeZone: String
            let isAdmin: Bool
        }
        struct Admin: PageModel {
            let users: [UserRow]
            let form: UserForm
            let errors: [String: String]
            let otherErrors: [String]
            let hasErrors: Bool
        }

        let me: Me
        let tokens: [Token]
        let hasTokens: Bool
        let tokenError: String?
        let passwordErrors: [String]
        let newToken: NewToken?
        let admin: Admin?
    }
}
