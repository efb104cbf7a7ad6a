import Foundation
import HeraldCore
import HeraldDelivery
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Logging
import Mail
import NIOCore
import Prometheus
import Testing

/// A Herald app on a fresh SQLite file, with an admin, a plain user and a token for each.
struct WebFixture {
    var store: Store
    var admin: User
    var adminPassword: String
    var adminToken: String
    var user: User
    var userToken: String
    /// The folder of the default file transport: each message sent is an `.eml` file here.
    var outbox: String
    /// The delivery side behind the routes: its engine sends when a test runs it, its
    /// recorder holds tracking hits until flushed.
    var delivery: Delivery
    /// This app's own folder for CSV uploads waiting between the import steps.
    var uploadsFolder: String

    /// - Parameters:
    ///   - transport: a transport URL given as if on the command line (`--transport`).
    ///   - dnsServer: the DNS server the sending domains' check asks (`--dns-server`).
    ///   - spamd: SpamAssassin's spamd (`--spamd`); by default the test command's (HERALD_TEST_SPAMD).
    ///   - live: through a real HTTP server on a loopback port, with the channel handlers of
    ///     `herald serve` (the tracking pixel's), instead of calling the router directly.
    static func with(transport: String? = nil, dnsServer: String? = nil, metricsToken: String? = nil, spamd: String? = nil,
                     live: Bool = false, _ body: @escaping @Sendable (WebFixture, any TestClientProtocol) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("herald-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let store = try await Store.open(.sqlite(path: dir.appendingPathComponent("h.sqlite").path), logger: logger)
        let accounts = Accounts(store: store, bcryptCost: 4)
        let (admin, password) = try await accounts.bootstrapAdmin()!
        let user = try await accounts.createUser(email: "user@example.com", name: "Plain User", role: .user, password: "user-password-1", timeZone: "Europe/Berlin")
        let outbox = dir.appendingPathComponent("outbox").path
        let links = EngagementLinks(secret: try await store.settings.engagementSecret(), publicURL: PublicURL("http://herald.test"))
        let transports = TransportSource(override: transport, outbox: outbox, settings: store.settings, logger: logger)
        let returnPaths = ReturnPathSource(override: nil, settings: store.settings, signer: links.signer)
        let domains = SendingDomains(store: store, transports: transports, returnPaths: returnPaths, publicURL: links.publicURL,
                                     resolver: try dnsServer.map { try DNSResolver(server: $0) } ?? DNSResolver(), logger: logger)
        let delivery = try Delivery(
            store: store, transports: transports,
            maker: TemplateMessageMaker(store: store, links: links, returnPaths: returnPaths, domains: domains),
            state: StateDirectory(path: dir.appendingPathComponent("state").path),
            links: links, returnPaths: returnPaths, domains: domains,
            spamd: try (spamd ?? ProcessInfo.processInfo.environment["HERALD_TEST_SPAMD"]).map { try SpamAssassinClient(address: $0) } ?? .local,
            logger: logger)
        let fixture = WebFixture(
            store: store, admin: admin, adminPassword: password,
            adminToken: try await store.tokens.create(for: admin.id, name: "test").secret,
            user: user, userToken: try await store.tokens.create(for: user.id, name: "test").secret,
            outbox: outbox, delivery: delivery, uploadsFolder: dir.appendingPathComponent("uploads").path)
        let router = try await buildRouter(configuration: .init(port: 0, bcryptCost: 4, metricsToken: metricsToken, uploadsFolder: fixture.uploadsFolder),
                                           store: store, delivery: delivery,
                                           metrics: PrometheusCollectorRegistry(), logger: logger)
        do {
            if live {
                let app = Application(router: router, server: .http1(tracking: delivery),
                                      configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
                try await app.test(.live) { client in try await body(fixture, client) }
            } else {
                try await Application(router: router, logger: logger).test(.router) { client in try await body(fixture, client) }
            }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body)) }
    /// The problems' field names of an error answer.
    var problemFields: [String] {
        guard case .object(let o)? = json, case .object(let e)? = o["error"], case .array(let ps)? = e["problems"] else { return [] }
        return ps.compactMap { $0.objectValue?["field"]?.stringValue }
    }
}

extension TestClientProtocol {
    func api(_ method: HTTPRequest.Method, _ uri: String, token: String?, json: JSONValue? = nil, raw: String? = nil,
             contentType: String = "application/json") async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer? = nil
        if let json { body = ByteBuffer(bytes: try JSONEncoder().encode(json)) }
        if let raw { body = ByteBuffer(string: raw) }
        if body != nil { headers[.contentType] = contentType }
        return try await execute(uri: uri, method: method, headers: headers, body: body)
    }
}

import NIOFoundationCompat
