import Foundation
import HeraldCore
import HeraldStore
import Logging
import Synchronization

/// Takes each message's outcome the moment the SMTP server answers, notes it in the
/// ``DeliveryJournal`` at once, and writes it to the database a few milliseconds later in a
/// small group: outcomes reach the database shared by the processes continuously, not at
/// the end of a batch.
///
/// Why small groups of direct updates and not an append-only outcome table merged later:
/// the message's row exists already, and a row update is what the merge would have done
/// anyway; an outcome table would add an insert and a delete per message to the same
/// write. A group is written every ``EngineConfiguration/flushInterval`` (or sooner when
/// ``EngineConfiguration/flushSize`` are waiting), one write at a time.
///
/// So if this process dies and never comes back, the outcomes the database lacks are those
/// of its last interval and of the write in progress: the others, taking its messages over,
/// send those again. With the one message per connection whose reply never came, that is
/// the bound on duplicates the engine states.
final class OutcomeWriter: Sendable {
    /// One answered (or given back) message, with what its after-effects need.
    struct Entry: Sendable {
        var outcome: Outcome
        var message: ClaimedMessage
        var unit: MassEmailStep
        var sender: Int64
        /// The quota day its claim reserved, to give back what was not sent.
        var quotaDay: String?
        /// The journal segment it was noted in; nil when noting failed.
        var segment: Int?
    }

    /// What one write did, for the engine's state machine.
    struct Written: Sendable {
        var entries: [Entry]
        /// A group set aside and written late: what it says of the relay and of refusals is old.
        var late = false
    }

    private struct State {
        var waiting: [Entry] = []
        /// Groups whose write failed every try, and when to try them again.
        var setAside: [[Entry]] = []
        var setAsideDue: ContinuousClock.Instant?
        var journalError: String?
        var stopped = false
        /// Outcomes written since start, by status, for the log at shutdown.
        var totals: [MessageStatus: Int] = [:]
    }

    let store: Store
    let journal: DeliveryJournal
    let node: String
    let interval: Duration
    let size: Int
    let tries: Int
    let retryInterval: Duration
    let logger: Logger
    private let state = Mutex(State())
    private let doorbell = Doorbell()
    /// Called (from any thread) the moment the journal fails: the engine stops the feeds
    /// before another message goes out unnoted.
    let onJournalFailure: @Sendable (String) -> Void

    init(store: Store, journal: DeliveryJournal, node: String, interval: Duration, size: Int, tries: Int, retryInterval: Duration,
         logger: Logger, onJournalFailure: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.journal = journal
        self.node = node
        self.interval = interval
        self.size = size
        self.tries = tries
        self.retryInterval = retryInterval
        self.logger = logger
        self.onJournalFailure = onJournalFailure
    }

    /// Notes an outcome in the journal and queues it for the database. Called on a
    /// connection's event loop: it does one `write(2)` and takes a lock, nothing more.
    func add(_ outcome: Outcome, for message: ClaimedMessage, unit: MassEmailStep, sender: Int64, quotaDay: String?) {
        var segment: Int?
        var failure: String?
        do {
            segment = try journal.append(outcome.outcome)
        } catch {
            failure = error.description
        }
        let entry = Entry(outcome: outcome, message: message, unit: unit, sender: sender, quotaDay: quotaDay, segment: segment)
        let full = state.withLock { state in
            state.waiting.append(entry)
            if let failure, state.journalError == nil { state.journalError = failure }
            return state.waiting.count == size
        }
        if let failure { onJournalFailure(failure) }
        if full || failure != nil { Task { await doorbell.ring() } }
    }

    /// Outcomes not yet written.
    var backlog: Int { state.withLock { $0.waiting.count } }

    /// Writes groups until ``stop()``, then what is left (a group set aside gets one more
    /// try). `written` hears of each group.
    func run(written: @escaping @Sendable (Written) async -> Void) async {
        while true {
            await nextGroupDue()
            let (entries, again, stopped) = state.withLock { state in
                defer { state.waiting.removeAll(keepingCapacity: true) }
                var again: [[Entry]] = []
                if let due = state.setAsideDue, state.stopped || ContinuousClock.now >= due {
                    again = state.setAside
                    state.setAside = []
                    state.setAsideDue = nil
                }
                return (state.waiting, again, state.stopped)
            }
            // Each set-aside group alone and once (the interval is their backoff): one the
            // database refuses for good must not take the outcomes of now down with it, nor
            // hold them (or a shutdown) up for a round of tries.
            for group in again { await write(group, tries: 1, late: true, then: written) }
            if !entries.isEmpty { await write(entries, tries: tries, late: false, then: written) }
            if stopped, backlog == 0 { return }
        }
    }

    /// Ends ``run(written:)`` once what is waiting is written.
    func stop() async {
        state.withLock { $0.stopped = true }
        await doorbell.ring()
    }

    /// Takes the journal's failure noted since the last call, if any.
    func takeJournalError() -> String? {
        state.withLock { state in
            defer { state.journalError = nil }
            return state.journalError
        }
    }

    var totals: [MessageStatus: Int] { state.withLock { $0.totals } }

    /// Sleeps one interval, or less when enough are waiting or the writer is stopping.
    private func nextGroupDue() async {
        let due = state.withLock { $0.waiting.count >= size || $0.stopped }
        if !due { await doorbell.wait(upTo: interval) }
    }

    private func write(_ entries: [Entry], tries: Int, late: Bool, then written: @Sendable (Written) async -> Void) async {
        do {
            try await persistently("writing outcomes", tries: tries) {
                try await store.messages.record(entries.map(\.outcome.outcome), node: node)
            }
        } catch {
            // They stay `sending`, this node's: never given back, so never sent twice while
            // this process lives. The journal keeps them (its segments are deleted only once
            // written), so a restart writes them too.
            let retry = retryInterval
            state.withLock { state in
                state.setAside.append(entries)
                state.setAsideDue = state.setAsideDue ?? .now + retry
            }
            logger.error("outcomes could not be written; kept, and tried again in \(retry) (the journal keeps them too)",
                         metadata: ["outcomes": "\(entries.count)", "error": "\(error)"])
            return
        }
        journal.committed(entries.compactMap(\.segment))
        state.withLock { state in
            for entry in entries { state.totals[entry.outcome.outcome.status, default: 0] += 1 }
        }
        await written(Written(entries: entries, late: late))
    }

    /// Runs a write again after a failure that may pass (a deadlock PostgreSQL broke, a
    /// dropped connection): the write is idempotent, guarded by node and claim. Given up
    /// after `tries` (10: about 16 s).
    func persistently(_ what: String, tries: Int, _ write: () async throws -> Void) async throws {
        var delay = Duration.milliseconds(50)
        for attempt in 1... {
            do {
                return try await write()
            } catch {
                guard attempt < tries else { throw error }
                logger.warning("a database write failed; trying again", metadata: ["write": "\(what)", "attempt": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
