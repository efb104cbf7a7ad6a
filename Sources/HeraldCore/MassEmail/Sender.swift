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

    public init(id: Int64, email: String, name: String, replyTo: String?, createdAt: Int64) {
        self.id = id
        self.email = email
        self.name = name
        self.replyTo = replyTo
        self.createdAt = createdAt
    }
}
