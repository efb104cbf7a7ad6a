import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// The suppression list: everyone can search it; admins add, import and remove addresses.
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
                return try await page(request: request, context: context, flash: "\(added.address) is suppressed.")
            } catch let error as HeraldError where error.kind == .invalid {
                return try await page(request: request, context: context, problems: ViewPages.problems(error), form: form.dictionary)
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
                return try await page(request: request, context: context, problems: ViewPages.problems(error), form: form.dictionary)
            }
        }
        admin.post("remove") { request, context in
            let form = try await FormData.read(request, context: context)
            let address = form["address"] ?? ""
            try await delivery.suppressions.remove(address, by: try context.user())
            return try await page(request: request, context: context, flash: "\(address) may be sent to again.")
        }
    }

    func page(request: Request, context: AppRequestContext, problems: [Problem] = [], form: [String: String] = [:],
              report: SuppressionActions.ImportReport? = nil, flash: String? = nil) async throws -> Response {
        let user = try context.user()
        let query = request.uri.queryParameters
        let search = query["q"].map(String.init).flatMap { $0.trimmedWhitespace.isEmpty ? nil : String($0.trimmedWhitespace.prefix(320)) }
        let after = query["after"].map(String.init) ?? ""
        let rows = try await store.suppressions.page(search: search, after: after, limit: 100)
        let zone = TimeZone(identifier: user.timeZone) ?? .gmt
        let errors = AdminPages.errorMap(problems)
        var data: [String: Any] = [
            "rows": rows.map { s -> [String: Any] in
                ["address": s.address, "reason": s.reason, "detail": s.detail as Any, "when": MassEmailPages.format(s.createdAt, zone)]
            },
            "total": try await store.suppressions.count(search: search), "q": search as Any,
            "is_admin": user.isAdmin, "csrf": context.csrf, "errors": errors, "form": form, "has_errors": !problems.isEmpty,
            "zone": user.timeZone,
        ]
        if rows.count == 100, let last = rows.last {
            var next = "/suppressions?after=\(last.address.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            if let search { next += "&q=\(search.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
            data["next"] = next
        }
        if let report {
            data["report"] = [
                "added": report.added, "already": report.alreadySuppressed, "repeated": report.repeated,
                "problems": report.problems.prefix(100).map { ["line": $0.field, "reason": $0.reason] },
                "more_problems": report.problems.count > 100 ? report.problems.count - 100 : nil as Int? as Any,
            ]
        }
        let html = pages.render("suppressions", title: "Suppression list", context: context, data: data,
                                modules: try await store.modules.all(), current: "mass-emails", flash: flash)
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }
}
