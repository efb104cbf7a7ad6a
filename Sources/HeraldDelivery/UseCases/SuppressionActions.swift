import HeraldCore
import HeraldStore

/// An admin's changes to the suppression list, for the page and the API alike: who may
/// (admins), what an address must be, and that each entry says who added it.
public struct SuppressionActions: Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    /// What a pasted or uploaded list did.
    public struct ImportReport: Sendable, Hashable {
        public var added: Int
        public var alreadySuppressed: Int
        public var repeated: Int
        /// A line's problem: `field` is the line ("line 3").
        public var problems: [Problem]
    }

    /// Suppresses one address; returns it and its reason as stored (the address normalised).
    /// Both problems of a bad form (the address, an over-long reason) are reported at once.
    @discardableResult
    public func add(_ address: String, reason: String?, by user: User) async throws -> (address: String, reason: String) {
        try user.requireAdmin(toChange: "the suppression list")
        let address = address.trimmedWhitespace
        let reason = reason?.trimmedWhitespace ?? ""
        var problems = ProblemList()
        if !EmailAddress.isValid(address) {
            problems.add("address", address.isEmpty ? "enter an address" : "'\(address.prefix(320))' is not a valid email address")
        }
        if reason.count > 200 { problems.add("reason", "must be at most 200 characters") }
        try problems.check()
        let normalized = EmailAddress.normalized(address)
        let stored = reason.isEmpty ? "added by an admin" : reason
        try await store.suppressions.add(normalized, reason: stored, detail: "added by \(user.email)")
        return (normalized, stored)
    }

    /// Suppresses every valid address of `list` (read from a CSV with an email column, or one
    /// address a line) and reports the rest by line.
    public func importList(_ list: SuppressionImport, reason: String, by user: User) async throws -> ImportReport {
        try user.requireAdmin(toChange: "the suppression list")
        let reason = reason.trimmedWhitespace
        guard reason.count <= 200 else { throw HeraldError.invalid(field: "reason", "must be at most 200 characters") }
        let added = try await store.suppressions.add(list.addresses, reason: reason.isEmpty ? "imported" : reason,
                                                     detail: "imported by \(user.email)")
        return ImportReport(added: added, alreadySuppressed: list.addresses.count - added, repeated: list.repeated, problems: list.problems)
    }

    /// Lets Herald send to `address` again.
    public func remove(_ address: String, by user: User) async throws {
        try user.requireAdmin(toChange: "the suppression list")
        guard !address.trimmedWhitespace.isEmpty else { throw HeraldError.invalid(field: "address", "is required") }
        try await store.suppressions.remove(address)
    }
}
