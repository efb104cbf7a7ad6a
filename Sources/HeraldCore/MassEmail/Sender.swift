/// One of the organisation's sender addresses: a mass email is sent from one of them.
public struct Sender: Sendable, Hashable {
    public var id: Int64
    /// The From address, also the envelope's return path.
    public var email: String
    /// The display name shown beside the address.
    public var name: String
    /// Where replies go, when not to `email`.
    public var replyTo: String?
    public var createdAt: Int64
    /// At most this many messages a minute from this sender, when set.
    public var ratePerMinute: Int?
    /// At most this many messages an hour from this sender, when set.
    public var ratePerHour: Int?

    public init(id: Int64, email: String, name: String, replyTo: String?, createdAt: Int64,
                ratePerMinute: Int? = nil, ratePerHour: Int? = nil) {
        self.id = id
        self.email = email
        self.name = name
        self.replyTo = replyTo
        self.createdAt = createdAt
        self.ratePerMinute = ratePerMinute
        self.ratePerHour = ratePerHour
    }
}
