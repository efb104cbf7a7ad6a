import Foundation
import HeraldCore
import HeraldStore
import Logging
import Mail
import ServiceLifecycle
import Synchronization

/// How the engine works: batch sizes, parallelism, leases and the retry rules.
public struct EngineConfiguration: Sendable {
    /// This process's stable name (kept in its state folder): its claims and journal are its own.
    public var node: String
    /// Messages claimed, rendered and handed to SMTP together.
    public var batchSize = 500
    /// Batches in flight at once, so that the connections stay busy while one batch is being
    /// claimed, rendered or written back.
    public var parallelBatches = 3
    public var leaseSeconds: Int64 = 120
    /// How often an idle engine looks for work that another process queued.
    public var idlePoll: Duration = .milliseconds(250)
    public var retry = RetryPolicy()

    public init(node: String) { self.node = node }
}

/// Herald's sending engine: claims messages of sending mass emails in batches, renders
/// them, hands them to the transport, and writes their outcomes back in batches.
///
/// ## Exactly once, and the window SMTP leaves open
/// A claimed message is `sending`, leased to this node. Each outcome goes to the
/// ``DeliveryJournal`` the moment the server answers, then to the database with its batch.
/// After a crash the engine replays the journal, then gives back what it still held: those
/// messages had not been handed to SMTP — except, per open connection, the one whose final
/// "." had been sent and whose reply had not yet been noted. **That is the window SMTP makes
/// unknowable (RFC 1047)**: such a message may be sent twice. It is bounded by the number
/// of open connections (`SMTPPoolConfiguration.maximumConnections`).
///
/// ## Stop
/// ``stop(_:)`` marks the mass email stopped (claims check it), cancels this process's
/// batches of it (the transport hands no further message to a connection) and waits until no
/// process holds a message of it, so when it returns nothing more of it reaches SMTP.
public actor DeliveryEngine: Service {
    let store: Store
    let reactor: any EngagementReactor
    let transports: TransportSource
    let maker: any MessageMaker
    let journal: DeliveryJournal
    let configuration: EngineConfiguration
    let logger: Logger
    let now: @Sendable () -> Int64

    private var batches: [Int: (unit: SendingUnit, task: Task<Void, Never>)] = [:]
    private var nextBatch = 0
    private var throttled: [Int64: (until: Int64, delay: Int64)] = [:]
    private var lastHousekeeping: Int64 = 0
    private let doorbell = Doorbell()
    private var shuttingDown = false

    /// - Parameter reactor: hears of each hard bounce at send time (the "bounced" trigger actions).
    public init(store: Store, transports: TransportSource, maker: any MessageMaker, journal: DeliveryJournal,
                configuration: EngineConfiguration, reactor: any EngagementReactor = NoReaction(), logger: Logger,
                now: @escaping @Sendable () -> Int64 = { Clock.epochSeconds() }) {
        self.store = store
        self.reactor = reactor
        self.transports = transports
        self.maker = maker
        self.journal = journal
        self.configuration = configuration
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        try await recover()
        await withGracefulShutdownHandler {
            await self.loop()
        } onGracefulShutdown: {
            Task { await self.beginShutdown() }
        }
        for batch in batches.values { await batch.task.value }
    }

    /// Looks for work now (a mass email started, a message became due).
    public func wake() async {
        await doorbell.ring()
    }

    private func beginShutdown() async {
        shuttingDown = true
        await wake()
    }

    /// Replays the journal of a previous run into the database, then gives back every message
    /// this node still held.
    public func recover() async throws {
        let outcomes = try journal.replay()
        if !outcomes.isEmpty {
            try await store.messages.record(outcomes)
            logger.notice("replayed the delivery journal", metadata: ["outcomes": "\(outcomes.count)"])
        }
        try journal.clear()
        let requeued = try await store.messages.requeueClaims(of: configuration.node)
        if requeued > 0 {
            logger.notice("gave back messages claimed before a restart", metadata: ["messages": "\(requeued)"])
        }
    }

    private func loop() async {
        while !shuttingDown && !Task.isCancelled {
            var started = false
            do {
                try await housekeeping()
                started = try await fill()
            } catch {
                logger.error("delivery loop failed; trying again", metadata: ["error": "\(error)"])
            }
            if !started || batches.count >= configuration.parallelBatches { await doorbell.wait(upTo: configuration.idlePoll) }
        }
    }


    private func housekeeping() async throws {
        let t = now()
        guard t - lastHousekeeping >= 20 else { return }
        lastHousekeeping = t
        try await store.messages.renewLeases(of: configuration.node, until: t + configuration.leaseSeconds)
        let expired = try await store.messages.requeueExpired(now: t)
        if expired > 0 { logger.notice("gave back messages of a process that stopped renewing its lease", metadata: ["messages": "\(expired)"]) }
    }

    /// Starts batches while there is room and work; returns whether it started any.
    private func fill() async throws -> Bool {
        guard batches.count < configuration.parallelBatches else { return false }
        var started = false
        for unit in try await store.massEmails.sendable() {
            let massEmail = unit.massEmail
            while batches.count < configuration.parallelBatches, !shuttingDown {
                let t = now()
                if let rest = throttled[massEmail.senderID], rest.until > t { break }
                let allowance = try await allowance(for: massEmail, now: t)
                guard allowance.count > 0 else { break }
                let claimed = try await store.messages.claim(massEmail: massEmail.id, step: unit.step, node: configuration.node,
                                                             limit: allowance.count, now: t, leaseSeconds: configuration.leaseSeconds)
                if let day = allowance.quotaDay { try await store.quota.release(allowance.count - claimed.count, day: day) }
                if claimed.isEmpty {
                    if !batches.values.contains(where: { $0.unit == unit }) {
                        try await finishIfDone(unit, now: t)
                    }
                    break
                }
                start(claimed, of: unit, quotaDay: allowance.quotaDay)
                started = true
            }
        }
        return started
    }

    /// Marks `unit` sent once every message of it is decided, and logs that it finished,
    /// with its figures and how long it took.
    private func finishIfDone(_ unit: SendingUnit, now t: Int64) async throws {
        guard try await store.massEmails.finishIfDone(unit, now: t) else { return }
        let id = unit.massEmail.id
        var metadata: Logger.Metadata = ["mass_email": "\(id)"]
        let startedAt: Int64?
        if unit.step == 0 {
            let massEmail = try await store.massEmails.find(id)
            startedAt = massEmail.startedAt
            metadata.merge(.counts(massEmail.skipped, prefix: "skipped_")) { $1 }
        } else {
            metadata["step"] = "\(unit.step)"
            startedAt = try await store.followUpRuns.run(id, step: unit.step)?.startedAt
        }
        if let figures = try await store.massEmails.figures([id], step: unit.step)[id] {
            metadata["recipients"] = "\(figures.recipients)"
            metadata.merge(.counts(figures.byStatus)) { $1 }
        }
        if let startedAt { metadata["seconds"] = "\(max(0, t - startedAt))" }
        logger.info(unit.step == 0 ? "mass email finished" : "follow-up finished", metadata: metadata)
    }

    /// How many messages of `massEmail` may be claimed now: the batch size, within the
    /// organisation's daily quota (reserved here) and the sender's rates.
    private func allowance(for massEmail: MassEmail, now t: Int64) async throws -> (count: Int, quotaDay: String?) {
        var count = configuration.batchSize
        let sender = try await store.senders.find(massEmail.senderID)
        if let perMinute = sender.ratePerMinute {
            count = min(count, max(0, perMinute - (try await store.messages.sentCount(sender: massEmail.senderID, since: t - 60))))
        }
        if let perHour = sender.ratePerHour {
            count = min(count, max(0, perHour - (try await store.messages.sentCount(sender: massEmail.senderID, since: t - 3600))))
        }
        guard count > 0 else { return (0, nil) }
        guard let quota = try await store.settings.dailyQuota() else { return (count, nil) }
        let day = try await store.settings.today(at: Date(timeIntervalSince1970: TimeInterval(t)))
        // What the quota holds back stays queued and goes out the next day.
        return (try await store.quota.reserve(count, day: day, limit: quota), day)
    }

    private func start(_ claimed: [ClaimedMessage], of unit: SendingUnit, quotaDay: String?) {
        let id = nextBatch
        nextBatch += 1
        // Unstructured so that Stop can cancel one mass email's batches; run() and stop(_:)
        // await every one of them.
        let task = Task { [self] in
            await self.process(claimed, of: unit, quotaDay: quotaDay)
            await self.finished(batch: id)
        }
        batches[id] = (unit, task)
    }

    private func finished(batch: Int) async {
        let unit = batches.removeValue(forKey: batch)?.unit
        if shuttingDown, let unit, !batches.values.contains(where: { $0.unit == unit }) {
            // fill() runs no more, so the last batch of a mass email that ends during a
            // shutdown finishes it here rather than at the next start.
            do { try await finishIfDone(unit, now: now()) } catch {
                logger.error("could not mark a finished mass email sent; the next start will", metadata: ["error": "\(error)"])
            }
        }
        await wake()
    }

    /// Renders, sends and records one batch. Runs off the actor.
    nonisolated private func process(_ claimed: [ClaimedMessage], of unit: SendingUnit, quotaDay: String?) async {
        let massEmail = unit.massEmail
        let policy = configuration.retry
        var outcomes: [Outcome?] = Array(repeating: nil, count: claimed.count)
        do {
            let made: [Result<OutgoingMessage, HeraldError>]
            do {
                made = try await maker.make(claimed, of: massEmail)
            } catch {
                try await giveBack(claimed)
                try? await store.massEmails.fail(unit, reason: "\(error)", now: now())
                return
            }
            var outgoing: [OutgoingMessage] = []
            var positionOf: [Int] = []
            for (i, result) in made.enumerated() {
                switch result {
                case .success(let message):
                    outgoing.append(message)
                    positionOf.append(i)
                case .failure(let error):
                    outcomes[i] = Outcome(outcome: MessageOutcome(id: claimed[i].id, attempt: claimed[i].attempt, status: .failed,
                                                                  attempts: claimed[i].attempt, text: error.message),
                                          signal: nil, suppress: false)
                }
            }
            // Another process may have stopped it between the claim and now.
            if try await !store.massEmails.isSending(unit) || Task.isCancelled {
                try await Task { try await self.giveBack(claimed) }.value
                return
            }
            let transport: any Transport
            do {
                transport = try await transports.transport()
            } catch {
                try await giveBack(claimed)
                try? await store.massEmails.pause(unit, reason: "the mail transport cannot be used: \(error)", now: now())
                return
            }
            let throttleDelay = await currentThrottleDelay(sender: massEmail.senderID)
            let answered = Mutex<[(Int, Outcome, Int)]>([])
            let journal = self.journal
            let now = self.now
            let positions = positionOf
            _ = await transport.send(outgoing) { index, result in
                let position = positions[index]
                let outcome = Outcome.of(result, for: claimed[position], now: now(), policy: policy, throttleDelay: throttleDelay)
                let segment = journal.append(outcome.outcome)
                answered.withLock { $0.append((position, outcome, segment)) }
            }
            let noted = answered.withLock { $0 }
            for (position, outcome, _) in noted { outcomes[position] = outcome }
            let final = outcomes.compactMap { $0 }
            // The transport reports every message; should one be missing, it goes back to the queue.
            let unreported = claimed.indices.filter { outcomes[$0] == nil }.map { claimed[$0] }
            // What happened to messages that went out must be written even when Stop cancelled
            // this batch: the writes run in a task of their own, which the cancel does not reach.
            try await Task { [self] in
                try await persistently("writing outcomes") { try await store.messages.record(final.map(\.outcome)) }
                journal.committed(noted.map(\.2))
                if !unreported.isEmpty { try await giveBack(unreported) }
                try await afterBatch(final, of: claimed, in: unit, quotaDay: quotaDay)
            }.value
        } catch {
            logger.error("a delivery batch failed; its messages go back to the queue", metadata: [
                "mass_email": "\(massEmail.id)", "error": "\(error)"])
            let pending = claimed.filter { message in !outcomes.contains { $0?.outcome.id == message.id } }
            try? await Task { try await self.giveBack(pending) }.value
        }
    }

    /// Returns claimed messages to the queue, their attempt not counted.
    nonisolated private func giveBack(_ claimed: [ClaimedMessage]) async throws {
        let t = now()
        try await persistently("giving messages back") {
            try await store.messages.record(claimed.map {
                MessageOutcome(id: $0.id, attempt: $0.attempt, status: .queued, attempts: $0.attempt - 1, nextAttemptAt: t)
            })
        }
    }

    /// Runs a write of outcomes again after a failure that may pass (a deadlock PostgreSQL
    /// broke, a dropped connection): such a write is idempotent, guarded by the attempt. Given
    /// up after about 16 s, the messages stay `sending` under this node's lease — never
    /// requeued, so never sent twice — and the journal's replay at the next start writes them.
    nonisolated private func persistently(_ what: String, _ write: () async throws -> Void) async throws {
        var delay = Duration.milliseconds(50)
        for attempt in 1... {
            do {
                return try await write()
            } catch {
                guard attempt < 10 else { throw error }
                logger.warning("a database write failed; trying again", metadata: ["write": "\(what)", "attempt": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    nonisolated private func afterBatch(_ outcomes: [Outcome], of claimed: [ClaimedMessage], in unit: SendingUnit,
                                        quotaDay: String?) async throws {
        let massEmail = unit.massEmail
        let policy = configuration.retry
        let t = now()
        let addresses = Dictionary(claimed.map { ($0.id, $0.address) }, uniquingKeysWith: { first, _ in first })
        let bounced = Set(outcomes.filter { $0.outcome.status == .bounced }.map(\.outcome.id))
        if !bounced.isEmpty {
            let events = claimed.filter { bounced.contains($0.id) }.map {
                EngagementEvent(kind: .bounced, messageID: $0.id, massEmailID: $0.massEmailID, step: $0.step, recordID: $0.recordID,
                                address: $0.address, at: t)
            }
            do {
                try await reactor.react(to: events)
            } catch {
                logger.error("trigger actions failed for bounces", metadata: ["mass_email": "\(massEmail.id)", "error": "\(error)"])
            }
        }
        for outcome in outcomes where outcome.suppress {
            if let address = addresses[outcome.outcome.id] {
                try await store.suppressions.add(address, reason: "hard_bounce",
                                                 detail: [outcome.outcome.code.map(String.init), outcome.outcome.enhancedCode, outcome.outcome.text]
                                                    .compactMap { $0 }.joined(separator: " "), now: t)
            }
        }
        if let quotaDay {
            let unsent = outcomes.filter { $0.outcome.status == .queued || ($0.outcome.status == .deferred && $0.signal == .throttled) }.count
            try await store.quota.release(unsent, day: quotaDay)
        }
        if outcomes.contains(where: { $0.signal == .throttled }) {
            await noteThrottled(sender: massEmail.senderID, now: t)
        } else {
            await noteNotThrottled(sender: massEmail.senderID)
        }
        if case .transportBroken(let reason)? = outcomes.lazy.compactMap(\.signal).first(where: { if case .transportBroken = $0 { true } else { false } }) {
            try? await store.massEmails.pause(unit, reason: "the SMTP server refused the session: \(reason)", now: t)
            return
        }
        let answered = outcomes.filter { $0.outcome.status != .queued && $0.signal != .throttled }
        let failures = answered.filter { $0.signal == .failure }
        if answered.count >= policy.pauseMinimumMessages, Double(failures.count) >= Double(answered.count) * policy.pauseFailureRatio {
            let last = failures.last?.outcome
            let reply = [last?.code.map(String.init), last?.enhancedCode, last?.text].compactMap { $0 }.joined(separator: " ")
            try? await store.massEmails.pause(unit, reason: "\(failures.count) of \(answered.count) messages in a batch failed (last: \(reply))", now: t)
        }
        // Finishing is fill()'s: the batch's end wakes it, and its claim finding nothing while
        // no batch of the unit is in flight is when asking "is any undecided?" pays (asked
        // after every batch, PostgreSQL gathered every waiting message's index entry each time).
    }

    private func currentThrottleDelay(sender: Int64) -> Int64? { throttled[sender]?.delay }

    private func noteThrottled(sender: Int64, now t: Int64) {
        let policy = configuration.retry
        let delay = throttled[sender].map { min(policy.maxThrottleDelay, $0.delay * 2) } ?? policy.throttleDelay
        throttled[sender] = (t + delay, delay)
        logger.notice("the SMTP server asks to slow down; resting this sender", metadata: ["sender": "\(sender)", "seconds": "\(delay)"])
    }

    private func noteNotThrottled(sender: Int64) {
        if let rest = throttled[sender], rest.until <= now() { throttled[sender] = nil }
    }

    /// Stops a mass email: see the type's documentation. Returns it as stopped.
    public func stop(_ id: Int64, waitForOthers: Duration = .seconds(15)) async throws -> MassEmail {
        let stopped = try await store.massEmails.stop(id, now: now())
        try await cancelAndWait(massEmail: id, steps: [0], waitForOthers: waitForOthers)
        return stopped
    }

    /// Stops follow-up `step` of a mass email (nil: all that are not sent yet) with those
    /// counted from it, as ``stop(_:waitForOthers:)`` stops a mass email: when it returns,
    /// nothing more of them reaches SMTP. Returns the steps stopped.
    @discardableResult
    public func stopFollowUps(_ id: Int64, step: Int?, waitForOthers: Duration = .seconds(15)) async throws -> [Int] {
        let stopped = try await store.followUpRuns.stop(id, step: step, now: now())
        try await cancelAndWait(massEmail: id, steps: Set(stopped), waitForOthers: waitForOthers)
        return stopped
    }

    /// Cancels this process's batches of those steps (the transport hands them no further
    /// message) and waits until no process holds a message of the mass email.
    private func cancelAndWait(massEmail id: Int64, steps: Set<Int>, waitForOthers: Duration) async throws {
        let mine = batches.values.filter { $0.unit.massEmail.id == id && steps.contains($0.unit.step) }.map(\.task)
        for task in mine { task.cancel() }
        for task in mine { await task.value }
        let deadline = ContinuousClock.now + waitForOthers
        while ContinuousClock.now < deadline, try await store.messages.holding(massEmail: id) {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
