import Foundation
import Hummingbird
import HeraldCore
import HeraldStore

/// The login and logout pages. A successful login starts a session with a fresh CSRF token.
struct AuthPages {
    let store: Store
    let accounts: Accounts
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/login") { request, context in
            if context.identity != nil { return Response.redirect(to: "/", type: .found) }
            return HTMLResponse(html: pages.render("login", title: "Log in", context: context, data: [
                "next": AuthPages.safeNext(request.uri.queryParameters["next"].map(String.init)),
            ])).response
        }
        app.post("/login") { request, context in
            let form = try await FormData.read(request, context: context)
            let email = form["email"] ?? ""
            let next = AuthPages.safeNext(form["next"])
            guard let user = try await accounts.login(email: email, password: form["password"] ?? "") else {
                return HTMLResponse(html: pages.render("login", title: "Log in", context: context, data: [
                    "next": next, "email": email, "error": "Wrong email or password.",
                ]), status: .unauthorized).response
            }
            context.sessions.createSession(WebSession(userID: user.id, csrf: Secrets.random(bytes: 24)))
            return Response.redirect(to: next, type: .found)
        }
        app.post("/logout") { request, context in
            if let expected = context.sessions.session?.csrf {
                let form = try await FormData.read(request, context: context)
                guard let presented = form["_csrf"], Secrets.constantTimeEquals(presented, expected) else {
                    throw HeraldError.forbidden("the form has expired; reload the page and try again")
                }
            }
            context.sessions.clearSession()
            return Response.redirect(to: "/login", type: .found)
        }
        app.get("/") { _, context in
            Response.redirect(to: context.identity == nil ? "/login" : "/m/contacts", type: .found)
        }
    }

    /// Only local paths: a login link must never send the user to another site.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/" }
        return next
    }
}
