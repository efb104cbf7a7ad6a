import HeraldCore
import SQLKit

extension HeraldError {
    /// The refusal of a change to a shared item (a view, list or template) by someone who is
    /// neither its maker nor an admin: said the same wherever it is checked.
    public static func mayNotChange(_ what: String) -> HeraldError {
        .forbidden("only the user who made this \(what) or an admin may change it")
    }
}

/// Views, static lists and templates are shared: everyone may use them to send, only their
/// creator or an admin changes or deletes them, and none changes while a mass email still
/// depends on it. A view or list is read when a mass email chooses its recipients, so it is
/// frozen until then; a template is read for every message, so it is frozen while a mass
/// email using it is scheduled, sending or paused (copy it to make another).
enum SharedItems {
    /// Refuses (403) a change by someone who is neither the item's creator nor an admin
    /// (`scope` is the editor's: `.all` for an admin). An item with no creator (made by
    /// Herald, the demo) is for admins to change.
    static func checkMayChange(_ table: String, id: Int64, what: String, scope: AccessScope, db: any SQLDatabase) async throws {
        guard case .ownedBy(let user) = scope,
              let row = try await db.raw("SELECT created_by FROM \(ident: table) WHERE id = \(bind: id)").first() else { return }
        if try row.decode(column: "created_by", as: Int64?.self) != user {
            throw HeraldError.mayNotChange(what)
        }
    }

    /// Refuses (409) to change a template that a scheduled, sending or paused mass email (or
    /// one of its follow-ups) uses: its messages would change half-way, and their tracked
    /// links with them.
    static func refuseIfSending(template id: Int64, db: any SQLDatabase) async throws {
        guard let user = try await massEmail(usingTemplate: id, statuses: ["scheduled", "sending", "paused"], db: db) else { return }
        throw HeraldError.conflict("the \(user.status) mass email '\(user.name)' uses this template; it cannot change until that mass email is done (copy it to make another)",
                                   problems: [Problem(field: "id", reason: "in use by a mass email that is not done")])
    }

    /// A mass email (of `statuses`, or any) that uses template `id`, itself or in one of its
    /// follow-ups; one that uses it itself is named first, and of those one not done yet (the
    /// one a person has to wait for or change), then the latest.
    static func massEmail(usingTemplate id: Int64, statuses: [String]? = nil, db: any SQLDatabase) async throws
        -> (name: String, status: String, inFollowUp: Bool)? {
        let only: SQLQueryString = statuses.map { "AND status IN (\(binds: $0))" } ?? ""
        let order: SQLQueryString = "ORDER BY CASE WHEN status IN \(MassEmailStore.notDone) THEN 0 ELSE 1 END, id DESC"
        if let row = try await db.raw("SELECT name, status FROM mass_emails WHERE template_id = \(bind: id) \(only) \(order) LIMIT 1").first() {
            return (try row.decode(column: "name", as: String.self), try row.decode(column: "status", as: String.self), false)
        }
        for row in try await db.raw("SELECT name, status, follow_ups FROM mass_emails WHERE follow_ups <> '[]' \(only) \(order)").all() {
            let followUps: [FollowUp] = try MassEmailStore.decodeList(row, column: "follow_ups")
            if followUps.contains(where: { $0.templateID == id }) {
                return (try row.decode(column: "name", as: String.self), try row.decode(column: "status", as: String.self), true)
            }
        }
        return nil
    }
}
