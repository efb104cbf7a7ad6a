import Hummingbird
import HummingbirdAuth
import HeraldCore
import HeraldStore

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
