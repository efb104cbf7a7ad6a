import Foundation
import Hummingbird
import HeraldCore
import HeraldStore

/// An admin's page for one user: name, role, time zone, active or not, a new password, and
/// handing what the user owns to someone else. The rules are ``AccountPolicy``'s.
struct UserPages {
    let store: Store
    let accounts: Accounts
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {
        let admin = app.group("account/users").add(middleware: RequireAdminMiddleware())
        admin.get(":id") { _, context in
            try await page(try context.parameters.require("id", as: Int64.self), context: context)
        }
        admin.post(":id") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            let form = try await FormData.read(request, context: context)
            let typed = form.dictionary
            var change = UserChange(name: form["name"], timeZone: form["time_zone"], isActive: form["is_active"].map { $0 == "yes" })
            // A choice the form never offers is refused, not taken for one it does ("maybe" deactivated);
            // said with the other fields' problems.
            var problems = ProblemList()
            if let role = form["role"] {
                if let parsed = User.Role(rawValue: role) { change.role = parsed } else { problems.add("role", "choose admin or user") }
            }
            if let active = form["is_active"], active != "yes", active != "no" { problems.add("is_active", "choose active or deactivated") }
            if !problems.problems.isEmpty {
                if let user = try await store.users.find(id) {
                    problems.add(contentsOf: UserStore.problems(email: user.email, name: form["name"] ?? user.name,
                                                                timeZone: form["time_zone"] ?? user.timeZone))
                }
                return try await page(id, problems: problems.problems, typed: typed, context: context)
            }
            do {
                let user = try await store.users.change(id, change, by: try context.user())
                return context.redirect(to: "/account/users/\(id)",
                                        flash: user.isActive ? "Saved \(user.name)." : "Saved. \(user.name) is deactivated: logged out everywhere, API tokens revoked.")
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(id, problems: error.problems, typed: typed, context: context)
            }
        }
        admin.post(":id/password") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            let form = try await FormData.read(request, context: context)
            do {
                let user = try await accounts.setPassword(of: id, to: form["password"] ?? "", by: try context.user())
                if user.id == (try context.user()).id { context.sessions.createSession(WebSession(for: user)) }
                return context.redirect(to: "/account/users/\(id)", flash: "Set a new password for \(user.name); their sessions were logged out and API tokens revoked.")
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(id, problems: error.problems, context: context)
            }
        }
        admin.post(":id/hand-over") { request, context in
            let id = try context.parameters.require("id", as: Int64.self)
            let form = try await FormData.read(request, context: context)
            guard let to = form["to_user_id"].flatMap({ Int64($0) }) else {
                return try await page(id, problems: [Problem(field: "to_user_id", reason: "choose who takes over")], context: context)
            }
            do {
                let moved = try await store.users.handOver(from: id, to: to, by: try context.user())
                return context.redirect(to: "/account/users/\(id)", flash: "Handed over \(UserPages.describe(moved)).")
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(id, problems: error.problems, context: context)
            }
        }
    }

    /// "12 records, 2 mass emails and 1 open task", or "nothing".
    static func describe(_ h: Holdings) -> String {
        let parts = [(h.records, "record", "records"), (h.massEmails, "mass email", "mass emails"), (h.openTasks, "open task", "open tasks"),
                     (h.scheduledCalls, "scheduled call", "scheduled calls"), (h.views, "view", "views"),
                     (h.lists, "static list", "static lists"), (h.templates, "template", "templates")]
            .filter { $0.0 > 0 }.map { "\($0.0) \($0.0 == 1 ? $0.1 : $0.2)" }
        guard let last = parts.last else { return "nothing" }
        return parts.count == 1 ? last : parts.dropLast().joined(separator: ", ") + " and " + last
    }

    /// The page; after a refused change, with what was `typed` in the fields.
    func page(_ id: Int64, problems: [Problem] = [], typed: [String: String] = [:], context: AppRequestContext) async throws -> Response {
        guard let user = try await store.users.find(id) else { throw HeraldError.notFound("there is no user \(id)") }
        let me = try context.user()
        let holdings = try await store.users.holdings(of: id)
        let others = try await store.users.all().filter { $0.isActive && $0.id != id }
            .map { Page.Other(id: $0.id, label: "\($0.name) (\($0.email))") }
        let model = Page(
            user: Page.Shown(id: user.id, name: typed["name"] ?? user.name, email: user.email, timeZone: typed["time_zone"] ?? user.timeZone,
                             active: typed["is_active"].map { $0 != "no" } ?? user.isActive,
                             isAdmin: typed["role"].map { $0 == "admin" } ?? user.isAdmin, isMe: user.id == me.id),
            holdings: UserPages.describe(holdings), hasHoldings: holdings.total > 0, others: others, hasOthers: !others.isEmpty,
            errors: AdminPages.errorMap(problems), hasErrors: !problems.isEmpty, problems: problems.map(\.description))
        let html = pages.render("user", title: "User \(user.name)", context: context, page: model,
                                modules: try await store.modules.all())
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }

    /// A user's page for admins (`user.mustache`).
    struct Page: PageModel {
        struct Shown: PageModel {
            let id: Int64
            let name: String, email: String, timeZone: String
            let active: Bool, isAdmin: Bool, isMe: Bool
        }
        struct Other: PageModel { let id: Int64, label: String }

        let user: Shown
        let holdings: String
        let hasHoldings: Bool
        let others: [Other]
        let hasOthers: Bool
        let errors: [String: String]
        let hasErrors: Bool
        let problems: [String]
    }
}
