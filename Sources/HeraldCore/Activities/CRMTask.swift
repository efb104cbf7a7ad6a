/// A task: something a user is to do about a record, by a due date. Tasks are records of
/// their own, attached to one record of a module, and come from users or from a mass email's
/// trigger actions.
public struct CRMTask: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable, Codable {
        case notStarted = "not_started", inProgress = "in_progress", waiting, deferred, completed

        public var label: String {
            switch self {
            case .notStarted: "Not started"
            case .inProgress: "In progress"
            case .waiting: "Waiting for someone"
            case .deferred: "Deferred"
            case .completed: "Completed"
            }
        }
        /// Whether it still asks for work (shown first, counted as open).
        public var isOpen: Bool { self != .completed && self != .deferred }
    }

    public enum Priority: String, Sendable, Hashable, CaseIterable, Codable {
        case highest, high, normal, low, lowest

        public var label: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
    }

    public var id: Int64
    /// The API name of the module of the record it is about.
    public var module: String
    public var recordID: Int64
    public var subject: String
    public var dueDate: LocalDate?
    public var status: Status
    public var priority: Priority
    /// The user who is to do it.
    public var assigneeID: Int64
    /// The mass email whose trigger action made it, if one did.
    public var massEmailID: Int64?
    public var createdAt: Int64
    public var modifiedAt: Int64

    public init(id: Int64, module: String, recordID: Int64, subject: String, dueDate: LocalDate?, status: Status,
                priority: Priority, assigneeID: Int64, massEmailID: Int64? = nil, createdAt: Int64, modifiedAt: Int64) {
        self.id = id
        self.module = module
        self.recordID = recordID
        self.subject = subject
        self.dueDate = dueDate
        self.status = status
        self.priority = priority
        self.assigneeID = assigneeID
        self.massEmailID = massEmailID
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }

    /// The longest subject, as for a text field.
    public static let maxSubjectLength = 255

    /// The problem with a subject (required, one line, at most 255 characters), if any.
    public static func subjectProblem(_ subject: String) -> String? {
        let trimmed = subject.trimmedWhitespace
        if trimmed.isEmpty { return "is required" }
        if trimmed.count > maxSubjectLength { return "must be at most \(maxSubjectLength) characters" }
        if trimmed.contains(where: \.isNewline) { return "must be a single line" }
        return nil
    }
}
