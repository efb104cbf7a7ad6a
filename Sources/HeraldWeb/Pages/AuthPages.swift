import Foundation
import Hummingbird
import HeraldCore
import HeraldStore

/// The login and logout pages. A successful login starts a session with a fresh CSRF token.
struct AuthPages {
    let store: Store
    let accounts: Accounts
    let pages: PageRenderer
    /// Whether cookies are marked Secure (served over HTTPS).
    let secureCookies: Bool
    /// One for the server: throttles guessing, bounds password checks at once.
    let gate = LoginGate()
    /// The login form's own CSRF token travels in this cookie and in the form (double submit):
    /// nobody is logged in yet, so there is no session to hold it. Without it another site
    /// could log a visitor into an account of the attacker's, and read what they then type.
    static let formCookie = "herald_login"
    /// A login form is a few hundred bytes; nobody is known yet, so nothing more is read.
    static let formLimit = 16 * 1024

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/login") { request, context in
            if context.identity != nil { return Response.redirect(to: "/", type: .found) }
            return loginPage(context: context, next: AuthPages.safeNext(request.uri.queryParameters["next"].map(String.init)))
        }
        app.post("/login") { request, context in
            let form = try await FormData.read(request, context: context, limit: AuthPages.formLimit)
            let email = form["email"] ?? ""
            let next = AuthPages.safeNext(form["next"])
            func refuse(_ error: String, _ status: HTTPResponse.Status, retryAfter: Int64? = nil) -> Response {
                var response = loginPage(context: context, next: next, email: email, error: error, status: status)
                if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
                return response
            }
            guard let expected = request.cookies[AuthPages.formCookie]?.value, let presented = form["_login"],
                  Secrets.constantTimeEquals(presented, expected) else {
                return refuse("The login form had expired. Please try again.", .forbidden)
            }
            let account = email.trimmingCharacters(in: .whitespaces).lowercased()
            let address = context.clientAddress
            switch await gate.admit(account: account, address: address, now: WallClock.epochSeconds()) {
            case .wait(let seconds):
                return refuse("Too many failed attempts. Try again in \(seconds) second\(seconds == 1 ? "" : "s").", .tooManyRequests,
                              retryAfter: seconds)
            case .busy:
                return refuse("Too many people are logging in at once. Try again in a moment.", .serviceUnavailable, retryAfter: 1)
            case .go:
                break
            }
            let user: User?
            do {
                user = try await accounts.login(email: email, password: form["password"] ?? "")
            } catch {
                await gate.finish(account: account, address: address, succeeded: false, now: WallClock.epochSeconds())
                throw error
            }
            await gate.finish(account: account, address: address, succeeded: user != nil, now: WallClock.epochSeconds())
            guard let user else { return refuse("Wrong email or password.", .unauthorized) }
            context.sessions.createSession(WebSession(for: user))
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

    /// The login form with a fresh form token, in the page and in its cookie (only for
    /// `/login`, never sent cross-site).
    func loginPage(context: AppRequestContext, next: String, email: String? = nil, error: String? = nil,
                   status: HTTPResponse.Status = .ok) -> Response {
        let token = Secrets.random(bytes: 18)
        let model = Login(next: next, email: email, error: error, loginToken: token)
        var response = HTMLResponse(html: pages.render("login", title: "Log in", context: context, page: model), status: status).response
        response.setCookie(Cookie(name: AuthPages.formCookie, value: token, maxAge: 3600, path: "/login", secure: secureCookies,
                                  httpOnly: true, sameSite: .strict))
        return response
    }

    /// The login form (`login.mustache`).
    struct Login: PageModel {
        let next: String
        let email: String?
        let error: String?
        let loginToken: String
    }

    /// Only paths of this site: a login link must never send the user to another one. Browsers
    /// drop tabs and line breaks from a URL and read `\\` as `/` (WHATWG URL), so `/\t/evil.com`
    /// and `/\\evil.com` are `//evil.com` to them: any control character or backslash is
    /// refused, and what is left must parse as a path with no scheme and no host.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"),
              next.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F && $0 != "\\" }),
              let parsed = URLComponents(string: next), parsed.scheme == nil, parsed.host == nil, parsed.path.hasPrefix("/")
        else { return "/" }
        return next
    }
}
