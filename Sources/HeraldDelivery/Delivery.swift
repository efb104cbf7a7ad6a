import Foundation
import HeraldStore
import Logging
import ServiceLifecycle

/// Herald's delivery side, put together: where mail goes (``TransportSource``), the
/// ``MassEmailScheduler``, the ``DeliveryEngine`` and the ``reactor`` that runs trigger
/// actions when engagement events are recorded. The web layer uses it to send a test,
/// wake the scheduler when a mass email is scheduled, and stop one; `herald serve` runs its
/// ``services``.
public struct Delivery: Sendable {
    public let transports: TransportSource
    public let engine: DeliveryEngine
    public let scheduler: MassEmailScheduler
    /// What recorded engagement events are handed to: the mass emails' trigger actions.
    public let reactor: any EngagementReactor

    public init(store: Store, transports: TransportSource, maker: any MessageMaker, state: StateDirectory,
                configuration: EngineConfiguration? = nil, logger: Logger,
                now: @escaping @Sendable () -> Int64 = { Clock.epochSeconds() }) throws {
        self.transports = transports
        let engine = DeliveryEngine(store: store, transports: transports, maker: maker,
                                    journal: try DeliveryJournal(directory: state.journal),
                                    configuration: configuration ?? EngineConfiguration(node: state.node), logger: logger, now: now)
        self.engine = engine
        self.scheduler = MassEmailScheduler(store: store, node: state.node, logger: logger, now: now,
                                            onReady: { await engine.wake() })
        self.reactor = TriggerActionRunner(store: store, logger: logger)
    }

    /// What `herald serve` adds to its service group.
    public var services: [any Service] { [transports, scheduler, engine] }
}
