import Foundation
import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle

/// Starts scheduled mass emails on time and resolves their recipients.
///
/// It sleeps until the next scheduled time (or at most ``pollInterval``, to see what other
/// processes scheduled), so a mass email starts within about a second of its time. Starting
/// is a conditional UPDATE, so of several processes sharing PostgreSQL exactly one starts
/// each mass email; resolving is leased and resumable, so a restart picks up where it was.
public actor MassEmailScheduler: Service {
    let store: Store
    let resolver: RecipientResolver
    let node: String
    let logger: Logger
    let now: @Sendable () -> Int64
    /// Called when a mass email's messages are ready to send (wakes the engine).
    let onReady: @Sendable () async -> Void
    public var pollInterval: Duration = .seconds(1)

    private var resolving: [Int64: Task<Void, Never>] = [:]
    private let doorbell = Doorbell()
    private var shuttingDown = false

    public init(store: Store, node: String, logger: Logger, now: @escaping @Sendable () -> Int64 = { Clock.epochSeconds() },
                onReady: @escaping @Sendable () async -> Void) {
        self.store = store
        self.resolver = RecipientResolver(store: store, logger: logger)
        self.node = node
        self.logger = logger
        self.now = now
        self.onReady = onReady
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.loop()
        } onGracefulShutdown: {
            Task { await self.beginShutdown() }
        }
        for task in resolving.values { task.cancel() }
        for task in resolving.values { await task.value }
    }

    /// Looks again now (a mass email was scheduled or edited).
    public func wake() async {
        await doorbell.ring()
    }

    private func beginShutdown() async {
        shuttingDown = true
        await wake()
    }

    private func loop() async {
        while !shuttingDown && !Task.isCancelled {
            var next: Int64?
            do {
                next = try await tick()
            } catch {
                logger.error("scheduler failed; trying again", metadata: ["error": "\(error)"])
            }
            var wait = pollInterval
            if let next {
                let seconds = next - now()
                if seconds <= 0 { wait = .milliseconds(10) } else if seconds < 1 { wait = .seconds(seconds) }
            }
            await doorbell.wait(upTo: wait)
        }
    }

    /// One round: starts what is due, starts resolving what needs it, and returns when the
    /// next scheduled mass email is due. Tests call it with their own clock.
    @discardableResult
    public func tick() async throws -> Int64? {
        let t = now()
        let started = try await store.massEmails.startDue(now: t)
        for id in started { logger.info("mass email started", metadata: ["mass_email": "\(id)"]) }
        for id in try await store.massEmails.unresolved(now: t) where resolving[id] == nil {
            guard try await store.massEmails.claimResolution(id, node: node, now: t) else { continue }
            resolving[id] = Task { [self] in
                do {
                    try await self.resolver.resolve(id, node: self.node, now: self.now)
                    await self.onReady()
                } catch {
                    self.logger.error("resolving recipients failed; will try again", metadata: ["mass_email": "\(id)", "error": "\(error)"])
                }
                self.resolved(id)
            }
        }
        return try await store.massEmails.nextScheduledAt()
    }

    /// Waits for every resolution started by ``tick()`` (tests).
    public func settle() async {
        while let task = resolving.values.first { await task.value }
    }

    private func resolved(_ id: Int64) {
        resolving[id] = nil
    }

}
