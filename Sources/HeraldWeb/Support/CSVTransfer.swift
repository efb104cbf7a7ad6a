import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// CSV in and out of a module, shared by the API and the pages.
enum CSVTransfer {
    /// A response that streams the module's records (those of `criteria`) as CSV, a chunk of
    /// records at a time, so that exporting a million records holds only one chunk in memory.
    static func export(module: Module, criteria: ResolvedCriteria, search: String? = nil, within: RecipientSelection? = nil,
                       scope: AccessScope, store: Store, filename: String) -> Response {
        let body = ResponseBody { writer in
            try await store.records.exportCSV(in: module, criteria: criteria, search: search, within: within, scope: scope) { text in
                try await writer.write(ByteBuffer(string: text))
            }
            try await writer.finish(nil)
        }
        let safeName = filename.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        return Response(status: .ok, headers: [
            .contentType: "text/csv; charset=utf-8",
            .contentDisposition: "attachment; filename=\"\(safeName.isEmpty ? "export" : safeName).csv\"",
        ], body: body)
    }

    /// The CSV export of what a list page shows: a module's records, or those of one of its
    /// views (`view`) or static lists (`list`), by id, narrowed by its search (`q`), when given.
    static func export(module: Module, query: (String) -> Substring?, user: User, store: Store) async throws -> Response {
        func id(_ key: String, _ what: String) throws -> Int64? {
            guard let text = query(key).flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
            guard let id = Int64(text), id > 0 else { throw HeraldError.invalid(field: key, "must be a \(what) id") }
            return id
        }
        var criteria = ResolvedCriteria.all([])
        if let view = try id("view", "view") {
            criteria = try await store.views.find(view, in: module).criteria.resolve(in: module).get()
        }
        var within: RecipientSelection?
        if let list = try id("list", "static list") {
            _ = try await store.lists.find(list, in: module, scope: user.scope)
            within = .list(list)
        }
        let search = query("q").flatMap { $0.isEmpty ? nil : String($0) }
        if let search, search.count > 200 { throw HeraldError.invalid(field: "q", "must be at most 200 characters") }
        return export(module: module, criteria: criteria, search: search, within: within, scope: user.scope, store: store, filename: module.apiName)
    }

    /// Import options from query parameters (API) or form fields (pages).
    static func options(_ value: (String) -> String?, user: User) throws -> ImportOptions {
        var options = ImportOptions(owner: user.id, scope: user.scope)
        var problems = ProblemList()
        if let d = value("duplicates"), !d.isEmpty {
            if let v = ImportOptions.Duplicates(rawValue: d) { options.duplicates = v } else {
                problems.add("duplicates", "'\(d)' is not one of allow, skip, update")
            }
        }
        func flag(_ key: String) -> Bool? {
            guard let v = value(key), !v.isEmpty else { return nil }
            switch v.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: problems.add(key, "'\(v)' is neither true nor false"); return nil
            }
        }
        options.dryRun = flag("dry_run") ?? false
        options.atomic = flag("atomic") ?? true
        if let m = value("mapping"), !m.isEmpty {
            if let object = try? JSONDecoder().decode([String: String].self, from: Data(m.utf8)) {
                options.mapping = object
            } else {
                problems.add("mapping", "must be a JSON object of column names to field names")
            }
        }
        try problems.check()
        return options
    }
}
