import Foundation
import HeraldCore
import HeraldStore
import Hummingbird
import HummingbirdCore

/// A module's list as the list view and the API ask for it: which view or list, search,
/// sort and page, read from query parameters.
struct RecordListing: Sendable {
    var viewID: Int64?
    var listID: Int64?
    var search: String?
    var sort: String?
    var descending = false
    var page = 1
    var perPage = 50

    static let maxPerPage = 200

    init(query: FlatDictionary<Substring, Substring>, module: Module) throws {
        var problems = ProblemList()
        func int(_ key: String) -> Int64? {
            guard let raw = query[Substring(key)], !raw.isEmpty else { return nil }
            guard let v = Int64(raw), v > 0 else { problems.add(key, "must be a positive whole number"); return nil }
            return v
        }
        viewID = int("view")
        listID = int("list")
        if viewID != nil && listID != nil { problems.add("list", "choose a view or a list, not both") }
        if let q = query["q"], !q.isEmpty {
            if q.count > 200 { problems.add("q", "must be at most 200 characters") }
            search = String(q)
        }
        if let s = query["sort"], !s.isEmpty {
            // "id" is the order records have without a sort, named (the store sorts by id for it).
            if s != "id", module.field(String(s)) == nil { problems.add("sort", "no field '\(s)' in \(module.pluralLabel)") }
            sort = String(s)
        }
        switch query["order"] {
        case nil, "asc"?, ""?: descending = false
        case "desc"?: descending = true
        case let other?: problems.add("order", "'\(other)' is neither asc nor desc")
        }
        page = Int(int("page") ?? 1)
        perPage = Int(int("per_page") ?? 50)
        if perPage > RecordListing.maxPerPage { problems.add("per_page", "must be at most \(RecordListing.maxPerPage)") }
        if page > 1_000_000 { problems.add("page", "is too large") }
        try problems.check()
    }

    /// Runs the listing for `user`, resolving the chosen view when it is used.
    func run(module: Module, store: Store, user: User) async throws -> (page: RecordPage, view: View?, list: StaticList?) {
        var criteria = ResolvedCriteria.all([])
        var view: View? = nil
        var list: StaticList? = nil
        if let viewID {
            let v = try await store.views.find(viewID, in: module)
            criteria = try v.criteria.resolve(in: module).get()
            view = v
        }
        if let listID { list = try await store.lists.find(listID, in: module, scope: user.scope) }
        // A list's members are searched and sorted as any records are (the search was ignored
        // in a list, which was read whole for each page).
        let query = RecordQuery(criteria: criteria, search: search, within: listID.map { .list($0) }, sort: sort, descending: descending,
                                limit: perPage, offset: (page - 1) * perPage)
        return (try await store.records.list(in: module, query, scope: user.scope), view, list)
    }
}
