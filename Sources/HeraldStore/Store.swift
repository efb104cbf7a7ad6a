import HeraldCore
import Logging

/// Herald's persistence, one repository per kind of thing:
/// `store.records.list(in: contacts, query, scope: user.scope)`.
public struct Store: Sendable {
    public let database: any HeraldDatabase
    public let keyring: SecretKeyring
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
    public let abTests: ABTestStore
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

    /// - Parameter keyring: seals the secrets stored; the default is a key made for this
    ///   process alone (tests), so a server passes the one from its key file.
    public init(database: any HeraldDatabase, keyring: SecretKeyring = .ephemeral) {
        self.database = database
        self.keyring = keyring
        self.settings = SettingsStore(database: database, keyring: keyring)
        self.modules = ModuleStore(database: database)
        self.records = RecordStore(database: database, settings: settings)
        self.views = ViewStore(database: database)
        self.abTests = ABTestStore(database: database)
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
        self.domains = DomainStore(database: database, keyring: keyring)
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

    /// Opens the database at `location`, brings its schema up to date and seals any secret
    /// stored before sealing began; fails, saying what to do, when a secret is sealed with a
    /// key that `keyring` does not hold.
    public static func open(_ location: DatabaseLocation, logger: Logger, keyring: SecretKeyring = .ephemeral) async throws -> Store {
        let database = try await location.open(logger: logger)
        let store = Store(database: database, keyring: keyring)
        do {
            try await Migrator(database: database, logger: logger).migrate()
            try await store.settings.checkKeyring()
            let sealed = try await store.sealSecrets()
            if sealed > 0 { logger.notice("sealed secrets stored in plain text before", metadata: ["count": "\(sealed)"]) }
        } catch {
            await database.close()
            throw error
        }
        return store
    }

    /// Seals every stored secret that is not sealed with the current key (with `reseal`) or not
    /// sealed at all, checking that each sealed one opens; returns how many it sealed.
    @discardableResult
    public func sealSecrets(reseal: Bool = false) async throws -> Int {
        let keyring = self.keyring
        return try await database.transaction { db in
            var count = 0
            func fix(_ stored: String) throws -> String? {
                guard let id = SecretKeyring.keyID(of: stored) else { return stored.isEmpty ? nil : keyring.seal(stored) }
                let text = try keyring.open(stored)
                return reseal && id != keyring.currentID ? keyring.seal(text) : nil
            }
            for row in try await db.raw("SELECT key, value FROM settings").all() {
                let key = try row.decode(column: "key", as: String.self)
                guard SettingsStore.isSecret(key), let sealed = try fix(try row.decode(column: "value", as: String.self)) else { continue }
                try await db.raw("UPDATE settings SET value = \(bind: sealed) WHERE key = \(bind: key)").run()
                count += 1
            }
            for row in try await db.raw("SELECT id, private_key FROM domain_keys").all() {
                guard let sealed = try fix(try row.decode(column: "private_key", as: String.self)) else { continue }
                try await db.raw("UPDATE domain_keys SET private_key = \(bind: sealed) WHERE id = \(bind: try row.decode(column: "id", as: Int64.self))").run()
                count += 1
            }
            return count
        }
    }

    /// The ids of the keys that stored secrets are sealed with.
    public func secretKeyIDs() async throws -> Set<String> {
        try await database.read { db in
            let settings = try await db.raw("SELECT key, value FROM settings").all().compactMap { row -> String? in
                SettingsStore.isSecret(try row.decode(column: "key", as: String.self)) ? try row.decode(column: "value", as: String.self) : nil
            }
            let keys = try await db.raw("SELECT private_key FROM domain_keys").all().map { try $0.decode(column: "private_key", as: String.self) }
            return Set((settings + keys).compactMap(SecretKeyring.keyID(of:)))
        }
    }

    public func close() async { await database.close() }
}
