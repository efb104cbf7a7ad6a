import Foundation
import HeraldStore
import Logging
import Mail
import ServiceLifecycle

/// Where Herald's mail goes: the transport URL given on the command line (or in
/// `HERALD_TRANSPORT`), else the one an admin saved on the settings page, else the `.eml`
/// outbox folder.
///
/// It is a `Service`: it runs the SMTP connection pool of the current transport, and when
/// an admin saves another URL (``reload()``), it closes the old pool and runs the new one.
public actor TransportSource: Service {
    /// The settings key of the URL saved on the settings page (it holds the password: never
    /// show it unredacted).
    public static let settingsKey = SettingsStore.transportURLKey

    /// Where the URL in use came from.
    public enum Origin: String, Sendable {
        case commandLine = "command line"
        case settings = "settings"
        case outbox = "default outbox"
    }

    /// The URL from `--transport` or `HERALD_TRANSPORT`; it wins over the settings page.
    public nonisolated let override: String?
    /// The outbox folder used when nothing is configured.
    public nonisolated let outbox: String
    let settings: SettingsStore
    let poolConfiguration: SMTPPoolConfiguration
    let logger: Logger
    private var current: (url: String, transport: any Transport)?
    /// Each transport made, so that ``run()`` runs its pool.
    private let started: AsyncStream<any Transport>
    private let startedContinuation: AsyncStream<any Transport>.Continuation

    public init(override: String?, outbox: String, settings: SettingsStore,
                poolConfiguration: SMTPPoolConfiguration = SMTPPoolConfiguration(), logger: Logger) {
        self.override = override
        self.outbox = URL(fileURLWithPath: outbox).standardizedFileURL.path
        self.settings = settings
        self.poolConfiguration = poolConfiguration
        self.logger = logger
        (started, startedContinuation) = AsyncStream.makeStream(of: (any Transport).self)
    }

    /// The URL in use and where it came from; `url.description` is redacted.
    public func configured() async throws -> (url: TransportURL, origin: Origin) {
        let (text, origin) = try await configuredText()
        return (try TransportURL(text), origin)
    }

    private func configuredText() async throws -> (String, Origin) {
        if let override { return (override, .commandLine) }
        if let saved = try await settings.value(Self.settingsKey), !saved.isEmpty { return (saved, .settings) }
        return ("file://" + outbox, .outbox)
    }

    /// The transport to send with now, made (and its pool started) on first use.
    public func transport() async throws -> any Transport {
        let (text, _) = try await configuredText()
        if let current, current.url == text { return current.transport }
        let made = try TransportURL(text).makeTransport(poolConfiguration: poolConfiguration, logger: logger)
        if let old = current?.transport { await old.shutdown() }
        current = (text, made)
        startedContinuation.yield(made)
        logger.info("mail transport ready", metadata: ["transport": "\(TransportURL.redact(text))"])
        return made
    }

    /// Forgets the current transport (after the settings page saved another URL): the next
    /// ``transport()`` makes a new one, and the old pool is closed.
    public func reload() async {
        guard let old = current?.transport else { return }
        current = nil
        await old.shutdown()
    }

    /// Closes the current transport's connections now, those in a transaction too (the grace
    /// after SIGTERM is over), and forgets it.
    public func abandon() async {
        guard let old = current?.transport else { return }
        current = nil
        await old.abandon()
    }

    public func run() async throws {
        let stream = started
        let continuation = startedContinuation
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { pools in
                for await transport in stream {
                    guard let service = transport as? any Service else { continue }
                    pools.addTask { try? await service.run() }
                }
                await self.reload()  // closes the pool in use, so that its task ends
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }
}
