import Foundation
import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle

/// Starts scheduled mass emails and fires their follow-ups on time, resolves their
/// recipients, and chooses A/B tests' winners when their wait is over.
///
/// It sleeps until the next scheduled or due time (or at most ``pollInterval``, to see what
/// other processes scheduled), so a mass email starts within about a second of its time.
/// Starting and firing are conditional UPDATEs, so of several processes sharing PostgreSQL
/// exactly one starts each mass email and fires each follow-up; resolving is leased and
/// resumable, so a restart picks up where it was.
public actor MassEmailScheduler: Service {
    let store: Store
    let resolver: RecipientResolver
    let node: String
    let logger: Logger
    let now: @Sendable () -> Int64
    /// Called when a mass email's messages are ready to send (wakes the engine).
    let onReady: @Sendable () async -> Void
    public var pollInterval: Duration = .seconds(1)

    /// What this process resolves now, by mass email and step (0 for the mass email itself).
    private var resolving: [MassEmailStep: Task<Void, Never>] = [:]
    private let doorbell = Doorbell()
    private var shuttingDown = false

    public init(store: Store, node: String, logger: Logger, now: @escaping @Sendable () -> Int64 = { WallClock.epochSeconds() },
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

    /// One round: starts what is due, fires the follow-ups that are due, starts resolving
    /// what needs it, and returns when the next mass email or follow-up is due. Tests call it
    /// with their own clock.
    @discardableResult
    public func tick() async throws -> Int64? {
        let t = now()
        let started = try await store.massEmails.startDue(now: t)
        for id in started { logger.info("mass email started", metadata: ["mass_email": "\(id)"]) }
        for id in try await store.massEmails.unresolved(now: t) {
            let key = MassEmailStep(massEmailID: id, step: 0)
            guard resolving[key] == nil, try await store.massEmails.claimResolution(id, node: node, now: t) else { continue }
            resolve(key) { [self] in try await self.resolver.resolve(id, node: self.node, now: self.now) }
        }
        try await store.followUpRuns.planDue(zone: try await store.settings.timeZone())
        for fired in try await store.followUpRuns.fireDue(now: t) {
            logger.info("follow-up fired", metadata: ["mass_email": "\(fired.massEmailID)", "step": "\(fired.step)"])
        }
        for key in try await store.followUpRuns.unresolved(now: t) {
            guard resolving[key] == nil,
                  try await store.followUpRuns.claimResolution(key.massEmailID, step: key.step, node: node, now: t) else { continue }
            resolve(key) { [self] in try await self.resolver.resolveFollowUp(key.massEmailID, step: key.step, node: self.node, now: self.now) }
        }
        // One query a tick while no test is due; the list and a fresh next time only when one is.
        var nextTest = try await store.abTests.nextDueAt()
        if let due = nextTest, due <= t {
            for id in try await store.abTests.due(now: t) { try await decide(id, now: t) }
            nextTest = try await store.abTests.nextDueAt()
        }
        let times = [try await store.massEmails.nextScheduledAt(), try await store.followUpRuns.nextDueAt(), nextTest].compactMap { $0 }
        return times.min()
    }

    /// Chooses the winner of an A/B test whose wait is over (``ABRule``) and wakes the engine
    /// to send it to the rest; another process or a person may have chosen first.
    private func decide(_ id: Int64, now t: Int64) async throws {
        let massEmail = try await store.massEmails.find(id)
        guard let test = massEmail.abTest else { return }
        let results = try await store.abTests.results(id, variants: test.variants.count)
        let decision = ABRule.decide(results, measure: test.measure, at: t)
        guard let released = try await store.abTests.choose(id, decision) else { return }
        logger.info("A/B test decided", metadata: ["mass_email": "\(id)", "winner": "\(ABTest.letter(decision.winner))",
                                                  "why": "\(decision.note)", "to_the_rest": "\(released)"])
        await onReady()
    }

    /// For a mass email sent in each recipient's time zone: how many go at each time. Once
    /// its recipients are resolved, its messages by their planned time (and how many still
    /// wait); before, the selected records by the time their zone gives (`expected`).
    public nonisolated func plannedSends(_ massEmail: MassEmail) async throws -> (sends: [PlannedSend], expected: Bool) {
        guard massEmail.localDelivery != nil else { return ([], false) }
        if massEmail.resolvedAt == nil { return (try await resolver.expectedSends(massEmail), true) }
        return (try await store.messages.plannedSends(massEmail: massEmail.id), false)
    }

    /// For a mass email not started yet: how many records its recipients select now (see
    /// ``RecipientResolver/selectedRecords(_:)``); nil once its recipients are resolved.
    public nonisolated func selectedRecords(_ massEmail: MassEmail) async throws -> Int? {
        try await resolver.selectedRecords(massEmail)
    }

    /// A person picks the A/B test's winner before the wait is over: it goes to the rest now.
    /// Refused (409) once a winner is chosen, or when the mass email is not sending or
    /// paused; 422 for a variant the test does not have.
    public func pickWinner(_ id: Int64, variant: Int, by person: String) async throws {
        let massEmail = try await store.massEmails.find(id)
        guard let test = massEmail.abTest else { throw HeraldError.invalid(field: "variant", "mass email \(id) has no A/B test") }
        guard test.variants.indices.contains(variant) else {
            throw HeraldError.invalid(field: "variant", "the test has variants A to \(ABTest.letter(test.variants.count - 1))")
        }
        if let decision = massEmail.abDecision {
            throw HeraldError.conflict("the winner is chosen already: variant \(ABTest.letter(decision.winner)) (\(decision.note))")
        }
        let decision = ABDecision(winner: variant, byHand: true, note: "picked by \(person)", at: now())
        guard let released = try await store.abTests.choose(id, decision) else {
            throw HeraldError.conflict("the winner cannot be picked now: the mass email is \(try await store.massEmails.find(id).status.rawValue), "
                                       + "its test share is not drawn yet, or a winner was just chosen")
        }
        logger.info("A/B test decided by hand", metadata: ["mass_email": "\(id)", "winner": "\(ABTest.letter(variant))", "to_the_rest": "\(released)"])
        await onReady()
    }

    private func resolve(_ key: MassEmailStep, _ work: @escaping @Sendable () async throws -> Void) {
        resolving[key] = Task { [self] in
            do {
                try await work()
                await self.onReady()
            } catch {
                self.logger.error("resolving recipients failed; will try again",
                                  metadata: ["mass_email": "\(key.massEmailID)", "step": "\(key.step)", "error": "\(error)"])
                await self.retrySoon(key)
            }
            self.resolved(key)
        }
    }

    /// How soon a resolution that failed is tried again, by this process or another.
    static let retryAfterFailure: Int64 = 5

    /// Cuts this process's resolution lease to ``retryAfterFailure``: kept at its 60 s, it
    /// held a mass email whose resolution met a passing error (a busy database, a lost
    /// connection) for a minute before anyone tried again.
    private func retrySoon(_ key: MassEmailStep) async {
        let t = now()
        let retry = Self.retryAfterFailure
        _ = try? await key.step == 0
            ? store.massEmails.claimResolution(key.massEmailID, node: node, now: t, leaseSeconds: retry)
            : store.followUpRuns.claimResolution(key.massEmailID, step: key.step, node: node, now: t, leaseSeconds: retry)
    }

    /// Waits for every resolution started by ``tick()`` (tests).
    public func settle() async {
        while let task = resolving.values.first { await task.value }
    }

    private func resolved(_ key: MassEmailStep) {
        resolving[key] = nil
    }

}
