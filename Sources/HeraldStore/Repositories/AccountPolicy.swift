import Foundation
import HeraldCore

/// A change to another person's account that an admin (or the operator, on the command line)
/// asks for. Nil fields stay as they are.
public struct UserChange: Sendable, Hashable {
    public var name: String?
    public var role: User.Role?
    public var timeZone: String?
    public var isActive: Bool?

    public init(name: String? = nil, role: User.Role? = nil, timeZone: String? = nil, isActive: Bool? = nil) {
        self.name = name
        self.role = role
        self.timeZone = timeZone
        self.isActive = isActive
    }

    public var isEmpty: Bool { name == nil && role == nil && timeZone == nil && isActive == nil }
}

/// Who may change whose account, and what a change takes away. Pure: the store gives it the
/// facts (read in the same transaction that applies the change), it answers.
///
/// The rules, in order:
/// - only an admin changes other people's accounts; the operator at the command line (no
///   actor) counts as an admin;
/// - nobody deactivates themselves (another admin must, so that a slip cannot lock one out);
/// - the organisation always keeps at least one active admin: the last one can be neither
///   demoted nor deactivated;
/// - records are handed over only to another, active user.
///
/// What follows from a change: deactivation and any new password end every session and
/// revoke every API token of that user, so that reactivating an account later does not revive
/// what was out in the world before.
public enum AccountPolicy {
    /// What the store must do besides writing the change.
    public struct Consequences: Sendable, Hashable {
        /// End the user's sessions (by moving their session epoch on).
        public var endSessions = false
        /// Revoke all the user's API tokens.
        public var revokeTokens = false
    }

    /// Checks `change` to `target` by `actor` (nil: the operator), given how many active admins
    /// there are now; throws 403 or 422 with the reason, or says what else must happen.
    public static func check(_ change: UserChange, to target: User, by actor: User?, activeAdmins: Int) throws -> Consequences {
        if let actor, !actor.isAdmin, actor.id != target.id || change.role != nil || change.isActive != nil {
            throw HeraldError.forbidden("only admins may change users")
        }
        var problems = ProblemList()
        let deactivates = change.isActive == false && target.isActive
        let losesAdmin = target.isAdmin && target.isActive && (deactivates || (change.role.map { $0 != .admin } ?? false))
        if deactivates, actor?.id == target.id {
            problems.add("is_active", "you cannot deactivate yourself; ask another admin")
        } else if losesAdmin, activeAdmins <= 1 {
            problems.add(deactivates ? "is_active" : "role", "\(target.email) is the only active admin; make another admin first")
        }
        if let name = change.name, let reason = ModuleRules.labelProblem(name.trimmingCharacters(in: .whitespaces)) {
            problems.add("name", reason)
        }
        if let zone = change.timeZone, TimeZone(identifier: zone) == nil {
            problems.add("time_zone", "'\(zone)' is not a time zone name like Europe/Berlin")
        }
        try problems.check()
        return Consequences(endSessions: deactivates, revokeTokens: deactivates)
    }

    /// A new password, set by its owner or by an admin: every other session ends and every
    /// token is revoked (a password change is what one does after a leak).
    public static func checkPassword(for target: User, by actor: User?) throws -> Consequences {
        if let actor, !actor.isAdmin, actor.id != target.id {
            throw HeraldError.forbidden("only admins may set another user's password")
        }
        return Consequences(endSessions: true, revokeTokens: true)
    }

    /// Handing everything `from` owns over to `to`.
    public static func checkHandOver(from: User, to: User, by actor: User?) throws {
        if let actor, !actor.isAdmin { throw HeraldError.forbidden("only admins may hand records over") }
        if from.id == to.id { throw HeraldError.invalid(field: "to_user_id", "choose someone other than \(from.email)") }
        if !to.isActive { throw HeraldError.invalid(field: "to_user_id", "\(to.email) is deactivated; hand over to an active user") }
    }
}

extension User {
    /// Whether this user may change or delete a shared view, static list or template made by
    /// `creator`: its maker and admins may (the store enforces it; pages hide what it refuses).
    public func mayChange(madeBy creator: Int64?) -> Bool { isAdmin || creator == id }
}
