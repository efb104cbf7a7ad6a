import Foundation
import Hummingbird
import HeraldCore
import NIOCore
import Synchronization

/// Turns errors into answers a user can act on: JSON for the API and the webhooks, a page for the browser.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let pages: PageRenderer
    /// The routes, to answer a method an address does not take with 405 rather than 404.
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HeraldError {
            return respond(error, request: request, context: context)
        } catch let error as NIOTooManyBytesError {
            // `collectBody(upTo:)` throws this, not an HTTPError: left to Hummingbird, it becomes
            // a 413 with an empty body instead of the error shape every other refusal has.
            let limit = error.maxBytes ?? context.maxUploadSize
            return respond(HeraldError(.malformed, "the request body is larger than \(ErrorMiddleware.size(limit)), the most this call reads"),
                           request: request, context: context, status: .contentTooLarge)
        } catch let error as HTTPError where error.status == .notFound && error.body == nil {
            // No route: a path that another method has is answered as such, with those methods.
            let allowed = routes.methods(at: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else {
                return respond(HeraldError(.notFound, "there is nothing at \(request.uri.path.prefix(200))"), request: request, context: context)
            }
            let names = allowed.map(\.rawValue)
            var response = respond(HeraldError(.methodNotAllowed, "\(request.uri.path.prefix(200)) takes \(names.joined(separator: ", ")), not \(request.method.rawValue)"),
                                   request: request, context: context)
            response.headers[.allow] = names.joined(separator: ", ")
            return response
        } catch let error as HTTPError {
            let kind: HeraldError.Kind = switch error.status {
            case .notFound: .notFound
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .contentTooLarge: .malformed
            default: error.status.code < 500 ? .malformed : .invalid
            }
            if error.status.code >= 500 { throw error }
            var herald = HeraldError(kind, ErrorMiddleware.inPlainWords(error.body) ?? error.body ?? error.status.reasonPhrase)
            if error.status == .contentTooLarge, error.body == nil {
                herald.message = "the request body is larger than \(ErrorMiddleware.size(context.maxUploadSize)), the most this call reads"
            }
            return respond(herald, request: request, context: context, status: error.status)
        }
    }

    /// Hummingbird's words for a path id that is no number ("Parameter 'abc' can not be
    /// converted to the expected type (Int64)") as a person would say them; nil for others.
    static func inPlainWords(_ message: String?) -> String? {
        guard let message, message.hasPrefix("Parameter '"), message.contains("can not be converted"),
              let value = message.dropFirst("Parameter '".count).split(separator: "'", maxSplits: 1, omittingEmptySubsequences: false).first
        else { return nil }
        return "'\(value.prefix(100))' in the address is not an id (a whole number from 1)"
    }

    func respond(_ error: HeraldError, request: Request, context: Context, status: HTTPResponse.Status? = nil) -> Response {
        let status = status ?? ErrorMiddleware.status(for: error.kind)
        var response = body(error, request: request, context: context, status: status)
        if let seconds = error.retryAfter { response.headers[.retryAfter] = String(max(1, seconds)) }
        return response
    }

    private func body(_ error: HeraldError, request: Request, context: Context, status: HTTPResponse.Status) -> Response {
        if request.uri.path.hasPrefix("/api/") || request.uri.path.hasPrefix("/webhooks/") || request.headers[.accept]?.contains("application/json") == true {
            return JSONResponse.make(ErrorBody(error: .init(code: error.kind.rawValue, message: error.message, problems: error.problems)),
                                     status: status)
        }
        let html = pages.render("error", title: "Error", context: context, page: ErrorPage(
            // An invalid input's message is its problems joined: listed below, said once.
            status: status.code, reason: status.reasonPhrase,
            message: error.kind == .invalid && !error.problems.isEmpty ? nil : error.message,
            problems: error.problems.map { ErrorPage.Problem(field: $0.field, reason: $0.reason) }), takingFlash: false)
        return HTMLResponse(html: html, status: status).response
    }

    /// An error as a page (`error.mustache`), for a browser.
    struct ErrorPage: PageModel {
        struct Problem: PageModel { let field: String, reason: String }
        let status: Int
        let reason: String
        /// Missing when the problems below say it all.
        let message: String?
        let problems: [Problem]
    }

    /// A byte limit as people say it: "64 MB", "512 KB".
    static func size(_ bytes: Int) -> String {
        // Rounded: the limit NIO reports may be a byte under the one asked for.
        bytes >= 1024 * 1024 ? "\((bytes + 512 * 1024) / 1024 / 1024) MB" : "\(max((bytes + 512) / 1024, 1)) KB"
    }

    static func status(for kind: HeraldError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .invalid: .unprocessableContent
        case .malformed: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .forbidden: .forbidden
        case .unauthorized: .unauthorized
        case .upstream: .badGateway
        case .unsupportedMediaType: .unsupportedMediaType
        case .tooManyRequests: .tooManyRequests
        case .methodNotAllowed: .methodNotAllowed
        }
    }
}

/// Every route's path and method, to tell a path that takes another method (405, with
/// `Allow`) from one no route has (404). Filled once the router has all its routes.
final class RouteTable: Sendable {
    private let routes = Mutex<[(path: RouterPath, method: HTTPRequest.Method)]>([])

    func fill(from router: Router<AppRequestContext>) {
        routes.withLock { $0 = router.routes.map { ($0.path, $0.method) } }
    }

    /// The methods routes take at `path`, sorted. (No HEAD: the router answers it for no route,
    /// and a HEAD of a click link must not count as a click.)
    func methods(at path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/")
        return Set(routes.withLock { $0.filter { Self.matches($0.path, parts) }.map(\.method.rawValue) }).sorted().compactMap { HTTPRequest.Method($0) }
    }

    static func matches(_ route: RouterPath, _ parts: [Substring]) -> Bool {
        var i = 0
        for element in route.components {
            if element.description == "**" { return true }
            guard i < parts.count, element ~= parts[i] else { return false }
            i += 1
        }
        return i == parts.count
    }
}

/// The JSON shape of every API error: `{"error": {"code", "message", "problems": [{"field", "reason"}]}}`.
struct ErrorBody: Encodable {
    struct Detail: Encodable {
        var code: String
        var message: String
        var problems: [Problem]
    }
    var error: Detail
}
