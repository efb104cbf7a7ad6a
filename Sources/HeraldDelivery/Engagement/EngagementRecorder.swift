import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle
import Synchronization

/// Records tracking hits without making the request wait for the database: an endpoint
/// notes a hit in memory and answers at once; a loop writes what has gathered in one
/// transaction (``EngagementStore/record(_:quietSeconds:)``) and hands the events to the
/// trigger actions.
///
/// A burst of hits makes bigger batches, not slower answers. Hits are kept until they are
/// written: a failed write is tried again, and a graceful shutdown writes what is left. What a
/// crash loses is what was noted and not yet written (under a tenth of a second's worth at
/// rest); a person who opens again is counted then.
public final class EngagementRecorder: Service, Sendable {
    /// Above this many unwritten hits (the database is down, say), new hits are dropped and
    /// counted, so that a flood cannot exhaust memory.
    static let capacity = 1_000_000
    static let batchSize = 2_000

    let store: Store
    let reactor: any EngagementReactor
    let quietSeconds: Int64
    let logger: Logger
    private let pending = Mutex<(hits: [TrackingHit], dropped: Int, stopping: Bool)>(([], 0, false))
    private let doorbell = Doorbell()

    /// - Parameter quietSeconds: hits this soon after delivery count as machines' (see ``MachineRules``).
    public init(store: Store, reactor: any EngagementReactor, quietSeconds: Int64 = MachineRules.defaultQuietSeconds,
                logger: Logger) {
        self.store = store
        self.reactor = reactor
        self.quietSeconds = quietSeconds
        self.logger = logger
    }

    /// Notes a hit to be recorded; returns at once.
    public func note(_ hit: TrackingHit) {
        let first = pending.withLock { state -> Bool in
            guard state.hits.count < Self.capacity else { state.dropped += 1; return false }
            state.hits.append(hit)
            return state.hits.count == 1
        }
        if first { Task { await doorbell.ring() } }
    }

    /// Writes every hit noted so far (tests, and the end of a shutdown).
    public func flush() async {
        while await writeBatch() {}
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !self.pending.withLock({ $0.stopping }) && !Task.isCancelled {
                await self.doorbell.wait(upTo: .seconds(1))
                // A short pause lets a burst gather into one transaction.
                try? await Task.sleep(for: .milliseconds(20))
                await self.flush()
            }
        } onGracefulShutdown: {
            self.pending.withLock { $0.stopping = true }
            Task { await self.doorbell.ring() }
        }
        await flush()
    }

    /// Writes up to one batch; false when there was nothing to write or the write failed.
    private func writeBatch() async -> Bool {
        let (batch, dropped) = pending.withLock { state -> ([TrackingHit], Int) in
            let n = min(state.hits.count, Self.batchSize)
            let batch = Array(state.hits.prefix(n))
            state.hits.removeFirst(n)
            defer { state.dropped = 0 }
            return (batch, state.dropped)
        }
        if dropped > 0 {
            logger.error("tracking hits dropped: too many waiting to be written", metadata: ["dropped": "\(dropped)"])
        }
        guard !batch.isEmpty else { return false }
        let events: [EngagementEvent]
        do {
            events = try await store.engagement.record(batch, quietSeconds: quietSeconds)
        } catch {
            logger.error("could not record tracking hits; trying again", metadata: ["hits": "\(batch.count)", "error": "\(error)"])
            pending.withLock { $0.hits.insert(contentsOf: batch, at: 0) }
            try? await Task.sleep(for: .seconds(1))
            return false
        }
        do {
            try await reactor.react(to: events)
        } catch {
            logger.error("trigger actions failed for recorded events", metadata: ["events": "\(events.count)", "error": "\(error)"])
        }
        return true
    }
}
