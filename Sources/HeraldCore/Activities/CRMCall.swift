/// A call: a conversation scheduled with the person of a record, owned by the user who makes
/// it. Like tasks, calls are records of their own attached to one record of a module.
public struct CRMCall: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable, Codable {
        case scheduled, completed, cancelled

        public var label: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
    }

    public var id: Int64
    /// The API name of the module of the record it is about.
    public var module: String
    public var recordID: Int64
    public var subject: String
    /// The user who makes the call.
    public var ownerID: Int64
    /// When it starts, in seconds since 1970.
    public var startAt: Int64
    public var status: Status
    /// The mass email whose trigger action scheduled it, if one did.
    public var massEmailID: Int64?
    public var createdAt: Int64
    public var modifiedAt: Int64

    public init(id: Int64, module: String, recordID: Int64, subject: String, ownerID: Int64, startAt: Int64, status: Status,
                massEmailID: Int64? = nil, createdAt: Int64, modifiedAt: Int64) {
        self.id = id
        self.module = module
        self.recordID = recordID
        self.subject = subject
        self.ownerID = ownerID
        self.startAt = startAt
        self.status = status
        self.massEmailID = massEmailID
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }
}
