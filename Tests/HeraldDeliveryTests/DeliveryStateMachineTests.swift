import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Mail
import Testing

/// The engine's decisions without sockets or a database: each test feeds events with the
/// time and checks the actions.
@Suite struct DeliveryStateMachineTests {
    typealias Machine = DeliveryStateMachine
    static let a = MassEmailStep(massEmailID: 1, step: 0)
    static let b = MassEmailStep(massEmailID: 2, step: 0)

    static func machine(_ change: (inout Machine.Configuration) -> Void = { _ in }) -> Machine {
        var configuration = Machine.Configuration()
        configuration.batchSize = 100
        configuration.parallelBatches = 2
        change(&configuration)
        return Machine(configuration: configuration, now: 1000)
    }

    static let candidates = [Machine.Candidate(unit: a, senderID: 10), Machine.Candidate(unit: b, senderID: 20)]

    /// A machine that has claimed one batch of each of the two units at 1000.
    static func withABatchOfEachUnitOut() -> Machine {
        var m = machine()
        _ = m.nextClaim(among: candidates, now: 1000)
        _ = m.claimed(a, count: 100, now: 1000)
        _ = m.nextClaim(among: candidates, now: 1000)
        _ = m.claimed(b, count: 100, now: 1000)
        return m
    }

    static func outcome(_ status: MessageStatus, code: Int? = 250, signal: Outcome.Signal? = nil, id: Int64 = 1) -> Outcome {
        Outcome(outcome: MessageOutcome(id: id, claim: 1, status: status, attempts: 1, code: code), signal: signal, suppress: false)
    }

    static func logs(_ actions: [Machine.Action]) -> [String] {
        actions.compactMap { if case .log(_, let text) = $0 { text } else { nil } }
    }

    static func withoutLogs(_ actions: [Machine.Action]) -> [Machine.Action] {
        actions.filter { if case .log = $0 { false } else { true } }
    }

    // MARK: Claims

    @Test func claimsFillTheParallelBatchesOldestUnitFirst() {
        var m = Self.machine()
        #expect(m.beginRound(now: 1000).isEmpty)
        #expect(m.nextClaim(among: Self.candidates, now: 1000) == .claim(Self.a, limit: 100))
        #expect(m.claimed(Self.a, count: 100, now: 1000).isEmpty)
        #expect(m.nextClaim(among: Self.candidates, now: 1000) == .claim(Self.a, limit: 100))
        #expect(m.claimed(Self.a, count: 100, now: 1000).isEmpty)
        // Two batches in flight: no more.
        #expect(m.nextClaim(among: Self.candidates, now: 1000) == nil)
        #expect(!m.mayClaim(now: 1000))
        #expect(m.batchEnded(Self.a, now: 1001).isEmpty)
        #expect(m.nextClaim(among: Self.candidates, now: 1001) == .claim(Self.a, limit: 100))
    }

    @Test func aUnitWithNothingDueIsAskedAgainNextRoundAndFinishedWhenNothingOfItIsOut() {
        var m = Self.machine()
        _ = m.nextClaim(among: Self.candidates, now: 1000)
        // Nothing due, no batch of it out: time to ask whether it is finished.
        #expect(m.claimed(Self.a, count: 0, now: 1000) == [.finishIfDone(Self.a)])
        #expect(m.nextClaim(among: Self.candidates, now: 1000) == .claim(Self.b, limit: 100))
        #expect(m.claimed(Self.b, count: 5, now: 1000).isEmpty)
        #expect(m.nextClaim(among: Self.candidates, now: 1000) == .claim(Self.b, limit: 100))
        // A batch of b is out: not finished yet.
        #expect(m.claimed(Self.b, count: 0, now: 1000).isEmpty)
        #expect(m.nextClaim(among: Self.candidates, now: 1000) == nil)
        _ = m.beginRound(now: 1001)
        #expect(m.nextClaim(among: Self.candidates, now: 1001) == .claim(Self.a, limit: 100))
    }

    @Test func aSendersRateLimitsTheClaim() {
        var m = Self.machine()
        let limited = [Machine.Candidate(unit: Self.a, senderID: 10, senderAllowance: 7), Machine.Candidate(unit: Self.b, senderID: 20, senderAllowance: 0)]
        #expect(m.nextClaim(among: limited, now: 1000) == .claim(Self.a, limit: 7))
        _ = m.claimed(Self.a, count: 5, now: 1000)
        // The round's claims take their share of the rate counted before it.
        #expect(m.nextClaim(among: limited, now: 1000) == .claim(Self.a, limit: 2))
        _ = m.claimed(Self.a, count: 2, now: 1000)
        // Used up, like b's sender: skipped, not claimed with 0.
        #expect(m.nextClaim(among: limited, now: 1000) == nil)
    }

    // MARK: Throttling

    @Test func aThrottledSenderRestsDoublingWhileItIsAskedAndRecoversAfter() {
        var m = Self.machine()
        var actions = m.received([Self.outcome(.deferred, code: 421, signal: .throttled)], of: Self.a, sender: 10, now: 1000)
        #expect(Self.logs(actions).first?.contains("rests 30 s") == true)
        #expect(m.throttleDelay(sender: 10) == 30)
        // Its units are not claimed while it rests; the other sender's are.
        #expect(m.nextClaim(among: Self.candidates, now: 1010) == .claim(Self.b, limit: 100))
        actions = m.received([Self.outcome(.deferred, code: 451, signal: .throttled)], of: Self.a, sender: 10, now: 1031)
        #expect(m.throttleDelay(sender: 10) == 60)
        #expect(Self.logs(actions).first?.contains("rests 60 s") == true)
        // Answered normally after the rest: the rest is over.
        _ = m.received([Self.outcome(.sent)], of: Self.a, sender: 10, now: 1100)
        #expect(m.throttleDelay(sender: 10) == nil)
    }

    // MARK: Refusals

    @Test func mostOfAWindowRefusedPausesTheUnitButAddressBouncesDoNot() {
        var m = Self.machine()
        // 25 bounces for unknown addresses (no signal): not the content's fault.
        let unknown = (1...25).map { Self.outcome(.bounced, code: 550, id: Int64($0)) }
        #expect(Self.withoutLogs(m.received(unknown, of: Self.a, sender: 10, now: 1000)).isEmpty)
        // 10 sent, then 30 refused for policy: 30 of the last 50 (the window) refused.
        var mixed = (1...10).map { Self.outcome(.sent, id: Int64(100 + $0)) }
        mixed += (1...30).map { Self.outcome(.bounced, code: 554, signal: .refused, id: Int64(200 + $0)) }
        let actions = m.received(mixed, of: Self.a, sender: 10, now: 1001)
        #expect(actions.contains(.pause(Self.a, reason: "30 of the last 50 messages were refused (last: 554)")))
        // Throttled and given-back messages are no verdict on the content.
        var n = Self.machine()
        let noVerdict = (1...40).map { Self.outcome(.queued, code: nil, signal: .outage("refused"), id: Int64($0)) }
            + (1...10).map { Self.outcome(.bounced, code: 554, signal: .refused, id: Int64(100 + $0)) }
        #expect(!n.received(noVerdict, of: Self.a, sender: 10, now: 1000).contains { if case .pause = $0 { true } else { false } })
    }

    @Test func anAccountRefusedPausesEverythingOnce() {
        var m = Self.machine()
        let broken = (1...4).map { Self.outcome(.queued, code: nil, signal: .transportBroken("535 bad credentials"), id: Int64($0)) }
        let actions = m.received(broken, of: Self.a, sender: 10, now: 1000)
        #expect(actions.filter { if case .pauseAll = $0 { true } else { false } } == [.pauseAll(reason: "the relay refused the session: 535 bad credentials")])
    }

    // MARK: The relay out

    /// Refused, timed out, TLS or DNS: wait 30 s, try a few, double while it fails (to
    /// 10 min), resume on the first answer, pause for a person after a day.
    @Test func anOutageWaitsRetriesWithBackoffAndHealsItself() {
        var m = Self.machine()
        _ = m.nextClaim(among: Self.candidates, now: 1000)
        _ = m.claimed(Self.a, count: 100, now: 1000)
        let out = Self.outcome(.queued, code: nil, signal: .outage("connection refused"))
        var actions = m.received([out, out, out, out], of: Self.a, sender: 10, now: 1000)
        #expect(actions.contains(.report(.waitingForRelay(since: 1000, nextTry: 1030, reason: "connection refused"))))
        #expect(Self.logs(actions) == ["the relay cannot be reached (connection refused); trying again in 30 s"])
        _ = m.batchEnded(Self.a, now: 1000)
        // Nothing is claimed during the wait, not even by other units.
        #expect(!m.mayClaim(now: 1029))
        #expect(m.nextClaim(among: Self.candidates, now: 1029) == nil)
        // At the next try, a small probe.
        #expect(m.nextClaim(among: Self.candidates, now: 1030) == .claim(Self.a, limit: m.configuration.probeSize))
        _ = m.claimed(Self.a, count: 20, now: 1030)
        #expect(m.nextClaim(among: Self.candidates, now: 1030) == nil)
        actions = m.received([out], of: Self.a, sender: 10, now: 1031)
        #expect(actions.contains(.report(.waitingForRelay(since: 1000, nextTry: 1091, reason: "connection refused"))))
        // A straggler of the same probe does not double again.
        #expect(Self.withoutLogs(m.received([out], of: Self.a, sender: 10, now: 1031)).isEmpty)
        _ = m.batchEnded(Self.a, now: 1031)
        // Doubling stops at ten minutes.
        var now: Int64 = 1091
        for _ in 0..<8 {
            #expect(m.nextClaim(among: Self.candidates, now: now) != nil)
            _ = m.claimed(Self.a, count: 20, now: now)
            _ = m.received([out], of: Self.a, sender: 10, now: now)
            _ = m.batchEnded(Self.a, now: now)
            guard case .waitingForRelay(_, let next, _)? = m.condition else { Issue.record(); return }
            #expect(next - now <= 600)
            now = next
        }
        // The relay answers: sending resumes by itself, at full size.
        _ = m.nextClaim(among: Self.candidates, now: now)
        _ = m.claimed(Self.a, count: 20, now: now)
        actions = m.received([Self.outcome(.sent)], of: Self.a, sender: 10, now: now + 1)
        #expect(actions.contains(.report(nil)))
        #expect(Self.logs(actions).first?.hasPrefix("the relay answers again after") == true)
        #expect(m.nextClaim(among: Self.candidates, now: now + 1) == .claim(Self.a, limit: 100))
    }

    @Test func aRelayOutForADayPausesForAPerson() {
        var m = Self.machine()
        _ = m.received([Self.outcome(.queued, code: nil, signal: .outage("connection refused"))], of: Self.a, sender: 10, now: 1000)
        _ = m.heartbeat(.recorded, now: 1000 + 24 * 3600 - 1)
        #expect(!m.beginRound(now: 1000 + 24 * 3600 - 1).contains { if case .pauseAll = $0 { true } else { false } })
        let actions = m.beginRound(now: 1000 + 24 * 3600)
        #expect(actions.contains(.pauseAll(reason: "the relay could not be reached for 24 hours (connection refused); resume when it works again")))
        #expect(actions.contains(.report(nil)))
    }

    // MARK: The journal

    @Test func noJournalNoSendingUntilAProbeWrites() {
        var m = Self.machine()
        var actions = m.journalFailed("No space left on device", now: 1000)
        #expect(Self.withoutLogs(actions) == [.stopFeeding, .report(.journalUnwritable(since: 1000, reason: "No space left on device"))])
        #expect(m.journalFailed("again", now: 1001).isEmpty)
        #expect(m.nextClaim(among: Self.candidates, now: 1001) == nil)
        _ = m.heartbeat(.recorded, now: 1004)
        #expect(m.beginRound(now: 1004).isEmpty)
        #expect(m.beginRound(now: 1005) == [.probeJournal])
        #expect(m.beginRound(now: 1006).isEmpty)
        actions = m.journalWorks(now: 1007)
        #expect(Self.withoutLogs(actions) == [.report(nil)])
        #expect(m.nextClaim(among: Self.candidates, now: 1007) == .claim(Self.a, limit: 100))
    }

    // MARK: Heartbeats

    @Test func withoutHeartbeatsNothingIsHandedToSMTPAndAHeartbeatResumes() {
        var m = Self.machine()
        #expect(m.heartbeat(.recorded, now: 1001).isEmpty)
        #expect(m.heartbeat(.failed, now: 1002).isEmpty)
        #expect(m.beginRound(now: 1004).isEmpty)
        let actions = m.beginRound(now: 1005)
        #expect(Self.withoutLogs(actions) == [.stopFeeding, .report(.outOfTouch(since: 1005))])
        #expect(m.nextClaim(among: Self.candidates, now: 1005) == nil)
        #expect(Self.withoutLogs(m.heartbeat(.recorded, now: 1006)) == [.report(nil)])
        #expect(m.nextClaim(among: Self.candidates, now: 1006) != nil)
    }

    @Test func declaredDeadDropsWhatItHeld() {
        var m = Self.machine()
        #expect(Self.withoutLogs(m.heartbeat(.declaredDead, now: 1010)) == [.stopFeeding])
        #expect(m.nextClaim(among: Self.candidates, now: 1010) != nil)
    }

    /// The fence holds without rounds of claims (a database call that hangs holds them up):
    /// the timer's tick stops the feeds once, and a heartbeat lifts it.
    @Test func theFenceFallsOnATickWithoutARound() {
        var m = Self.machine()
        _ = m.heartbeat(.recorded, now: 1000)
        #expect(m.tick(now: 1003).isEmpty)
        #expect(Self.withoutLogs(m.tick(now: 1004)) == [.stopFeeding, .report(.outOfTouch(since: 1004))])
        #expect(m.tick(now: 1005).isEmpty)
        #expect(m.nextClaim(among: Self.candidates, now: 1005) == nil)
        #expect(Self.withoutLogs(m.heartbeat(.recorded, now: 1006)) == [.report(nil)])
        #expect(m.nextClaim(among: Self.candidates, now: 1006) != nil)
    }

    /// Others are taken over only by a process whose own heartbeats have reached the database
    /// for `takeOverAfter` (5 s) without a break: after an outage of the database, the first
    /// process back does not declare dead those that were cut off alike.
    @Test func takesOthersOverOnlyAfterItsOwnHeartbeatsHeld() {
        var m = Self.machine()
        #expect(!m.mayTakeOver(now: 1000))
        let table: [(beat: Machine.Heartbeat, now: Int64, mayTakeOver: Bool)] = [
            (.recorded, 1001, false), (.recorded, 1005, false), (.recorded, 1006, true),
            (.failed, 1007, false), (.recorded, 1010, false), (.recorded, 1014, false), (.recorded, 1015, true),
            (.declaredDead, 1016, false), (.recorded, 1020, false), (.recorded, 1021, true),
        ]
        for row in table {
            _ = m.heartbeat(row.beat, now: row.now)
            #expect(m.mayTakeOver(now: row.now) == row.mayTakeOver, "after \(row.beat) at \(row.now)")
        }
    }

    // MARK: Shutdown

    @Test func sigtermStopsFeedingWaitsForTheWireThenExits() {
        var m = Self.withABatchOfEachUnitOut()
        #expect(Self.withoutLogs(m.shutdownRequested(now: 1001)) == [.stopFeeding])
        #expect(m.isStopping)
        #expect(m.shutdownRequested(now: 1002).isEmpty)
        #expect(m.nextClaim(among: Self.candidates, now: 1002) == nil)
        // The last batch of a unit finishes it (no claim will ask any more).
        #expect(m.batchEnded(Self.a, now: 1003) == [.finishIfDone(Self.a)])
        #expect(m.batchEnded(Self.b, now: 1004) == [.finishIfDone(Self.b), .exit])
    }

    @Test func theGraceRunningOutClosesTheConnections() {
        var m = Self.machine { $0.shutdownGrace = 10 }
        _ = m.nextClaim(among: Self.candidates, now: 1000)
        _ = m.claimed(Self.a, count: 100, now: 1000)
        _ = m.shutdownRequested(now: 1000)
        _ = m.heartbeat(.recorded, now: 1009)
        #expect(m.beginRound(now: 1009).isEmpty)
        #expect(Self.withoutLogs(m.beginRound(now: 1010)) == [.abandonInFlight])
        #expect(m.batchEnded(Self.a, now: 1011) == [.finishIfDone(Self.a), .exit])
    }

    @Test func sigtermWithNothingInFlightExitsAtOnce() {
        var m = Self.machine()
        #expect(Self.withoutLogs(m.shutdownRequested(now: 1000)) == [.stopFeeding, .exit])
    }
}
