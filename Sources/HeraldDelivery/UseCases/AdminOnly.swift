import HeraldCore
import HeraldStore

extension User {
    /// Refuses (403) anyone but an admin; `change` says what only an admin changes, for the
    /// message ("the suppression list"). The use cases call it before anything else, so a
    /// page and its API twin refuse alike.
    func requireAdmin(toChange change: String) throws {
        guard role == .admin else { throw HeraldError.forbidden("only an admin changes \(change)") }
    }
}
