import Foundation

/// A person who logs in to Herald.
public struct User: Sendable, Hashable, Codable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        /// Sees and changes everything, manages modules, users and settings.
        case admin
        /// Sees and changes the records they own.
        case user
    }

    public var id: Int64
    public var email: String
    public var name: String
    public var role: Role
    public var timeZone: String
    public var isActive: Bool
    /// Sessions made under another epoch are over (see ``AccountPolicy``).
    public var sessionEpoch: Int64

    public init(id: Int64, email: String, name: String, role: Role, timeZone: String, isActive: Bool, sessionEpoch: Int64 = 0) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.timeZone = timeZone
        self.isActive = isActive
        self.sessionEpoch = sessionEpoch
    }

    /// The records this user may see and change.
    public var scope: AccessScope { role == .admin ? .all : .ownedBy(id) }
    public var isAdmin: Bool { role == .admin }
}
