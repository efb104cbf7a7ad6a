import HeraldCore

extension HeraldError {
    /// What a page lists for this error: its problems, each by its field; or its message, where
    /// it has none or where its only problem is the item's `id` (a 409 such as "in use by a mass
    /// email", which the API reports by field and the message explains: "the scheduled mass email
    /// 'Winter offer' sends to this view; …").
    var pageProblems: [Problem] {
        if problems.isEmpty || problems.allSatisfy({ $0.field == "id" }) { return [Problem(field: "", reason: message)] }
        return problems
    }
}
