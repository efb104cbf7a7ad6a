import Foundation
import HeraldCore
import HeraldStore
import Logging
import Mail
import ServiceLifecycle

/// Herald's delivery side, put together: where mail goes (``TransportSource``), the
/// ``MassEmailScheduler``, the ``DeliveryEngine``, and what comes back: the
/// ``EngagementRecorder`` (with the ``EngagementLinks`` it checks) and the ``reactor`` that
/// runs trigger actions when engagement events are recorded. The web layer uses it to send a
/// test, wake the scheduler when a mass email is scheduled, stop one, and record opens, clicks
/// and unsubscribes; `herald serve` runs its ``services``.
public struct Delivery: Sendable {
    public let transports: TransportSource
    public let engine: DeliveryEngine
    public let scheduler: MassEmailScheduler
    public let links: EngagementLinks
    public let engagement: EngagementRecorder
    /// What recorded engagement events are handed to: the mass emails' trigger actions.
    public let reactor: any EngagementReactor
    /// Where VERP return paths point (``ReturnPathSource``).
    public let returnPaths: ReturnPathSource
    /// Records bounces and complaints from the inbound listener and the webhooks.
    public let bounces: BounceRecorder
    /// Sending domains and their DKIM keys: what signs each message.
    public let domains: SendingDomains
    /// The spam check before sending, through SpamAssassin's spamd.
    public let spam: SpamCheck
    /// What people do to mass emails (create, edit, stop, pause, resume, pick a winner),
    /// with who may and what is woken after: the pages and the API go through it.
    public let massEmails: MassEmailActions
    /// An admin's changes to the suppression list.
    public let suppressions: SuppressionActions
    /// The sender addresses: everyone's to list, an admin's to change.
    public let senders: SenderActions
    /// Saving and deleting mail templates.
    public let templates: TemplateActions
    /// Records' changes: who may, and who owns them.
    public let records: RecordActions
    /// CSV imports, always as the importing user.
    public let imports: ImportActions
    /// Tasks and calls on records: who may see, add and change them.
    public let activities: ActivityActions

    public init(store: Store, transports: TransportSource, maker: any MessageMaker, state: StateDirectory,
                links: EngagementLinks, quietSeconds: Int64 = MachineRules.defaultQuietSeconds,
                configuration: EngineConfiguration? = nil, returnPaths: ReturnPathSource? = nil, domains: SendingDomains? = nil,
                spamd: SpamAssassinClient = .local, logger: Logger, now: @escaping @Sendable () -> Int64 = { WallClock.epochSeconds() }) throws {
        self.transports = transports
        self.links = links
        let reactor = TriggerActionRunner(store: store, logger: logger)
        self.reactor = reactor
        self.engagement = EngagementRecorder(store: store, reactor: reactor, quietSeconds: quietSeconds, logger: logger)
        self.returnPaths = returnPaths ?? ReturnPathSource(override: nil, settings: store.settings, signer: links.signer)
        self.domains = domains ?? SendingDomains(store: store, transports: transports, returnPaths: self.returnPaths,
                                                 publicURL: links.publicURL, logger: logger, now: now)
        self.spam = SpamCheck(client: spamd, store: store,
                              maker: TemplateMessageMaker(store: store, links: links, returnPaths: self.returnPaths, domains: self.domains))
        self.bounces = BounceRecorder(store: store, reactor: reactor, signer: links.signer, logger: logger)
        let engine = DeliveryEngine(store: store, transports: transports, maker: maker,
                                    journal: try DeliveryJournal(directory: state.journal),
                                    configuration: configuration ?? EngineConfiguration(node: state.node), reactor: reactor,
                                    logger: logger, now: now)
        self.engine = engine
        self.scheduler = MassEmailScheduler(store: store, node: state.node, logger: logger, now: now,
                                            onReady: { await engine.wake() })
        self.massEmails = MassEmailActions(store: store, engine: engine, scheduler: scheduler, now: now)
        self.suppressions = SuppressionActions(store: store)
        self.senders = SenderActions(store: store, domains: self.domains)
        self.templates = TemplateActions(store: store)
        self.records = RecordActions(store: store)
        self.imports = ImportActions(store: store)
        self.activities = ActivityActions(store: store)
    }

    /// What `herald serve` adds to its service group.
    public var services: [any Service] { [transports, scheduler, engine, engagement] }
}
