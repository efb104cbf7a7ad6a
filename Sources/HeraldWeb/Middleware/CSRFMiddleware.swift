import Hummingbird
import HummingbirdAuth
import HeraldCore
import HeraldStore

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
