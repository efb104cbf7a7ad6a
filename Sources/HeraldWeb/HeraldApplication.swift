import Foundation
import Hummingbird
import HummingbirdAuth
import HummingbirdCore
import HeraldCore
import HeraldDelivery
import HeraldStore
import Logging
import Prometheus
import ServiceLifecycle

/// How the web application runs.
public struct WebConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (tests).
    public var port: Int
    /// Set the `Secure` flag on the session cookie (behind HTTPS).
    public var secureCookies: Bool
    /// The bcrypt cost for new password hashes; lower only in tests.
    public var bcryptCost: UInt8
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    public var metricsToken: String?
    /// Where uploaded CSV files wait between the import steps (and API imports are spooled).
    /// Processes that serve one database behind a load balancer on one machine share it.
    public var uploadsFolder: String

    public init(host: String = "127.0.0.1", port: Int = 8080, secureCookies: Bool = false, bcryptCost: UInt8 = 12, metricsToken: String? = nil,
                uploadsFolder: String = FileManager.default.temporaryDirectory.appendingPathComponent("herald-imports").path) {
        self.host = host
        self.port = port
        self.secureCookies = secureCookies
        self.bcryptCost = bcryptCost
        self.metricsToken = metricsToken
        self.uploadsFolder = uploadsFolder
    }
}

/// Builds Herald's web application: pages, the JSON API, health and metrics.
///
/// ```swift
/// let app = try await buildApplication(configuration: .init(port: 0), store: store, delivery: delivery,
///                                      metrics: registry, logger: logger)
/// try await app.runService()
/// ```
public func buildApplication(
    configuration: WebConfiguration, store: Store, delivery: Delivery, metrics: PrometheusCollectorRegistry,
    logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let router = try await buildRouter(configuration: configuration, store: store, delivery: delivery, metrics: metrics, logger: logger)
    return Application(
        router: router,
        server: .http1(tracking: delivery),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Herald"),
        services: [SessionSweeper(store: store.keyValues)],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// The router alone, for tests that call routes without a server (`app.test(.router)`).
public func buildRouter(configuration: WebConfiguration, store: Store, delivery: Delivery, metrics: PrometheusCollectorRegistry,
                        logger: Logger) async throws -> Router<AppRequestContext> {
    let pages = try await PageRenderer.load()
    let accounts = Accounts(store: store, bcryptCost: configuration.bcryptCost)
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: MetricsMiddleware())
    let routes = RouteTable()
    router.add(middleware: ErrorMiddleware(pages: pages, routes: routes))

    router.get("/healthz") { _, _ in
        try await store.database.read { db in try await db.raw("SELECT 1 AS ok").run() }
        return JSONResponse.make(["status": "ok"])
    }
    let metricsToken = configuration.metricsToken
    router.get("/metrics") { request, _ in
        if let metricsToken {
            let presented = request.headers[.authorization].map { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : "" } ?? ""
            guard Secrets.constantTimeEquals(presented, metricsToken) else {
                return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer"])
            }
        }
        var buffer: [UInt8] = []
        metrics.emit(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }
    router.get("/api/openapi.json") { _, _ in
        guard let url = Bundle.module.url(forResource: "Resources", withExtension: nil),
              let data = FileManager.default.contents(atPath: url.appendingPathComponent("openapi.json").path) else {
            throw HeraldError.notFound("the API description is missing from the build")
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
    if let publicFolder = Bundle.module.url(forResource: "Resources", withExtension: nil)?.appendingPathComponent("public").path {
        router.add(middleware: FileMiddleware(publicFolder, urlBasePath: "/static", logger: logger))
    }

    EngagementPages(store: store, delivery: delivery, pages: pages).register(on: router)
    // Providers post without a session or CSRF token; each is authenticated by its own secret.
    BounceWebhooks(store: store, delivery: delivery, logger: logger).register(on: router)

    let sessionMiddleware = SessionMiddleware<AppRequestContext>(
        storage: SessionPersistDriver(store: store.keyValues),
        configuration: .init(
            sessionCookieParameters: .init(name: "herald_session", path: "/", secure: configuration.secureCookies, sameSite: .lax),
            keyPrefix: "session.", defaultSessionExpiration: WebSession.idleLifetime))
    let app = router.group()
        .add(middleware: sessionMiddleware)
        .add(middleware: AuthenticationMiddleware(store: store))
    AuthPages(store: store, accounts: accounts, pages: pages, secureCookies: configuration.secureCookies).register(on: app)

    let authenticated = app.group()
        .add(middleware: RequireUserMiddleware())
        .add(middleware: AuditMiddleware(logger: logger))
        .add(middleware: CSRFMiddleware())
    let api = authenticated.group("api/v1")
    let uploads = ImportUploads(folder: configuration.uploadsFolder)
    ModulesAPI(store: store).register(on: api)
    RecordsAPI(store: store, delivery: delivery).register(on: api)
    ViewsAPI(store: store).register(on: api)
    ListsAPI(store: store).register(on: api)
    ImportExportAPI(store: store, delivery: delivery, uploads: uploads).register(on: api)
    AccountAPI(store: store, accounts: accounts).register(on: api)
    let mail = MailTesting(store: store, delivery: delivery)
    let settings = MailSettings(store: store, delivery: delivery)
    TemplatesAPI(store: store, templates: delivery.templates, mail: mail).register(on: api)
    SendersAPI(delivery: delivery).register(on: api)
    DomainsAPI(store: store, delivery: delivery, settings: settings).register(on: api)
    TransportSettingsAPI(settings: settings).register(on: api)
    MassEmailsAPI(store: store, delivery: delivery).register(on: api)
    SuppressionsAPI(store: store, delivery: delivery).register(on: api)
    ActivitiesAPI(activities: delivery.activities).register(on: api)
    BouncesAPI(store: store, delivery: delivery, settings: settings).register(on: api)

    RecordPages(store: store, delivery: delivery, pages: pages).register(on: authenticated)
    ErasurePages(store: store, pages: pages).register(on: authenticated)
    ViewPages(store: store, pages: pages).register(on: authenticated)
    ImportPages(store: store, delivery: delivery, pages: pages, uploads: uploads).register(on: authenticated)
    AdminPages(store: store, pages: pages).register(on: authenticated)
    TemplatePages(store: store, templates: delivery.templates, pages: pages, mail: mail).register(on: authenticated)
    SenderPages(store: store, delivery: delivery, pages: pages).register(on: authenticated)
    DomainPages(store: store, delivery: delivery, settings: settings, pages: pages).register(on: authenticated)
    MailSettingsPages(store: store, pages: pages, delivery: delivery, settings: settings).register(on: authenticated)
    AccountPages(store: store, accounts: accounts, pages: pages).register(on: authenticated)
    UserPages(store: store, accounts: accounts, pages: pages).register(on: authenticated)
    MassEmailPages(store: store, delivery: delivery, pages: pages).register(on: authenticated)
    SuppressionPages(store: store, delivery: delivery, pages: pages).register(on: authenticated)
    ActivityPages(store: store, delivery: delivery, pages: pages).register(on: authenticated)
    BouncePages(store: store, delivery: delivery, pages: pages).register(on: authenticated)
    routes.fill(from: router)
    return router
}

/// Deletes expired sessions every hour.
struct SessionSweeper: Service {
    let store: KeyValueStore

    func run() async throws {
        // Graceful shutdown cancels the sleep; that is the normal way out, not an error.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await store.purgeExpired()
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
