import Hummingbird
import HeraldCore
import Logging

/// One log line for each request of a logged-in user that may change something (every method
/// but GET and HEAD): who, which route and how it ended; a refusal (403) at notice, for the
/// operator to see who tried what. Bodies and queries are never logged: they carry passwords,
/// secrets and the people in the records.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method != .get, request.method != .head, let user = context.identity else {
            return try await next(request, context)
        }
        do {
            let response = try await next(request, context)
            log(request, user: user, status: response.status.code, via: context.viaToken)
            return response
        } catch let error as HeraldError {
            log(request, user: user, status: ErrorMiddleware.status(for: error.kind).code, via: context.viaToken)
            throw error
        }
    }

    func log(_ request: Request, user: User, status: Int, via token: Bool) {
        let metadata: Logger.Metadata = [
            "user_id": "\(user.id)", "user": "\(user.email)", "role": "\(user.role.rawValue)",
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(status)", "via": "\(token ? "token" : "session")",
        ]
        logger.log(level: status == 403 ? .notice : .info, status == 403 ? "refused" : "action", metadata: metadata)
    }
}
