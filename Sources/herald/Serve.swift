import ArgumentParser
import Foundation
import HeraldCore
import HeraldDelivery
import HeraldStore
import HeraldWeb
import Hummingbird
import Logging
import Mail
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Herald: the web UI, the JSON API and the background services, in one process.",
        discussion: """
            On an empty database Herald creates an admin and prints its one-time password. \
            With --demo it also loads a demo organisation (leads, contacts, deals, views).
            """)

    @OptionGroup var db: DatabaseOptions

    @Option(name: .long, help: "The address to listen on. Env: HERALD_HOST.")
    var host: String = ProcessInfo.processInfo.environment["HERALD_HOST"] ?? "127.0.0.1"

    @Option(name: .long, help: "The port to listen on (0 picks a free one). Env: HERALD_PORT.")
    var port: Int = Int(ProcessInfo.processInfo.environment["HERALD_PORT"] ?? "") ?? 8080

    @Flag(name: .long, help: "Load the demo organisation's data into an empty database.")
    var demo = false

    @Flag(name: .long, help: """
        Mark the session cookie Secure (when Herald is served over HTTPS; automatic when --public-url is https://). \
        Env: HERALD_SECURE_COOKIES=1.
        """)
    var secureCookies = ProcessInfo.processInfo.environment["HERALD_SECURE_COOKIES"] == "1"

    @Option(name: .long, help: """
        When set, /metrics answers only requests with "Authorization: Bearer <token>" (for Prometheus's \
        bearer_token). Env: HERALD_METRICS_TOKEN.
        """)
    var metricsToken: String?

    /// `--metrics-token` or HERALD_METRICS_TOKEN: read here, not as the option's default, which
    /// `--help` would print.
    var resolvedMetricsToken: String? {
        metricsToken ?? Environment.value("HERALD_METRICS_TOKEN")
    }

    @Option(name: .long, help: """
        Where mail goes: smtp://user:pass@host:port (STARTTLS), smtps://… (implicit TLS) or file:///folder. \
        Overrides the admin settings page. Env: HERALD_TRANSPORT.
        """)
    var transport: String?

    /// `--transport`, else `HERALD_TRANSPORT`.
    var transportURL: String? { transport ?? Environment.value("HERALD_TRANSPORT") }

    @Option(name: .long, help: "The .eml outbox folder used when no transport is configured. Env: HERALD_OUTBOX.")
    var outbox: String = ProcessInfo.processInfo.environment["HERALD_OUTBOX"] ?? "outbox"

    @Option(name: .long, help: """
        This process's own folder: its name among several herald processes on one database, and its \
        delivery journal (replayed after a crash). Give each process its own. Env: HERALD_STATE_DIR.
        """)
    var stateDir: String = ProcessInfo.processInfo.environment["HERALD_STATE_DIR"] ?? "herald-state"

    @Option(name: .long, help: "SMTP connections to the relay, at most (1–64). Env: HERALD_SMTP_CONNECTIONS.")
    var smtpConnections: Int = Int(ProcessInfo.processInfo.environment["HERALD_SMTP_CONNECTIONS"] ?? "") ?? 4

    @Option(name: .long, help: """
        The address at which recipients' mail programs reach this server: the open pixel, click \
        redirects and unsubscribe links in every message point here (default: http://HOST:PORT). \
        Env: HERALD_PUBLIC_URL.
        """)
    var publicURL: String? = Environment.value("HERALD_PUBLIC_URL")

    @Option(name: .long, help: """
        Opens and clicks this many seconds or fewer after delivery count as a machine's (a mail \
        gateway's scan), not a person's (0–3600). Env: HERALD_MACHINE_WINDOW.
        """)
    var machineWindow: Int64 = Int64(ProcessInfo.processInfo.environment["HERALD_MACHINE_WINDOW"] ?? "") ?? MachineRules.defaultQuietSeconds

    @Option(name: .long, help: """
        The domain of VERP return paths: each mass email message's envelope sender becomes \
        bounce+TOKEN@<domain>, so that bounces name their message. Its MX must lead to --inbound-smtp. \
        Overrides the Mail delivery settings page. Env: HERALD_BOUNCE_DOMAIN.
        """)
    var bounceDomain: String?

    /// `--bounce-domain`, else `HERALD_BOUNCE_DOMAIN`.
    var bounceDomainName: String? { bounceDomain ?? Environment.value("HERALD_BOUNCE_DOMAIN") }

    @Option(name: .long, help: """
        host:port of an SMTP listener for bounces and replies to the bounce domain (for example \
        127.0.0.1:2526); mail for other domains is refused. Off when not given. Env: HERALD_INBOUND_SMTP.
        """)
    var inboundSmtp: String?

    /// `--inbound-smtp`, else `HERALD_INBOUND_SMTP`, as host and port.
    var inboundAddress: (host: String, port: Int)? {
        guard let text = inboundSmtp ?? Environment.value("HERALD_INBOUND_SMTP"),
              let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port),
              colon != text.startIndex else { return nil }
        return (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    @Option(name: .long, help: """
        After SIGTERM, how long messages already on the wire may take to finish (seconds, 0–600) before \
        the connections are closed; nothing new is handed to SMTP meanwhile, and what was claimed and \
        not sent goes back to the queue. A second SIGTERM stops at once. Env: HERALD_SHUTDOWN_GRACE.
        """)
    var shutdownGrace: Int64 = Int64(ProcessInfo.processInfo.environment["HERALD_SHUTDOWN_GRACE"] ?? "") ?? 10

    @Option(name: .long, help: """
        How long the relay may stay unreachable (refused, timed out, TLS or DNS failing) before the \
        sending mass emails pause for a person, like 24h, 90m or 3600s; until then Herald retries by \
        itself, waiting 30 s, then twice as long each time, up to 10 minutes. Env: HERALD_OUTAGE_PAUSE_AFTER.
        """)
    var outagePauseAfter: String = ProcessInfo.processInfo.environment["HERALD_OUTAGE_PAUSE_AFTER"] ?? "24h"

    /// `--outage-pause-after` in seconds, or nil when it is not a duration.
    var outagePauseSeconds: Int64? {
        let text = outagePauseAfter.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = text.last, let value = Int64(text.dropLast()), value > 0 else { return nil }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86400
        default: return nil
        }
    }

    @Option(name: .long, help: """
        The DNS server that "Check DNS" of sending domains asks, as address:port (IPv4), instead of \
        the system's resolver (/etc/resolv.conf). Env: HERALD_DNS_SERVER.
        """)
    var dnsServer: String? = Environment.value("HERALD_DNS_SERVER")

    @Option(name: .long, help: """
        SpamAssassin's spamd, as host:port, for "Check for spam" and the threshold that may refuse \
        mass email (default 127.0.0.1:783, where Debian's spamd listens). Env: HERALD_SPAMD.
        """)
    var spamd: String = Environment.value("HERALD_SPAMD") ?? "127.0.0.1:783"

    @Option(name: .long, help: ArgumentHelp("bcrypt cost for password hashes (4–16).", visibility: .hidden))
    var bcryptCost: UInt8 = 12

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port: \(port) is not a port (0–65535)") }
        guard (4...16).contains(bcryptCost) else { throw ValidationError("--bcrypt-cost must be from 4 to 16") }
        guard (1...64).contains(smtpConnections) else { throw ValidationError("--smtp-connections must be from 1 to 64") }
        guard (0...3600).contains(machineWindow) else { throw ValidationError("--machine-window must be from 0 to 3600 seconds") }
        guard (0...600).contains(shutdownGrace) else { throw ValidationError("--shutdown-grace must be from 0 to 600 seconds") }
        guard let outage = outagePauseSeconds, (60...30 * 86400).contains(outage) else {
            throw ValidationError("--outage-pause-after: '\(outagePauseAfter)' is not a duration from 1m to 30d (like 24h, 90m or 3600s)")
        }
        if let publicURL {
            guard let url = URL(string: publicURL), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil,
                  url.query == nil, url.fragment == nil else {
                throw ValidationError("--public-url: '\(publicURL)' is not an http:// or https:// address (like https://crm.example.com)")
            }
        }
        if let bounceDomainName, let problem = ReturnPaths.problem(withDomain: bounceDomainName) {
            throw ValidationError("--bounce-domain: \(problem)")
        }
        if (inboundSmtp ?? ProcessInfo.processInfo.environment["HERALD_INBOUND_SMTP"]).map({ !$0.isEmpty }) == true, inboundAddress == nil {
            throw ValidationError("--inbound-smtp: give host:port, for example 127.0.0.1:2526")
        }
        if let transportURL {
            do throws(MailError) { _ = try TransportURL(transportURL) } catch { throw ValidationError("--transport: \(error.message)") }
        }
        if let dnsServer {
            do throws(MailError) { _ = try DNSResolver(server: dnsServer) } catch { throw ValidationError("--dns-server: \(error.message)") }
        }
        do throws(MailError) { _ = try SpamAssassinClient(address: spamd) } catch { throw ValidationError("--spamd: \(error.message)") }
    }

    /// Whether this process can listen on `host`:`port` now: binds a socket there and closes
    /// it (port 0 binds any free one). The server binds again a moment later.
    static func checkListenable(host: String, port: Int) throws {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &found)
        guard resolved == 0, let first = found else {
            throw CLIError("--host: cannot listen on \(host): \(String(cString: gai_strerror(resolved))) (an address of this machine, e.g. 127.0.0.1 or 0.0.0.0)")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        if bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            let reason = String(cString: strerror(errno))
            throw CLIError("cannot listen on \(host):\(port): \(reason)"
                           + (errno == EADDRINUSE ? "; another program (another herald serve?) uses the port: stop it, or choose --port" : ""))
        }
    }

    /// Whether this process can write files in `folder`, which it makes if need be.
    static func checkWritable(folder: String) throws {
        let probe = folder + "/.herald-write-check-\(getpid())"
        var reason = FileError.makeFolder(folder)
        if reason == nil {
            do { try Data("x".utf8).write(to: URL(fileURLWithPath: probe)) } catch { reason = FileError.reason(error) }
            try? FileManager.default.removeItem(atPath: probe)
        }
        if let reason {
            throw CLIError("--outbox: cannot write in \(folder): \(reason); mail goes there until a transport is "
                           + "configured: give --outbox a folder this process may write, or --transport")
        }
    }

    func run() async throws {
        let logger = try db.logger("herald")
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = logger.logLevel
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        // Before anything is made (the first admin's one-time password among it), so that a
        // port in use or a host not on this machine fails first, in words.
        try Serve.checkListenable(host: host, port: port)
        // Before the database too, which keeps its secret key in this folder by default.
        let state: StateDirectory
        do {
            state = try StateDirectory(path: stateDir)
        } catch let error as HeraldError {
            throw CLIError(error.optionText)
        }
        let store = try await db.openStore(logger: logger, stateDir: stateDir)
        let transports = TransportSource(override: transportURL, outbox: outbox, settings: store.settings,
                                         poolConfiguration: SMTPPoolConfiguration(maximumConnections: smtpConnections), logger: logger)
        // Mail that goes to the outbox would fail message by message in a folder Herald cannot write.
        // Checked before the first admin is made: its one-time password, printed by a run that
        // then fails, would be easy to miss.
        if case .outbox? = try? await transports.configured().origin {
            do { try Serve.checkWritable(folder: transports.outbox) } catch {
                await store.close()
                throw error
            }
        }
        let accounts = Accounts(store: store, bcryptCost: bcryptCost)
        if let (admin, password) = try await accounts.bootstrapAdmin() {
            say("""
                Created the first admin. Log in with
                  email:    \(admin.email)
                  password: \(password)
                This password is shown once; change it after logging in.
                """)
        }
        if demo {
            let owners = try await store.users.all().map(\.id)
            if try await DemoData.load(into: store, owners: owners) {
                say("Loaded the demo organisation: 300 leads, 300 contacts, 150 deals, 3 views and a static list.")
            }
        }
        let host = self.host
        let publicURL = PublicURL(self.publicURL ?? "http://\(host):\(port)")
        let links = EngagementLinks(secret: try await store.settings.engagementSecret(), publicURL: publicURL)
        let returnPaths = ReturnPathSource(override: bounceDomainName, settings: store.settings, signer: links.signer)
        var engine = EngineConfiguration(node: state.node)
        engine.policy.shutdownGrace = shutdownGrace
        engine.policy.retry.outagePauseAfter = outagePauseSeconds ?? engine.policy.retry.outagePauseAfter
        let resolver = try dnsServer.map { server throws(MailError) in try DNSResolver(server: server) } ?? DNSResolver()
        let domains = SendingDomains(store: store, transports: transports, returnPaths: returnPaths, publicURL: publicURL,
                                     resolver: resolver, logger: logger)
        let delivery = try Delivery(store: store, transports: transports,
                                    maker: TemplateMessageMaker(store: store, links: links, returnPaths: returnPaths, domains: domains),
                                    state: state, links: links, quietSeconds: machineWindow, configuration: engine,
                                    returnPaths: returnPaths, domains: domains, spamd: try SpamAssassinClient(address: spamd), logger: logger)
        var inbound: [any Service] = []
        if let inboundAddress {
            let (inboundHost, inboundPort) = inboundAddress
            let mail = InboundMail(store: store, returnPaths: returnPaths, recorder: delivery.bounces, transports: transports,
                                   domains: domains, logger: logger)
            inbound.append(mail.listener(host: inboundHost, port: inboundPort, serverName: try await returnPaths.domain() ?? "localhost",
                                         onListening: { say("Inbound SMTP for bounces and replies at \(inboundHost):\($0)") }))
        }
        let guessesURL = self.publicURL == nil
        let app = try await buildApplication(
            // Served over HTTPS (as the public URL says), the session cookie never travels in clear.
            configuration: WebConfiguration(host: host, port: port,
                                            secureCookies: secureCookies || self.publicURL?.lowercased().hasPrefix("https://") == true,
                                            bcryptCost: bcryptCost, metricsToken: resolvedMetricsToken),
            store: store, delivery: delivery, metrics: registry, logger: logger,
            onServerRunning: { port in
                if guessesURL { publicURL.set("http://\(host):\(port)") }
                say("Herald is running at http://\(host):\(port)/")
            })
        let group = ServiceGroup(configuration: .init(
            services: delivery.services + inbound + [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        // The first SIGTERM or SIGINT shuts down gracefully (the group hears it); a second one
        // ends the process at once: every outcome noted so far is in the journal, which the
        // next start replays.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let secondSignal = Task {
            var heard = 0
            for await signal in signals {
                heard += 1
                guard heard >= 2 else { continue }
                logger.warning("a second \(signal): stopping at once; the delivery journal keeps what was sent")
                Foundation.exit(1)
            }
        }
        defer { secondSignal.cancel() }
        do {
            try await group.run()
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

/// Prints at once (standard output is block-buffered when piped), so the login and the URL
/// show up as soon as they are known.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
