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
                let now = WallClock.epochSeconds()
                if session.isDueForRenewal(at: now) {
                    context.sessions.withLockedSession { data in
                        data?.renewedAt = now
                        data?.expiresIn = WebSession.idleLifetime
                    }
                }
            } else {
                context.sessions.clearSession()
            }
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
