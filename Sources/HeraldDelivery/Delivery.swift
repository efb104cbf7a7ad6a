import Foundation
import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle

/// Herald's delivery side, put together: where mail goes (``TransportSource``), the
/// ``MassEmailScheduler``, the ``DeliveryEngine``, and what comes back (the
/// ``EngagementRecorder`` and the ``EngagementLinks`` it checks). The web layer uses it to send
/// a test, wake the scheduler when a mass email is scheduled, stop one, and record opens,
/// clicks and unsubscribes; `herald serve` runs its ``services``.
public struct Delivery: Sendable {
    public let transports: TransportSource
    public let engine: DeliveryEngine
    public let scheduler: MassEmailScheduler
    public let links: EngagementLinks
    public let engagement: EngagementRecorder

    public init(store: Store, transports: TransportSource, maker: any MessageMaker, state: StateDirectory,
                links: EngagementLinks, reactor: any EngagementReactor = NoReaction(),
                quietSeconds: Int64 = MachineRules.defaultQuietSeconds,
                configuration: EngineConfiguration? = nil, logger: Logger,
                now: @escaping @Sendable () -> Int64 = { Clock.epochSeconds() }) throws {
        self.transports = transports
        self.links = links
        self.engagement = EngagementRecorder(store: store, reactor: reactor, quietSeconds: quietSeconds, logger: logger)
        let engine = DeliveryEngine(store: store, transports: transports, maker: maker,
                                    journal: try DeliveryJournal(directory: state.journal),
                                    configuration: configuration ?? EngineConfiguration(node: state.node), logger: logger, now: now)
        self.engine = engine
        self.scheduler = MassEmailScheduler(store: store, node: state.node, logger: logger, now: now,
                                            onReady: { await engine.wake() })
    }

    /// What `herald serve` adds to its service group.
    public var services: [any Service] { [transports, scheduler, engine, engagement] }
}
