import Foundation
import HeraldStore
import Logging
import ServiceLifecycle

/// Herald's delivery side, put together: where mail goes (``TransportSource``), the
/// ``MassEmailScheduler`` and the ``DeliveryEngine``. The web layer uses it to send a test,
/// wake the scheduler when a mass email is scheduled, and stop one; `herald serve` runs its
/// ``services``.
public struct Delivery: Sendable {
    public let transports: TransportSource
    public let engine: DeliveryEngine
    public let scheduler: MassEmailScheduler
    /// Where VERP return paths point (``ReturnPathSource``).
    public let returnPaths: ReturnPathSource
    /// Records bounces and complaints from the inbound listener and the webhooks.
    public let bounces: BounceRecorder

    public init(store: Store, transports: TransportSource, maker: any MessageMaker, state: StateDirectory,
                configuration: EngineConfiguration? = nil, returnPaths: ReturnPathSource? = nil,
                reactor: any EngagementReactor = NoReaction(), logger: Logger,
                now: @escaping @Sendable () -> Int64 = { Clock.epochSeconds() }) throws {
        self.transports = transports
        self.returnPaths = returnPaths ?? ReturnPathSource(override: nil, settings: store.settings)
        self.bounces = BounceRecorder(store: store, reactor: reactor, logger: logger)
        let engine = DeliveryEngine(store: store, transports: transports, maker: maker,
                                    journal: try DeliveryJournal(directory: state.journal),
                                    configuration: configuration ?? EngineConfiguration(node: state.node), logger: logger, now: now)
        self.engine = engine
        self.scheduler = MassEmailScheduler(store: store, node: state.node, logger: logger, now: now,
                                            onReady: { await engine.wake() })
    }

    /// What `herald serve` adds to its service group.
    public var services: [any Service] { [transports, scheduler, engine] }
}
