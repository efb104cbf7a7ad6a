import HeraldCore

extension HeraldError {
    /// What a page lists for this error: its problems, each by its field; or its message, where
    /// it has none or where its problems are only about the item itself, its `id` or `status`
    /// (a 409 such as "id: in use by a mass email" or "status: sent", which the API reports by
    /// field and the message explains: "the scheduled mass email 'Winter offer' sends to this
    /// view; …", "mass email 3 is sent and cannot be edited").
    var pageProblems: [Problem] {
        if problems.allSatisfy({ $0.field == "id" || $0.field == "status" }) { return [Problem(field: "", reason: message)] }
        return problems
    }
}
