import ArgumentParser
import ChildProcess
import CMallocArenas
import Foundation
import HeraldCore
import HeraldDelivery
import HeraldStore
import Logging
import Mail
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

struct MassEmailBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-mass-email",
        abstract: "Benchmark a mass email end to end into an SMTP sink.",
        discussion: """
            Loads N contacts into a new database, then sends them one mass email (merge fields, \
            links, a text part made from the HTML) through Herald's scheduler and sending engine \
            to the SMTP server at --smtp (e.g. Postfix's smtp-sink). Prints messages per second \
            from the start to the last outcome written, when the last recipients were resolved \
            (messages are sent meanwhile), the size of a message, and the peak RSS \
            of this process with, apart, the peak of its anonymous memory (what it holds: heap \
            and stacks; the rest of the RSS is pages of mapped files, chiefly its own executable). \
            scripts/mass-email-bench.sh runs it beside smtp-source and prints the ratio.
            """)

    @Option(help: "How many contacts (recipients).") var recipients = 100_000
    @Option(help: "The database to create: a new SQLite file, or an empty PostgreSQL database URL.")
    var database = "herald-mass-bench.sqlite"
    @Option(help: "host:port of the SMTP sink, spoken to in clear.") var smtp: String?
    @Option(help: "A transport URL instead of --smtp, e.g. 'smtp://user:pw@127.0.0.1:587?tls=required&ca=/tmp/ca.pem'.")
    var transport: String?
    @Option(help: "SMTP connections.") var connections = 4
    @Option(help: "Sign every message with DKIM: none, rsa (RSA-2048), or rsa+ed25519 (two signatures over one body hash).")
    var dkim = "none"
    @Option(help: "The state folder for the engine's journal (must be new).") var stateDir = "herald-mass-bench-state"
    @Option(help: ArgumentHelp("all, or prepare / send (all runs prepare in a child process).", visibility: .hidden))
    var phase = "all"

    func validate() throws {
        guard (100...20_000_000).contains(recipients) else { throw ValidationError("--recipients must be from 100 to 20000000") }
        guard (1...64).contains(connections) else { throw ValidationError("--connections must be from 1 to 64") }
        guard ["all", "prepare", "send"].contains(phase) else { throw ValidationError("--phase must be all, prepare or send") }
        guard (smtp == nil) != (transport == nil) else { throw ValidationError("give either --smtp host:port or --transport URL") }
        guard ["none", "rsa", "rsa+ed25519"].contains(dkim) else { throw ValidationError("--dkim: none, rsa or rsa+ed25519, not '\(dkim)'") }
        if let transport {
            do { _ = try TransportURL(transport) } catch { throw ValidationError("--transport: \(error.message)") }
        }
        if phase != "send", !database.contains("://"), FileManager.default.fileExists(atPath: database) {
            throw ValidationError("--database: \(database) exists; give a new path")
        }
    }

    func run() async throws {
        var logger = Logger(label: "herald.bench")
        logger.logLevel = .warning
        switch phase {
        case "prepare":
            try await prepare(logger: logger)
        case "send":
            try await send(logger: logger)
        default:
            // The contacts are loaded by a child process, so that the peak RSS reported is the
            // sending's alone, not the importer's.
            let child = try ChildProcess(["/proc/self/exe", "bench-mass-email", "--phase", "prepare", "--recipients", String(recipients),
                                          "--database", database, "--state-dir", stateDir]
                                         + (transport.map { ["--transport", $0] } ?? ["--smtp", smtp ?? ""]))
            guard child.wait() == 0 else { throw CLIError("preparing the bench failed") }
            try await send(logger: logger)
        }
    }

    /// The secrets' key, shared by both phases: beside the state folder, since the database
    /// may be a PostgreSQL URL (a key named after it made a folder called `postgres:`).
    var keyFile: String { stateDir + ".key" }

    /// Loads the contacts, a template, a sender and a view of everyone.
    func prepare(logger: Logger) async throws {
        let store = try await Store.open(try DatabaseLocation(parsing: database), logger: logger,
                                         keyring: try SecretKeyring.load(file: keyFile))
        let owner = try await store.users.create(email: "bench@example.com", name: "Bench", role: .admin, passwordHash: "-", timeZone: "UTC")
        let contacts = try await store.modules.named("contacts")
        var options = ImportOptions(owner: owner.id)
        options.atomic = false
        options.batchSize = 2_000
        options.duplicates = .allow
        let rowsPerChunk = 2_000
        let header = Array("First Name,Last Name,Email,Mailing Country,Lead Source\n".utf8)
        let generated = ByteChunks(unfolding: GeneratedCSV(
            header: header, chunks: (recipients + rowsPerChunk - 1) / rowsPerChunk, rowsPerChunk: rowsPerChunk, total: recipients,
            countries: ["Germany", "France"], sources: contacts.field("lead_source")!.picklistValues).next)
        let report = try await store.importer.run(into: contacts, options: options, input: generated)
        guard report.created == recipients else { throw CLIError("import created \(report.created) of \(recipients)") }

        _ = try await store.templates.create(
            in: contacts, name: "Bench", subject: "News for {{first_name | \"you\"}} in {{mailing_country}}",
            html: """
                <h1>Hello {{first_name | "there"}} {{last_name}},</h1>
                <p>This is the monthly letter from {{sender.name}}. We have news for everyone in {{mailing_country}}.</p>
                <ul><li><a href="https://example.com/news/1">The first story</a></li><li><a href="https://example.com/news/2">The second</a></li></ul>
                <p>Write to {{owner.name}} at <a href="mailto:{{owner.email}}">{{owner.email}}</a> with questions.</p>
                \(String(repeating: "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</p>\n", count: 12))
                """, text: nil, by: owner.id)
        _ = try await store.senders.create(email: "news@example.com", name: "Bench News", replyTo: nil)
        _ = try await store.views.create(in: contacts, name: "Everyone", criteria: .everything, by: owner.id)
        await store.close()
    }

    /// Sends one mass email to everyone and reports the rate and this process's peak RSS.
    func send(logger: Logger) async throws {
        let store = try await Store.open(try DatabaseLocation(parsing: database), logger: logger,
                                         keyring: try SecretKeyring.load(file: keyFile))
        let contacts = try await store.modules.named("contacts")
        guard let owner = try await store.users.all().first,
              let template = try await store.templates.all(in: contacts).first(where: { $0.name == "Bench" }),
              let sender = try await store.senders.all().first,
              let view = try await store.views.all(in: contacts).first(where: { $0.name == "Everyone" }) else {
            throw CLIError("the bench database is not prepared (run with --phase prepare first)")
        }

        let state = try StateDirectory(path: stateDir)
        let transports = TransportSource(override: transport ?? "smtp://\(smtp ?? "")?tls=none", outbox: "outbox", settings: store.settings,
                                         poolConfiguration: SMTPPoolConfiguration(maximumConnections: connections), logger: logger)
        let links = EngagementLinks(secret: try await store.settings.engagementSecret(),
                                    publicURL: PublicURL("https://crm.example.com"))
        let maker = TemplateMessageMaker(store: store, links: links)
        let delivery = try Delivery(store: store, transports: transports, maker: maker, state: state, links: links, logger: logger)
        let group = ServiceGroup(configuration: .init(services: delivery.services, logger: logger))
        if dkim != "none" {
            // The keys are made before the clock starts; signing each message is what is timed.
            _ = try await delivery.domains.add("example.com", ed25519: dkim == "rsa+ed25519")
        }

        let sampler = Task { await ResidentMemory.peakAnonymous() }
        let start = ContinuousClock.now
        let massEmail = try await store.massEmails.create(
            MassEmailDraft(name: "Bench", recipients: .view(view.id), templateID: template.id, senderID: sender.id, schedule: .now),
            in: contacts, owner: owner.id)
        let (elapsed, resolved, size) = try await withThrowingTaskGroup(of: (Duration, Duration?, Int)?.self) { tasks in
            tasks.addTask { try await group.run(); return nil }
            tasks.addTask {
                await delivery.scheduler.wake()
                var resolved: Duration?
                while true {
                    let now = try await store.massEmails.find(massEmail.id)
                    if resolved == nil, now.resolvedAt != nil { resolved = ContinuousClock.now - start }
                    guard [.scheduled, .sending].contains(now.status) else { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                let elapsed = ContinuousClock.now - start
                let sample = try await store.messages.page(massEmail: massEmail.id, limit: 1)
                let claimed = ClaimedMessage(id: sample[0].id, massEmailID: massEmail.id, step: 0, recordID: sample[0].recordID,
                                             address: sample[0].address, attempt: 1, claim: 1)
                let made = try await maker.make([claimed], of: try await store.massEmails.find(massEmail.id))
                await group.triggerGracefulShutdown()
                return (elapsed, resolved, (try? made[0].get().message.count) ?? 0)
            }
            var result: (Duration, Duration?, Int)?
            for try await value in tasks { if let value { result = value } }
            return result!
        }
        sampler.cancel()
        let anonymous = await sampler.value
        let done = try await store.massEmails.find(massEmail.id)
        let figures = try await store.massEmails.figures([massEmail.id])[massEmail.id] ?? MassEmailFigures()
        await store.close()
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let seconds = elapsed.seconds
        print("""
            Herald mass email bench: \(recipients) recipients, \(connections) connections, \(database.contains("://") ? "PostgreSQL" : "SQLite")
            status \(done.status.rawValue): sent \(figures[.sent]), failed \(figures[.failed]), deferred \(figures[.deferred]), bounced \(figures[.bounced])
            message size: \(size) bytes
            time: \(String(format: "%.2f", seconds)) s (resolving recipients included; they were all resolved after \(resolved.map { String(format: "%.2f s", $0.seconds) } ?? "the end"), the messages claimed and sent meanwhile)
            rate: \(Int(Double(figures[.sent]) / seconds)) msg/s
            peak RSS: \(usage.ru_maxrss / 1024) MB (malloc arenas: \(herald_malloc_arenas() == 0 ? "as the environment set" : String(herald_malloc_arenas())))
            peak anonymous memory: \(anonymous.map { "\($0 / 1024) MB (heap and stacks, sampled every 20 ms; the rest of the RSS is pages of mapped files, chiefly the executable)" } ?? "not known here (no /proc/self/status)")
            """)
    }
}

/// This process's anonymous resident memory (heap, stacks: what it holds), from Linux's
/// /proc/self/status. A static build's executable is over 200 MB, and the pages of it that
/// the kernel keeps mapped (code, tables, ICU's data) count in the RSS too: 35-41 MB of a send's
/// 50-58 MB peak, more or less from one run to the next as the page cache holds the file.
enum ResidentMemory {
    /// The largest anonymous RSS seen, in kB, sampling every 20 ms until cancelled; nil
    /// without /proc.
    static func peakAnonymous() async -> Int? {
        var peak: Int?
        while !Task.isCancelled {
            if let now = anonymousKB() { peak = max(peak ?? 0, now) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return peak
    }

    static func anonymousKB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("RssAnon:") }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
}
