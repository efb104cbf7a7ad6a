import Foundation

/// Which records a caller may see and change.
public enum AccessScope: Sendable, Hashable {
    /// Every record (admins).
    case all
    /// Only the records the user owns.
    case ownedBy(Int64)
}
