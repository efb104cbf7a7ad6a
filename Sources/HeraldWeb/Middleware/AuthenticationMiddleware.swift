import Hummingbird
import HummingbirdAuth
import HeraldCore
import HeraldStore

/// Finds who is calling: an API token (`Authorization: Bearer hrd_…`) or a session cookie.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: Store

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let authorization = request.headers[.authorization] {
            guard authorization.lowercased().hasPrefix("bearer "),
                  let user = try await store.tokens.user(forSecret: String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces))
            else {
                throw HeraldError(.unauthorized, "the API token is not valid or has been revoked")
            }
            context.identity = user
            context.viaToken = true
        } else if let session = context.sessions.session {
            // A new password or a deactivation moves the user's epoch on and so ends this session.
            if let user = try await store.users.find(session.userID), user.isActive, (session.epoch ?? 0) == user.sessionEpoch {
                context.identity = user
            } else {
                context.sessions.clearSession()
            }
        }
        return try await next(request, context)
    }
}

/// Refuses anonymous callers: 401 for the API, a redirect to the login page for pages.
struct RequireUserMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.identity != nil else {
            if request.uri.path.hasPrefix("/api/") {
                throw HeraldError(.unauthorized, "log in or send an API token (Authorization: Bearer …)")
            }
            let target = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return .redirect(to: "/login?next=" + (target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"), type: .found)
        }
        return try await next(request, context)
    }
}

/// Refuses users who are not admins, with 403.
struct RequireAdminMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.identity?.isAdmin == true else {
            throw HeraldError.forbidden("only admins may do this")
        }
        return try await next(request, context)
    }
}

/// Every state-changing request that rides on a session cookie must carry the session's
/// CSRF token: in the `X-CSRF-Token` header or a `_csrf` form field, never in the URL (where
/// logs and Referer headers would keep it). A `multipart/form-data` upload streams, so its
/// `_csrf` field is checked by the one reader of such bodies (``ImportUploads``) before it
/// stores anything; ``FormData`` refuses them. Token-authenticated API calls carry no cookie,
/// so they cannot be forged this way.
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard ![.get, .head, .options].contains(request.method), !context.viaToken,
              let expected = context.sessions.session?.csrf else {
            return try await next(request, context)
        }
        var request = request
        var presented = request.headers.first(where: { $0.name.canonicalName == "x-csrf-token" })?.value
        if presented == nil, request.headers[.contentType]?.lowercased().hasPrefix("multipart/form-data") == true {
            // Only the CSV upload reads a multipart body, and it checks the field itself; any
            // other route (most never read their body) must not take one unchecked.
            guard CSRFMiddleware.isUpload(request) else {
                throw HeraldError.forbidden("the form has expired or did not come from Herald; reload the page and try again")
            }
            var context = context
            context.csrfInBody = expected
            return try await next(request, context)
        }
        if presented == nil, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
            let body = try await request.collectBody(upTo: context.maxUploadSize)
            presented = FormData(String(buffer: body))["_csrf"]
        }
        guard let presented, Secrets.constantTimeEquals(presented, expected) else {
            throw HeraldError.forbidden("the form has expired or did not come from Herald; reload the page and try again")
        }
        return try await next(request, context)
    }
}

extension CSRFMiddleware {
    /// `POST /m/{module}/import`: the one route that streams a multipart body (``ImportUploads``).
    static func isUpload(_ request: Request) -> Bool {
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: false)
        return request.method == .post && parts.count == 4 && parts[0].isEmpty && parts[1] == "m" && !parts[2].isEmpty && parts[3] == "import"
    }
}

extension Secrets {
    /// Compares secrets without leaking, through timing, how much of them matched.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
