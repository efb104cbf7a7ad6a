import HeraldCore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// The audit line of each change a logged-in user asks for: who, which route, how it ended,
/// never the body or the query.
@Suite struct AuditMiddlewareTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    struct Capture: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
                 function: String, line: UInt) {
            let fields = (metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            lines.lines.withLock { $0.append("\(level) \(message) \(fields)") }
        }
    }

    struct LoggedIn: RouterMiddleware {
        typealias Context = AppRequestContext
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var context = context
            context.identity = User(id: 7, email: "ada@example.com", name: "Ada", role: .admin, timeZone: "UTC", isActive: true)
            return try await next(request, context)
        }
    }

    @Test func changesAndRefusalsAreLoggedWithoutBodiesOrQueries() async throws {
        let lines = Lines()
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: LoggedIn())
        router.add(middleware: AuditMiddleware(logger: Logger(label: "audit") { _ in Capture(lines: lines) }))
        router.post("/account/users/:id") { _, _ in Response(status: .seeOther) }
        router.delete("/api/v1/suppressions/:address") { _, _ -> Response in throw HeraldError.forbidden("only admins may do this") }
        router.get("/m/contacts") { _, _ in Response(status: .ok) }
        try await Application(router: router).test(.router) { client in
            _ = try await client.execute(uri: "/account/users/5?token=abc", method: .post, body: ByteBuffer(string: "password=hunter2"))
            _ = try await client.execute(uri: "/api/v1/suppressions/a%40b.example", method: .delete)
            _ = try await client.execute(uri: "/m/contacts", method: .get)
        }
        #expect(lines.all.count == 2, "a read is not logged")
        #expect(lines.all.first == "info action method=POST path=/account/users/5 role=admin status=303 user=ada@example.com user_id=7 via=session")
        #expect(lines.all.last?.hasPrefix("notice refused method=DELETE path=/api/v1/suppressions/a%40b.example") == true)
        #expect(!lines.all.joined().contains("hunter2") && !lines.all.joined().contains("abc"))
    }
}
