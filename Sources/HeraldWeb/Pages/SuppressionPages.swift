import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// The suppression list: admins see and search all of it, a user the addresses of the records
/// they own; admins add, import and remove addresses.
struct SuppressionPages {
    let store: Store
    let delivery: Delivery
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/suppressions") { request, context in
            try await page(request: request, context: context)
        }
        let admin = app.group("suppressions").add(middleware: RequireAdminMiddleware())
        admin.post("add") { request, context in
            let form = try await FormData.read(request, context: context)
            do {
                let added = try await delivery.suppressions.add(form["address"] ?? "", reason: form["reason"], by: try context.user())
                return context.redirect(to: "/suppressions", flash: "\(added.address) is suppressed.")
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(request: request, context: context, problems: error.pageProblems, form: form.dictionary)
            }
        }
        admin.post("import") { request, context in
            let form = try await FormData.read(request, context: context)
            let text = form["addresses"] ?? ""
            guard !text.trimmedWhitespace.isEmpty else {
                return try await page(request: request, context: context,
                                      problems: [Problem(field: "addresses", reason: "paste addresses, one a line, or a CSV with an email column")])
            }
            do {
                let report = try await delivery.suppressions.importList(SuppressionImport(text: text), reason: form["reason"] ?? "", by: try context.user())
                return try await page(request: request, context: context, report: report)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(request: request, context: context, problems: error.pageProblems, form: form.dictionary)
            }
        }
        admin.post("remove") { request, context in
            let form = try await FormData.read(request, context: context)
            let address = form["address"] ?? ""
            try await delivery.suppressions.remove(address, by: try context.user())
            return context.redirect(to: "/suppressions", flash: "\(address) may be sent to again.")
        }
    }

    func page(request: Request, context: AppRequestContext, problems: [Problem] = [], form: [String: String] = [:],
              report: SuppressionActions.ImportReport? = nil) async throws -> Response {
        let user = try context.user()
        let query = request.uri.queryParameters
        let search = query["q"].map(String.init).flatMap { $0.trimmedWhitespace.isEmpty ? nil : String($0.trimmedWhitespace.prefix(320)) }
        let after = query["after"].map(String.init) ?? ""
        let modules = try await store.modules.all()
        let rows = try await store.suppressions.page(search: search, after: after, limit: 100, scope: user.scope, modules: modules)
        let local = LocalTime(zoneNamed: user.timeZone)
        var next: String?
        if rows.count == 100, let last = rows.last {
            next = "/suppressions?after=\(last.address.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            if let search { next! += "&q=\(search.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
        }
        let model = Page(
            rows: rows.map { Page.Row(address: $0.address, reason: $0.reason, detail: $0.detail, when: local.readable($0.createdAt)) },
            total: try await store.suppressions.count(search: search, scope: user.scope, modules: modules), q: search, isAdmin: user.isAdmin,
            errors: AdminPages.errorMap(problems), form: form, hasErrors: !problems.isEmpty, zone: user.timeZone, next: next,
            report: report.map { report in
                Page.Report(added: report.added, already: report.alreadySuppressed, repeated: report.repeated,
                            problems: report.problems.prefix(100).map { Page.Report.Line(line: $0.field, reason: $0.reason) },
                            moreProblems: report.problems.count > 100 ? report.problems.count - 100 : nil)
            })
        let html = pages.render("suppressions", title: "Suppression list", context: context, page: model,
                                modules: modules, current: "mass-emails")
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }

    /// The suppression list's model (`suppressions.mustache`).
    struct Page: PageModel {
        struct Row: PageModel { let address: String, reason: String, detail: String?, when: String }
        struct Report: PageModel {
            struct Line: PageModel { let line: String, reason: String }
            let added: Int, already: Int, repeated: Int
            let problems: [Line]
            let moreProblems: Int?
        }

        let rows: [Row]
        let total: Int
        let q: String?
        let isAdmin: Bool
        let errors: [String: String]
        let form: [String: String]
        let hasErrors: Bool
        let zone: String
        let next: String?
        let report: Report?
    }
}
