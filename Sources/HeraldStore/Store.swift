import HeraldCore
import Logging

/// Herald's persistence, one repository per kind of thing:
/// `store.records.list(in: contacts, query, scope: user.scope)`.
public struct Store: Sendable {
    public let database: any HeraldDatabase
    public let modules: ModuleStore
    public let records: RecordStore
    public let views: ViewStore
    public let lists: ListStore
    public let templates: TemplateStore
    public let senders: SenderStore
    public let users: UserStore
    public let tokens: TokenStore
    public let settings: SettingsStore
    public let keyValues: KeyValueStore
    public let importer: Importer
    public let massEmails: MassEmailStore
    public let followUpRuns: FollowUpRunStore
    public let messages: MessageStore
    public let nodes: NodeStore
    public let domains: DomainStore
    public let quota: QuotaStore
    public let suppressions: SuppressionStore
    public let engagement: EngagementStore
    public let tasks: TaskStore
    public let calls: CallStore
    public let triggerRuns: TriggerRunStore
    public let bounces: BounceStore
    public let replies: ReplyStore
    public let testSends: TestSendStore
    public let erasure: ErasureStore

    public init(database: any HeraldDatabase) {
        self.database = database
        self.settings = SettingsStore(database: database)
        self.modules = ModuleStore(database: database)
        self.records = RecordStore(database: database, settings: settings)
        self.views = ViewStore(database: database)
        self.lists = ListStore(database: database)
        self.templates = TemplateStore(database: database, modules: modules)
        self.senders = SenderStore(database: database)
        self.users = UserStore(database: database)
        self.tokens = TokenStore(database: database)
        self.keyValues = KeyValueStore(database: database)
        self.importer = Importer(database: database, records: records)
        self.massEmails = MassEmailStore(database: database)
        self.followUpRuns = FollowUpRunStore(database: database)
        self.messages = MessageStore(database: database)
        self.nodes = NodeStore(database: database)
        self.domains = DomainStore(database: database)
        self.quota = QuotaStore(database: database)
        self.suppressions = SuppressionStore(database: database, settings: settings)
        self.engagement = EngagementStore(database: database)
        self.tasks = TaskStore(database: database)
        self.calls = CallStore(database: database)
        self.triggerRuns = TriggerRunStore(database: database)
        self.bounces = BounceStore(database: database)
        self.replies = ReplyStore(database: database)
        self.testSends = TestSendStore(database: database)
        self.erasure = ErasureStore(database: database, settings: settings)
    }

    /// Opens the database at `location` and brings its schema up to date.
    public static func open(_ location: DatabaseLocation, logger: Logger) async throws -> Store {
        let database = try await location.open(logger: logger)
        do {
            try await Migrator(database: database, logger: logger).migrate()
        } catch {
            await database.close()
            throw error
        }
        return Store(database: database)
    }

    public func close() async { await database.close() }
}
