import HeraldCore
import HeraldStore
import Logging

/// The sending engine's decisions, as a pure state machine: what to claim and how much,
/// when a sender rests, when the relay is out and when to try it again, when a mass email
/// pauses, what a broken journal, a lost heartbeat or a SIGTERM stop. It does no I/O and
/// reads no clock: ``DeliveryEngine`` feeds it events, each with the time, and performs the
/// ``Action``s it returns. Every rule is tested without a socket or a database
/// (`DeliveryStateMachineTests`), table by table.
///
/// What one SMTP result means for its message is ``Outcome/of(_:for:now:policy:throttleDelay:)``;
/// this type hears the resulting ``Outcome/Signal``s.
public struct DeliveryStateMachine: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Messages claimed, rendered and handed to SMTP together. A batch's messages are held
        /// rendered until it ends, so this times ``parallelBatches`` is most of the sending
        /// process's heap: measured at 100,000 messages, 200 peaked about 10 MB below 500 at
        /// the same rate within the noise.
        public var batchSize = 200
        /// Batches in flight at once, so that the connections stay busy while one batch is
        /// being claimed or rendered.
        public var parallelBatches = 3
        /// While the relay is out, the try after each wait claims only this many.
        public var probeSize = 20
        public var retry = RetryPolicy()
        /// How long this process goes on handing messages to SMTP without a heartbeat the
        /// database took. Others take its messages over after ``NodeStore/staleAfter``, which
        /// is longer: by then it has stopped.
        public var fenceAfter: Int64 = 3
        /// After SIGTERM, how long what is on the wire may take to finish.
        public var shutdownGrace: Int64 = 10
        /// How often a journal that could not be written is tried again.
        public var journalRetry: Int64 = 5
        /// How long this process's heartbeats must have reached the database without a break
        /// before it may declare others dead (``NodeStore/staleAfter``): after an outage of the
        /// database every heartbeat is stale, and a process back first would otherwise take
        /// over the others — alive, and holding outcomes not yet written — before their next
        /// beat could reach it.
        public var takeOverAfter: Int64 = NodeStore.staleAfter

        public init() {}
    }

    /// A mass email or follow-up that is sending, as the engine sees it when it claims.
    public struct Candidate: Sendable, Hashable {
        public var unit: MassEmailStep
        public var senderID: Int64
        /// How many more messages the sender's per-minute and per-hour rates allow now
        /// (nil: it has no rate).
        public var senderAllowance: Int?

        public init(unit: MassEmailStep, senderID: Int64, senderAllowance: Int? = nil) {
            self.unit = unit
            self.senderID = senderID
            self.senderAllowance = senderAllowance
        }
    }

    /// What this process's sending is held up by, for the other processes and the pages.
    public enum Condition: Sendable, Hashable {
        /// The relay could not be reached; the next try is at `nextTry`.
        case waitingForRelay(since: Int64, nextTry: Int64, reason: String)
        /// The delivery journal cannot be written: nothing is sent until it can.
        case journalUnwritable(since: Int64, reason: String)
        /// No heartbeat reached the database for a while: nothing is sent until one does.
        case outOfTouch(since: Int64)
    }

    public enum Heartbeat: Sendable, Hashable {
        /// The database took it.
        case recorded
        /// It could not be written (the database is unreachable).
        case failed
        /// This process's row was gone: the others declared it dead and took its messages.
        case declaredDead
    }

    public enum Action: Sendable, Hashable {
        /// Claim up to `limit` due messages of the unit (within the daily quota) and send them
        /// as one batch; then call ``claimed(_:count:now:)``.
        case claim(MassEmailStep, limit: Int)
        /// Hand no further message to SMTP: every batch's feed is cancelled; what is on the
        /// wire finishes, what was not taken goes back to the queue.
        case stopFeeding
        /// Close every connection now (the grace after SIGTERM is over); what was on the wire
        /// comes back as uncertain.
        case abandonInFlight
        /// Try writing the journal again; then call ``journalWorks(now:)`` or ``journalFailed(_:now:)``.
        case probeJournal
        /// Mark the unit sent if every message of it is decided.
        case finishIfDone(MassEmailStep)
        case pause(MassEmailStep, reason: String)
        /// Pause every sending mass email and follow-up: a person must act.
        case pauseAll(reason: String)
        /// Tell the other processes and the pages what holds this process's sending up (nil: nothing).
        case report(Condition?)
        case log(Logger.Level, String)
        /// Shut down: nothing is in flight any more.
        case exit
    }

    enum Relay: Sendable, Hashable {
        case up
        case waiting(since: Int64, delay: Int64, nextTry: Int64, reason: String, probing: Bool)
    }

    enum Phase: Sendable, Hashable {
        case running
        case draining(deadline: Int64)
        case abandoning
        case exited
    }

    public let configuration: Configuration
    private var relay = Relay.up
    private var journalBroken: (since: Int64, reason: String, nextProbe: Int64)?
    private var lastBeat: Int64
    private var outOfTouchSince: Int64?
    /// Since when every heartbeat reached the database (nil: the last one failed).
    private var inTouchSince: Int64?
    private var phase = Phase.running
    /// Batches in flight, by unit.
    private var batches: [MassEmailStep: Int] = [:]
    /// Units whose last claim found nothing due: not asked again until ``beginRound(now:)``.
    private var dry: Set<MassEmailStep> = []
    /// Messages claimed this round, by sender: a sender's rate allowance is counted before
    /// the round, so each claim of the round takes its share of it.
    private var claimedThisRound: [Int64: Int] = [:]
    /// The sender of the claim asked for last, until ``claimed(_:count:now:)``.
    private var claimInFlight: (unit: MassEmailStep, sender: Int64)?
    /// Senders resting after the server asked us to slow down.
    private var resting: [Int64: (until: Int64, delay: Int64)] = [:]
    /// The last answered outcomes of each unit, true for a refusal (newest last).
    private var refusals: [MassEmailStep: [Bool]] = [:]
    private var reported: Condition?

    public init(configuration: Configuration, now: Int64) {
        self.configuration = configuration
        self.lastBeat = now
    }

    // MARK: - What the engine asks

    /// Batches in flight, of every unit.
    public var batchesInFlight: Int { batches.values.reduce(0, +) }

    /// Whether SIGTERM has been heard.
    public var isStopping: Bool { phase != .running }

    /// How long the sender's messages that the server throttled wait (the sender's rest).
    public func throttleDelay(sender: Int64) -> Int64? { resting[sender]?.delay }

    /// What holds sending up now, if anything.
    public var condition: Condition? {
        if let journalBroken { return .journalUnwritable(since: journalBroken.since, reason: journalBroken.reason) }
        if let outOfTouchSince { return .outOfTouch(since: outOfTouchSince) }
        if case .waiting(let since, _, let nextTry, let reason, _) = relay { return .waitingForRelay(since: since, nextTry: nextTry, reason: reason) }
        return nil
    }

    // MARK: - Events

    /// The start of a round of claims: timers fall due here (the grace, the next try of the
    /// relay or the journal, going out of touch, a relay out for too long).
    public mutating func beginRound(now: Int64) -> [Action] {
        dry.removeAll()
        claimedThisRound.removeAll()
        var actions: [Action] = []
        switch phase {
        case .draining(let deadline) where now >= deadline:
            phase = .abandoning
            actions.append(.log(.warning, "the shutdown grace is over; closing the connections with messages still on the wire"))
            actions.append(.abandonInFlight)
            if batches.isEmpty { actions.append(contentsOf: exit()) }
        default:
            break
        }
        if var broken = journalBroken, now >= broken.nextProbe {
            broken.nextProbe = now + configuration.journalRetry
            journalBroken = broken
            actions.append(.probeJournal)
        }
        actions += fence(now: now)
        if case .waiting(let since, _, _, let reason, _) = relay, now - since >= configuration.retry.outagePauseAfter {
            relay = .up
            let hours = (now - since) / 3600
            actions.append(.pauseAll(reason: "the relay could not be reached for \(hours) hours (\(reason)); resume when it works again"))
        }
        return actions + reportIfChanged()
    }

    /// A second passed: the fence is checked on a timer of its own, since a database call
    /// that hangs holds up the claims' rounds and the heartbeats alike, while batches already
    /// out go on handing messages to SMTP.
    public mutating func tick(now: Int64) -> [Action] {
        let actions = fence(now: now)
        return actions.isEmpty ? [] : actions + reportIfChanged()
    }

    /// No heartbeat reached the database for ``Configuration/fenceAfter``: nothing more goes
    /// to SMTP until one does, since another process may take these messages over.
    private mutating func fence(now: Int64) -> [Action] {
        guard outOfTouchSince == nil, now - lastBeat > configuration.fenceAfter else { return [] }
        outOfTouchSince = now
        return [.log(.warning, "no heartbeat reached the database for \(now - lastBeat) s; handing nothing more to SMTP until one does, since another process may take these messages over"),
                .stopFeeding]
    }

    /// Whether ``nextClaim(among:now:)`` could return a claim now: when it cannot, the engine
    /// need not ask the database what is sending.
    public func mayClaim(now: Int64) -> Bool {
        guard phase == .running, journalBroken == nil, outOfTouchSince == nil,
              batchesInFlight < configuration.parallelBatches else { return false }
        if case .waiting(_, _, let nextTry, _, let probing) = relay { return !probing && now >= nextTry && batches.isEmpty }
        return true
    }

    /// Whether this process may now declare others dead and take their messages over: only
    /// once its own heartbeats have reached the database for ``Configuration/takeOverAfter``.
    public func mayTakeOver(now: Int64) -> Bool {
        inTouchSince.map { now - $0 >= configuration.takeOverAfter } ?? false
    }

    /// The next claim to make now, among the sending units (oldest first), or nil.
    public mutating func nextClaim(among candidates: [Candidate], now: Int64) -> Action? {
        guard mayClaim(now: now) else { return nil }
        var limit = configuration.batchSize
        if case .waiting(let since, let delay, let nextTry, let reason, _) = relay {
            // One small try at a time, once the wait is over.
            relay = .waiting(since: since, delay: delay, nextTry: nextTry, reason: reason, probing: true)
            limit = configuration.probeSize
        }
        for candidate in candidates where !dry.contains(candidate.unit) {
            if let rest = resting[candidate.senderID], rest.until > now { continue }
            let rate = candidate.senderAllowance.map { $0 - claimedThisRound[candidate.senderID, default: 0] }
            let allowed = min(limit, rate ?? limit)
            guard allowed > 0 else { continue }
            claimInFlight = (candidate.unit, candidate.senderID)
            return .claim(candidate.unit, limit: allowed)
        }
        if case .waiting(let since, let delay, let nextTry, let reason, true) = relay {
            relay = .waiting(since: since, delay: delay, nextTry: nextTry, reason: reason, probing: false)
        }
        return nil
    }

    /// A claim made `count` messages of the unit a batch (0: nothing of it was due).
    public mutating func claimed(_ unit: MassEmailStep, count: Int, now: Int64) -> [Action] {
        if let pending = claimInFlight, pending.unit == unit { claimedThisRound[pending.sender, default: 0] += count }
        claimInFlight = nil
        guard count > 0 else {
            dry.insert(unit)
            if case .waiting(let since, let delay, let nextTry, let reason, true) = relay {
                relay = .waiting(since: since, delay: delay, nextTry: nextTry, reason: reason, probing: false)
            }
            // Asking whether anything is undecided pays only when no batch of it is out.
            return batches[unit, default: 0] == 0 ? [.finishIfDone(unit)] : []
        }
        batches[unit, default: 0] += 1
        return []
    }

    /// A batch of the unit ended: every message of it is answered or given back.
    public mutating func batchEnded(_ unit: MassEmailStep, now: Int64) -> [Action] {
        let left = max(0, batches[unit, default: 0] - 1)
        batches[unit] = left == 0 ? nil : left
        var actions: [Action] = []
        if phase != .running, left == 0 {
            // No claim follows, so the last batch of a unit finishes it here.
            actions.append(.finishIfDone(unit))
        }
        if case .waiting(let since, let delay, let nextTry, let reason, true) = relay {
            // The try ended without hearing from a server or failing to reach one (all given back).
            relay = .waiting(since: since, delay: delay, nextTry: nextTry, reason: reason, probing: false)
        }
        if phase != .running, phase != .exited, batches.isEmpty { actions += exit() }
        return actions
    }

    /// Outcomes of messages of one unit, in the order they were answered.
    public mutating func received(_ outcomes: [Outcome], of unit: MassEmailStep, sender: Int64, now: Int64) -> [Action] {
        var actions: [Action] = []
        var throttled = false
        var lastRefusal: MessageOutcome?
        var window = refusals[unit, default: []]
        for outcome in outcomes {
            if outcome.serverAnswered { actions += relayAnswered(now: now) }
            switch outcome.signal {
            case .throttled?:
                throttled = true
            case .outage(let reason)?:
                actions += relayOut(reason, now: now)
                continue
            case .transportBroken(let reason)?:
                if !actions.contains(where: { if case .pauseAll = $0 { true } else { false } }) {
                    actions.append(.pauseAll(reason: "the relay refused the session: \(reason)"))
                }
                continue
            case .refused?:
                lastRefusal = outcome.outcome
            case nil:
                break
            }
            // Given back or throttled: no verdict on the message.
            guard outcome.outcome.status != .queued, outcome.signal != .throttled else { continue }
            window.append(outcome.signal == .refused)
        }
        if window.count > configuration.retry.refusalWindow { window.removeFirst(window.count - configuration.retry.refusalWindow) }
        let refused = window.filter { $0 }.count
        let policy = configuration.retry
        if window.count >= policy.pauseMinimumMessages, Double(refused) >= Double(window.count) * policy.pauseRefusalRatio {
            let last = lastRefusal.map { [$0.code.map(String.init), $0.enhancedCode, $0.text].compactMap { $0 }.joined(separator: " ") } ?? ""
            actions.append(.pause(unit, reason: "\(refused) of the last \(window.count) messages were refused (last: \(last))"))
            window.removeAll()
        }
        refusals[unit] = window
        if throttled {
            let delay = resting[sender].map { min(policy.maxThrottleDelay, $0.delay * 2) } ?? policy.throttleDelay
            resting[sender] = (now + delay, delay)
            actions.append(.log(.notice, "the SMTP server asks to slow down; sender \(sender) rests \(delay) s"))
        } else if let rest = resting[sender], rest.until <= now {
            resting[sender] = nil
        }
        return actions + reportIfChanged()
    }

    /// The journal could not be written: nothing more goes to SMTP until it can, since an
    /// outcome that is not noted may be sent again after a crash.
    public mutating func journalFailed(_ reason: String, now: Int64) -> [Action] {
        guard journalBroken == nil else { return [] }
        journalBroken = (now, reason, now + configuration.journalRetry)
        return [.log(.error, "the delivery journal cannot be written (\(reason)); handing nothing more to SMTP until it can"),
                .stopFeeding] + reportIfChanged()
    }

    /// A probe wrote the journal: sending resumes.
    public mutating func journalWorks(now: Int64) -> [Action] {
        guard let broken = journalBroken else { return [] }
        journalBroken = nil
        return [.log(.notice, "the delivery journal can be written again after \(now - broken.since) s; sending resumes")] + reportIfChanged()
    }

    public mutating func heartbeat(_ beat: Heartbeat, now: Int64) -> [Action] {
        switch beat {
        case .recorded:
            lastBeat = now
            if inTouchSince == nil { inTouchSince = now }
            guard let since = outOfTouchSince else { return [] }
            outOfTouchSince = nil
            return [.log(.notice, "heartbeats reach the database again after \(now - since) s; sending resumes")] + reportIfChanged()
        case .failed:
            inTouchSince = nil
            return []
        case .declaredDead:
            lastBeat = now
            inTouchSince = now
            outOfTouchSince = nil
            return [.log(.error, "the other processes declared this one dead and took its messages over; dropping what it held"),
                    .stopFeeding] + reportIfChanged()
        }
    }

    /// SIGTERM: take nothing new, let what is on the wire finish within the grace.
    public mutating func shutdownRequested(now: Int64) -> [Action] {
        guard phase == .running else { return [] }
        phase = .draining(deadline: now + configuration.shutdownGrace)
        var actions: [Action] = [.log(.notice, "stopping: handing nothing more to SMTP; \(batchesInFlight) batches finish what is on the wire (at most \(configuration.shutdownGrace) s)"),
                                 .stopFeeding]
        if batches.isEmpty { actions += exit() }
        return actions
    }

    // MARK: - Relay

    private mutating func relayOut(_ reason: String, now: Int64) -> [Action] {
        let retry = configuration.retry
        switch relay {
        case .up:
            relay = .waiting(since: now, delay: retry.outageDelay, nextTry: now + retry.outageDelay, reason: reason, probing: false)
            return [.log(.warning, "the relay cannot be reached (\(reason)); trying again in \(retry.outageDelay) s")]
        case .waiting(let since, let delay, _, _, true):
            let next = min(retry.maxOutageDelay, delay * 2)
            relay = .waiting(since: since, delay: next, nextTry: now + next, reason: reason, probing: false)
            return [.log(.warning, "the relay still cannot be reached (\(reason)); trying again in \(next) s")]
        case .waiting:
            // A straggler of a batch that was out before the wait began.
            return []
        }
    }

    private mutating func relayAnswered(now: Int64) -> [Action] {
        guard case .waiting(let since, _, _, _, _) = relay else { return [] }
        relay = .up
        return [.log(.notice, "the relay answers again after \(now - since) s; sending resumes")]
    }

    private mutating func reportIfChanged() -> [Action] {
        let current = condition
        guard current != reported else { return [] }
        reported = current
        return [.report(current)]
    }

    private mutating func exit() -> [Action] {
        phase = .exited
        return [.exit]
    }
}
