import HeraldCore
import HeraldStore

/// The organisation's sender addresses, for the page and the API alike: everyone lists them
/// (to pick one for a mass email or a test), each with how its mail is signed; only admins
/// add, change and delete them. What a sender must be (a valid address, a one-line name,
/// rates of at least 1) the store checks, all problems at once.
public struct SenderActions: Sendable {
    let store: Store
    let domains: SendingDomains

    public init(store: Store, domains: SendingDomains) {
        self.store = store
        self.domains = domains
    }

    /// A sender as it is entered, on the form or in the API.
    public struct Input: Sendable, Hashable {
        public var email: String
        public var name: String
        public var replyTo: String?
        public var ratePerMinute: Int?
        public var ratePerHour: Int?

        public init(email: String, name: String, replyTo: String?, ratePerMinute: Int?, ratePerHour: Int?) {
            self.email = email
            self.name = name
            self.replyTo = replyTo
            self.ratePerMinute = ratePerMinute
            self.ratePerHour = ratePerHour
        }
    }

    /// A sender with how its mail is signed now (nil: no sending domain covers it).
    public struct Listed: Sendable {
        public var sender: Sender
        public var authentication: SenderAuthentication?
    }

    public func list() async throws -> [Listed] {
        let senders = try await store.senders.all()
        let authentication = try await domains.authentication(of: senders.map(\.email))
        return senders.map { Listed(sender: $0, authentication: authentication[$0.email]) }
    }

    public func find(_ id: Int64) async throws -> Listed {
        try await listed(try await store.senders.find(id))
    }

    public func create(_ input: Input, by user: User) async throws -> Listed {
        try user.requireAdmin(toChange: "the sender addresses")
        return try await listed(try await store.senders.create(email: input.email, name: input.name, replyTo: input.replyTo,
                                                               ratePerMinute: input.ratePerMinute, ratePerHour: input.ratePerHour))
    }

    /// 404 when there is no sender `id` (the store's update says so).
    public func update(_ id: Int64, _ input: Input, by user: User) async throws -> Listed {
        try user.requireAdmin(toChange: "the sender addresses")
        return try await listed(try await store.senders.update(id, email: input.email, name: input.name, replyTo: input.replyTo,
                                                               ratePerMinute: input.ratePerMinute, ratePerHour: input.ratePerHour))
    }

    /// Deletes a sender that no mass email uses (409 otherwise: those keep their sender).
    public func delete(_ id: Int64, by user: User) async throws {
        try user.requireAdmin(toChange: "the sender addresses")
        try await store.senders.delete(id)
    }

    private func listed(_ sender: Sender) async throws -> Listed {
        Listed(sender: sender, authentication: try await domains.authentication(of: [sender.email])[sender.email])
    }
}
