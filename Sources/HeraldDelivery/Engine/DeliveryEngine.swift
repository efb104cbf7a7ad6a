import Foundation
import HeraldCore
import HeraldStore
import Logging
import Mail
import ServiceLifecycle
import Synchronization

/// How the engine works: its node, its decisions (``DeliveryStateMachine/Configuration``),
/// and how often outcomes, heartbeats and polls happen.
public struct EngineConfiguration: Sendable {
    /// This process's stable name (kept in its state folder): its claims and journal are its own.
    public var node: String
    /// Batch sizes, parallelism, retries, backoff, the shutdown grace.
    public var policy = DeliveryStateMachine.Configuration()
    /// How long an answered message's outcome waits before it is written to the database
    /// (with the others answered meanwhile): the window of what a process that dies for good
    /// may have delivered without the database knowing.
    public var flushInterval: Duration = .milliseconds(25)
    /// Outcomes written at once, at most, before the interval is over.
    public var flushSize = 256
    /// Tries of one group's write (backing off from 50 ms to 5 s: about 16 s for 10) before
    /// the group is set aside; set aside, it is tried again every ``outcomeRetryInterval``
    /// while the process runs, so that a database down for longer than the tries does not
    /// leave its messages `sending` until a restart.
    public var outcomeWriteTries = 10
    public var outcomeRetryInterval: Duration = .seconds(30)
    /// How often this process tells the others it is alive, and looks for those that are not.
    public var heartbeatInterval: Duration = .seconds(1)
    /// How often an idle engine looks for work that another process queued.
    public var idlePoll: Duration = .milliseconds(250)

    public init(node: String) { self.node = node }
}

/// Herald's sending engine: claims messages of sending mass emails in batches, renders
/// them, hands them to the transport, and writes each outcome back as it comes. What it
/// decides is ``DeliveryStateMachine``'s (claims, pacing, throttling, the relay being out,
/// pauses, stopping); this actor only performs its actions.
///
/// ## Exactly once, and the window SMTP leaves open
/// A claimed message is `sending`, held by this node. Its outcome goes to the
/// ``DeliveryJournal`` the moment the server answers, and to the database within about
/// ``EngineConfiguration/flushInterval`` (``OutcomeWriter``).
/// - **A process that restarts** replays its journal, then gives back what it still held:
///   those messages had not been handed to SMTP — except, per open connection, the one
///   whose final "." had been sent and whose reply had not yet been noted. **That is the
///   window SMTP makes unknowable (RFC 1047)**: such a message may be sent twice.
/// - **A process that dies for good** stops moving its heartbeat; after
///   ``NodeStore/staleAfter`` another process gives its messages back to the queue. Sent
///   again are then, besides the one per open connection, those it delivered in its last
///   flush interval (the outcomes its journal had and the database did not). A process
///   whose heartbeats stop reaching the database stops handing messages to SMTP before the
///   others may take them (``DeliveryStateMachine/Configuration/fenceAfter``); and it takes
///   no one over until its own heartbeats have reached the database for
///   ``DeliveryStateMachine/Configuration/takeOverAfter`` (after an outage of the database
///   every heartbeat is stale, and the first process back must not declare the others dead
///   while their outcomes are still on the way). An outcome names the claim it is for
///   (``ClaimedMessage/claim``, counted up by every claim), so a late one — of a batch that
///   was out when its process was declared dead, or of a group written again — lands on no
///   later claim of the same message.
/// - **Nothing goes out unnoted**: when the journal cannot be written, no further message is
///   handed to SMTP until it can, and a message started behind another's data (pipelined)
///   is withdrawn before its own data goes out. What is still delivered is only data
///   already on its way when the write failed; its outcome reaches the database from memory.
///
/// ## Stop
/// ``stop(_:)`` marks the mass email stopped (claims check it), cancels this process's
/// batches of it (the transport hands no further message to a connection) and waits until no
/// process holds a message of it, so when it returns nothing more of it reaches SMTP.
///
/// ## Shutdown
/// On graceful shutdown (SIGTERM) no new message is handed to SMTP; what is on the wire may
/// finish within ``DeliveryStateMachine/Configuration/shutdownGrace``, then the connections
/// are closed; what was claimed and not sent goes back to the queue; outcomes are written;
/// the engine logs what it did and returns.
public actor DeliveryEngine: Service {
    let store: Store
    let reactor: any EngagementReactor
    let transports: TransportSource
    let maker: any MessageMaker
    let journal: DeliveryJournal
    let configuration: EngineConfiguration
    let logger: Logger
    let now: @Sendable () -> Int64

    private var machine: DeliveryStateMachine
    private let batches = BatchRegistry()
    private var nextBatch = 0
    private let doorbell = Doorbell()
    private var exited = false
    private var givenBack = 0
    /// The last of the status changes that actions asked for (finish, pause), each run after
    /// the one before: as tasks of their own, a finish asked after a pause could reach the
    /// database first under load and mark sent a mass email the machine had just paused for
    /// its refusals, losing the reason.
    private var statusChanges: Task<Void, Never>?
    private let writer: OutcomeWriter

    /// - Parameter reactor: hears of each hard bounce at send time (the "bounced" trigger actions).
    public init(store: Store, transports: TransportSource, maker: any MessageMaker, journal: DeliveryJournal,
                configuration: EngineConfiguration, reactor: any EngagementReactor = NoReaction(), logger: Logger,
                now: @escaping @Sendable () -> Int64 = { WallClock.epochSeconds() }) {
        self.store = store
        self.reactor = reactor
        self.transports = transports
        self.maker = maker
        self.journal = journal
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.machine = DeliveryStateMachine(configuration: configuration.policy, now: now())
        let batches = self.batches
        self.writer = OutcomeWriter(store: store, journal: journal, node: configuration.node, interval: configuration.flushInterval,
                                    size: configuration.flushSize, tries: configuration.outcomeWriteTries,
                                    retryInterval: configuration.outcomeRetryInterval, logger: logger,
                                    onJournalFailure: { _ in batches.halt() })
    }

    public func run() async throws {
        try await recover()
        let writer = self.writer
        let writing = Task { await writer.run { written in await self.written(written) } }
        let beating = Task { await self.heartbeats() }
        let fencing = Task { await self.fencing() }
        await withGracefulShutdownHandler {
            await self.loop()
        } onGracefulShutdown: {
            Task { await self.shutdownRequested() }
        }
        // Cancelled rather than shut down gracefully: what is still in flight hands nothing more.
        for task in batches.cancelAll() { await task.value }
        await writer.stop()
        await writing.value
        beating.cancel()
        fencing.cancel()
        await beating.value
        await fencing.value
        let totals = writer.totals
        logger.notice("delivery stopped", metadata: Logger.Metadata.counts(totals)
            .merging(["given_back": "\(givenBack)", "node": "\(configuration.node)"]) { $1 })
    }

    /// Looks for work now (a mass email started, a message became due).
    public func wake() async {
        await doorbell.ring()
    }

    private func shutdownRequested() async {
        // A claim already on its way to the database starts its batch after the feeds were
        // stopped; halted, the registry cancels that batch at once and its messages go back.
        batches.halt()
        perform(machine.shutdownRequested(now: now()))
        await wake()
    }

    /// Replays the journal of a previous run into the database, then gives back every message
    /// this node still held, and says it is alive.
    public func recover() async throws {
        // The journal keeps what the database needs to be right; a bounce's reason is read
        // again from its reply.
        let outcomes = try journal.replay().map { outcome in
            guard outcome.status == .bounced else { return outcome }
            var o = outcome
            let verdict = BouncePolicy.verdict(refusalCode: o.code, enhanced: o.enhancedCode, text: o.text)
            o.bounceKind = verdict.kind
            o.bounceReason = verdict.reason.rawValue
            return o
        }
        if !outcomes.isEmpty {
            try await store.messages.record(outcomes, node: configuration.node, alsoRequeued: true)
            logger.notice("replayed the delivery journal", metadata: ["outcomes": "\(outcomes.count)"])
        }
        try journal.clear()
        let requeued = try await store.messages.requeueClaims(of: configuration.node)
        if requeued > 0 {
            logger.notice("gave back messages claimed before a restart", metadata: ["messages": "\(requeued)"])
        }
        try await store.nodes.register(configuration.node, now: now())
    }

    private func loop() async {
        while !exited && !Task.isCancelled {
            do {
                let t = now()
                perform(machine.beginRound(now: t))
                try await fill(now: t)
            } catch {
                logger.error("delivery loop failed; trying again", metadata: ["error": "\(error)"])
            }
            if !exited { await doorbell.wait(upTo: configuration.idlePoll) }
        }
    }

    // MARK: - Performing the machine's actions

    /// Runs `change` after every status change asked before it (see ``statusChanges``).
    private func inOrder(_ change: @escaping @Sendable () async -> Void) {
        let previous = statusChanges
        statusChanges = Task {
            await previous?.value
            await change()
        }
    }

    private func perform(_ actions: [DeliveryStateMachine.Action]) {
        for action in actions {
            switch action {
            case .claim:
                break  // made by fill(), which asks for claims one at a time
            case .stopFeeding:
                batches.cancelAll()
            case .abandonInFlight:
                Task { await transports.abandon() }
            case .probeJournal:
                do {
                    try journal.probe()
                    // Stopping, the registry stays halted (see shutdownRequested).
                    if !machine.isStopping { batches.resume() }
                    perform(machine.journalWorks(now: now()))
                } catch {
                    logger.debug("the delivery journal still cannot be written", metadata: ["error": "\(error)"])
                }
            case .finishIfDone(let unit):
                inOrder { [self] in
                    do { try await finishIfDone(unit, now: now()) } catch {
                        logger.error("could not mark a finished mass email sent; trying again later", metadata: ["error": "\(error)"])
                    }
                }
            case .pause(let unit, let reason):
                inOrder { [self] in
                    do { try await store.massEmails.pause(unit, reason: reason, now: now()) } catch {
                        logger.error("could not pause a mass email", metadata: ["mass_email": "\(unit.massEmailID)", "error": "\(error)"])
                    }
                }
            case .pauseAll(let reason):
                inOrder { [self] in
                    do {
                        for unit in try await store.massEmails.sendable() {
                            try await store.massEmails.pause(unit.key, reason: reason, now: now())
                        }
                        logger.error("paused every sending mass email", metadata: ["reason": "\(reason)"])
                    } catch {
                        logger.error("could not pause the sending mass emails", metadata: ["error": "\(error)"])
                    }
                }
            case .report(let condition):
                let node = configuration.node
                Task { [store] in try? await store.nodes.report(node, condition.map { Self.nodeCondition($0, node: node) }) }
            case .log(let level, let text):
                logger.log(level: level, "\(text)")
            case .exit:
                exited = true
                Task { await doorbell.ring() }
            }
        }
    }

    static func nodeCondition(_ condition: DeliveryStateMachine.Condition, node: String) -> NodeStore.Condition {
        switch condition {
        case .waitingForRelay(let since, let nextTry, let reason):
            NodeStore.Condition(node: node, kind: .waitingForRelay, since: since, nextTry: nextTry, reason: reason)
        case .journalUnwritable(let since, let reason):
            NodeStore.Condition(node: node, kind: .journalUnwritable, since: since, reason: reason)
        case .outOfTouch(let since):
            NodeStore.Condition(node: node, kind: .outOfTouch, since: since)
        }
    }

    // MARK: - Claims

    /// Claims and starts batches while the machine wants them.
    private func fill(now t: Int64) async throws {
        guard machine.mayClaim(now: t) else { return }
        let units = try await store.massEmails.sendable()
        guard !units.isEmpty else { return }
        var byKey: [MassEmailStep: SendingUnit] = [:]
        var candidates: [DeliveryStateMachine.Candidate] = []
        var allowances: [Int64: Int?] = [:]
        for unit in units {
            byKey[unit.key] = unit
            let sender = unit.massEmail.senderID
            if allowances[sender] == nil { allowances[sender] = try await senderAllowance(unit, now: t) }
            candidates.append(DeliveryStateMachine.Candidate(unit: unit.key, senderID: sender, senderAllowance: allowances[sender] ?? nil))
        }
        // Read once a round of claims, not once a claim (a change counts from the next round).
        var quota: (limit: Int, day: String)?
        if let limit = try await store.settings.dailyQuota() {
            quota = (limit, try await store.settings.today(at: Date(timeIntervalSince1970: TimeInterval(t))))
        }
        while let action = machine.nextClaim(among: candidates, now: t) {
            guard case .claim(let key, let limit) = action, let unit = byKey[key] else { break }
            let (claimed, quotaDay) = try await claim(unit, limit: limit, quota: quota, now: t)
            perform(machine.claimed(key, count: claimed.count, now: t))
            if !claimed.isEmpty { start(claimed, of: unit, quotaDay: quotaDay) }
        }
    }

    /// How many more messages the rates of a unit's sender allow now; nil when it has none.
    private func senderAllowance(_ unit: SendingUnit, now t: Int64) async throws -> Int? {
        let senderID = unit.massEmail.senderID
        var allowance: Int?
        if let perMinute = unit.senderRatePerMinute {
            allowance = max(0, perMinute - (try await store.messages.sentCount(sender: senderID, since: t - 60)))
        }
        if let perHour = unit.senderRatePerHour {
            allowance = min(allowance ?? .max, max(0, perHour - (try await store.messages.sentCount(sender: senderID, since: t - 3600))))
        }
        return allowance
    }

    /// Claims up to `limit` messages within the organisation's daily `quota` for its day
    /// (reserved here; what the claim did not use is given back at once).
    private func claim(_ unit: SendingUnit, limit: Int, quota: (limit: Int, day: String)?, now t: Int64) async throws -> ([ClaimedMessage], quotaDay: String?) {
        var count = limit
        var quotaDay: String?
        if let quota {
            // What the quota holds back stays queued and goes out the next day.
            count = try await store.quota.reserve(count, day: quota.day, limit: quota.limit)
            quotaDay = quota.day
        }
        guard count > 0 else { return ([], quotaDay) }
        let claimed = try await store.messages.claim(massEmail: unit.massEmail.id, step: unit.step, node: configuration.node,
                                                     limit: count, now: t)
        if let quotaDay { try await store.quota.release(count - claimed.count, day: quotaDay) }
        return (claimed, quotaDay)
    }

    private func start(_ claimed: [ClaimedMessage], of unit: SendingUnit, quotaDay: String?) {
        let id = nextBatch
        nextBatch += 1
        // Unstructured so that Stop and the machine's stopFeeding can cancel it: a cancelled
        // batch hands no further message to a connection. run() waits for every one.
        let task = Task { [self] in
            await self.process(claimed, of: unit, quotaDay: quotaDay)
            await self.batchEnded(id, unit: unit.key)
        }
        batches.add(id, unit: unit.key, task: task)
    }

    private func batchEnded(_ id: Int, unit: MassEmailStep) async {
        batches.remove(id)
        perform(machine.batchEnded(unit, now: now()))
        await wake()
    }

    // MARK: - A batch

    /// Renders and sends one batch; each outcome goes to the writer as it comes. Runs off the actor.
    nonisolated private func process(_ claimed: [ClaimedMessage], of unit: SendingUnit, quotaDay: String?) async {
        let massEmail = unit.massEmail
        let key = unit.key
        let sender = massEmail.senderID
        let policy = configuration.policy.retry
        let writer = self.writer
        let now = self.now
        func noteAll(_ messages: [ClaimedMessage], _ outcome: (ClaimedMessage) -> Outcome) {
            for message in messages { writer.add(outcome(message), for: message, unit: key, sender: sender, quotaDay: quotaDay) }
        }
        func giveBack(_ messages: [ClaimedMessage]) {
            noteAll(messages) { Outcome.of(.failure(MailError(.notSent, "given back")), for: $0, now: now(), policy: policy) }
        }
        let made: [Result<OutgoingMessage, HeraldError>]
        do {
            made = try await maker.make(claimed, of: massEmail)
        } catch {
            giveBack(claimed)
            try? await Task { try await self.store.massEmails.fail(key, reason: "\(error)", now: now()) }.value
            return
        }
        var outgoing: [OutgoingMessage] = []
        var byID: [Int64: ClaimedMessage] = [:]
        outgoing.reserveCapacity(claimed.count)
        for (message, result) in zip(claimed, made) {
            switch result {
            case .success(var rendered):
                rendered.id = message.id
                outgoing.append(rendered)
                byID[message.id] = message
            case .failure(let error):
                noteAll([message]) { _ in
                    Outcome(outcome: MessageOutcome(id: message.id, claim: message.claim, status: .failed, attempts: message.attempt,
                                                    text: error.message), signal: .refused, suppress: false)
                }
            }
        }
        // Another process may have stopped it between the claim and now.
        let stillSending = (try? await Task { try await self.store.massEmails.isSending(key) }.value) ?? false
        guard stillSending, !Task.isCancelled else {
            giveBack(Array(byID.values))
            return
        }
        let transport: any Transport
        do {
            transport = try await Task { try await self.transports.transport() }.value
        } catch {
            // The URL itself is wrong: a person must mend it.
            noteAll(Array(byID.values)) {
                Outcome.of(.failure(MailError(.invalidURL, "the mail transport cannot be used: \(error)")), for: $0, now: now(), policy: policy)
            }
            return
        }
        let throttleDelay = await self.throttleDelay(sender: sender)
        let reported = Mutex(Set<Int64>())
        let sending = byID
        _ = await transport.send(outgoing) { id, result in
            guard let message = sending[id] else { return }
            reported.withLock { _ = $0.insert(id) }
            writer.add(Outcome.of(result, for: message, now: now(), policy: policy, throttleDelay: throttleDelay),
                       for: message, unit: key, sender: sender, quotaDay: quotaDay)
        }
        // The transport reports every message; should one be missing, it goes back to the queue.
        let missing = reported.withLock { done in byID.values.filter { !done.contains($0.id) } }
        if !missing.isEmpty { giveBack(missing) }
    }

    private func throttleDelay(sender: Int64) -> Int64? { machine.throttleDelay(sender: sender) }

    // MARK: - After outcomes are written

    /// A group of outcomes reached the database: their after-effects, then what they tell
    /// the machine.
    private func written(_ written: OutcomeWriter.Written) async {
        if let failure = writer.takeJournalError() { perform(machine.journalFailed(failure, now: now())) }
        let t = now()
        let entries = written.entries
        givenBack += entries.filter { $0.outcome.outcome.status == .queued }.count
        // A refusal by the receiver is no "bounced" event (see BouncePolicy): the address is good.
        let bounced = entries.filter { $0.outcome.outcome.status == .bounced && $0.outcome.outcome.bounceKind == .hard }
        if !bounced.isEmpty {
            let events = bounced.map {
                EngagementEvent(kind: .bounced, messageID: $0.message.id, massEmailID: $0.message.massEmailID, step: $0.message.step,
                                recordID: $0.message.recordID, address: $0.message.address, at: t)
            }
            do { try await reactor.react(to: events) } catch {
                logger.error("trigger actions failed for bounces", metadata: ["error": "\(error)"])
            }
        }
        do {
            for entry in entries where entry.outcome.suppress {
                let o = entry.outcome.outcome
                try await store.suppressions.add(entry.message.address, reason: "hard_bounce",
                                                 detail: Bounce.suppressionDetail(reason: o.bounceReason, source: "smtp", text:
                                                    [o.code.map(String.init), o.enhancedCode, o.text].compactMap { $0 }.joined(separator: " ")),
                                                 now: t)
            }
            var unsentByDay: [String: Int] = [:]
            for entry in entries {
                guard let day = entry.quotaDay else { continue }
                let o = entry.outcome
                if o.outcome.status == .queued || (o.outcome.status == .deferred && o.signal == .throttled) { unsentByDay[day, default: 0] += 1 }
            }
            for (day, count) in unsentByDay { try await store.quota.release(count, day: day) }
        } catch {
            logger.error("after-effects of outcomes failed", metadata: ["error": "\(error)"])
        }
        // A group written late (set aside while the database refused it) is old news for the
        // machine: an outage or an answer of then says nothing of the relay now, and its
        // refusals and throttles were of another moment. Its after-effects above still count.
        if !written.late {
            var byUnit: [MassEmailStep: (sender: Int64, outcomes: [Outcome])] = [:]
            for entry in entries { byUnit[entry.unit, default: (entry.sender, [])].outcomes.append(entry.outcome) }
            for (unit, group) in byUnit { perform(machine.received(group.outcomes, of: unit, sender: group.sender, now: t)) }
        }
        await wake()
    }

    // MARK: - Heartbeats

    /// Time between looks for messages held by a node that has no row (``NodeStore/takeOver(now:by:orphans:)``).
    static let orphanSweepInterval: Duration = .seconds(60)

    private func heartbeats() async {
        // On the monotonic clock: a wall clock set back would otherwise hold the sweep off for as long.
        var lastOrphanSweep: ContinuousClock.Instant?
        while !exited && !Task.isCancelled {
            try? await Task.sleep(for: configuration.heartbeatInterval)
            guard !exited else { return }
            let t = now()
            do {
                let alive = try await store.nodes.beat(configuration.node, now: t)
                perform(machine.heartbeat(alive ? .recorded : .declaredDead, now: t))
                guard machine.mayTakeOver(now: t) else { continue }
                // Messages of a node without a row are left only by older versions (see NodeStore.takeOver), and costly to look for.
                let sweptAt = ContinuousClock.now
                let orphans = lastOrphanSweep.map { sweptAt - $0 >= Self.orphanSweepInterval } ?? true
                let taken = try await store.nodes.takeOver(now: t, by: configuration.node, orphans: orphans)
                if orphans { lastOrphanSweep = sweptAt }
                if taken.messages > 0 || !taken.nodes.isEmpty {
                    logger.notice("took over the messages of processes that stopped", metadata: [
                        "processes": "\(taken.nodes.joined(separator: ", "))", "messages": "\(taken.messages)"])
                    await wake()
                }
            } catch {
                perform(machine.heartbeat(.failed, now: t))
                logger.warning("a heartbeat could not be written", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The fence's timer (``DeliveryStateMachine/tick(now:)``): it makes no database call, so
    /// one that hangs elsewhere does not hold it up.
    private func fencing() async {
        while !exited && !Task.isCancelled {
            try? await Task.sleep(for: configuration.heartbeatInterval)
            guard !exited else { return }
            perform(machine.tick(now: now()))
        }
    }

    // MARK: - Finishing and stopping

    /// Marks `unit` sent once every message of it is decided, and logs that it finished,
    /// with its figures and how long it took.
    private func finishIfDone(_ unit: MassEmailStep, now t: Int64) async throws {
        guard try await store.massEmails.finishIfDone(unit, now: t) else { return }
        let id = unit.massEmailID
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
        let mine = batches.cancel { $0.massEmailID == id && steps.contains($0.step) }
        for task in mine { await task.value }
        let deadline = ContinuousClock.now + waitForOthers
        while ContinuousClock.now < deadline, try await store.messages.holding(massEmail: id) {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// The batches in flight, reachable from any thread: the journal's failure, on a
/// connection's event loop, cancels them at once, before another message goes out unnoted,
/// and holds back every batch started after it (the machine learns of the failure only when
/// the outcomes reach the database, and may claim meanwhile) until the journal works again.
final class BatchRegistry: Sendable {
    private struct State {
        var batches: [Int: (unit: MassEmailStep, task: Task<Void, Never>)] = [:]
        var halted = false
    }
    private let state = Mutex(State())

    /// Registers a batch; while halted, it is cancelled at once (and gives its messages back).
    func add(_ id: Int, unit: MassEmailStep, task: Task<Void, Never>) {
        let halted = state.withLock { state in
            state.batches[id] = (unit, task)
            return state.halted
        }
        if halted { task.cancel() }
    }

    func remove(_ id: Int) {
        state.withLock { _ = $0.batches.removeValue(forKey: id) }
    }

    /// Cancels every batch (no further message is handed to a connection) and returns their tasks.
    @discardableResult
    func cancelAll() -> [Task<Void, Never>] {
        cancel { _ in true }
    }

    /// The journal cannot be written, or the process is stopping: cancels every batch, and every one added until ``resume()``.
    func halt() {
        state.withLock { $0.halted = true }
        cancelAll()
    }

    /// The journal works again: batches added from now on run.
    func resume() {
        state.withLock { $0.halted = false }
    }

    /// Cancels the batches of the units that match, and returns their tasks.
    func cancel(where matches: (MassEmailStep) -> Bool) -> [Task<Void, Never>] {
        let tasks = state.withLock { $0.batches.values.filter { matches($0.unit) }.map(\.task) }
        for task in tasks { task.cancel() }
        return tasks
    }
}
