import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// The organisation's sender addresses, for admins: list, add, edit, delete.
struct SenderPages {
    let store: Store
    let delivery: Delivery
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {
        let admin = app.group("admin").add(middleware: RequireAdminMiddleware())
        admin.get("senders") { _, context in
            try await page(editing: nil, form: [:], problems: [], context: context)
        }
        admin.post("senders") { request, context in
            let form = try await FormData.read(request, context: context)
            do {
                _ = try await delivery.senders.create(try SenderPages.input(form), by: try context.user())
                return Response.redirect(to: "/admin/senders", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await page(editing: nil, form: SenderPages.values(form), problems: error.pageProblems, context: context)
            }
        }
        admin.get("senders/:id") { _, context in
            let sender = try await delivery.senders.find(try context.parameters.require("id", as: Int64.self)).sender
            return try await page(editing: sender, form: ["email": sender.email, "name": sender.name, "reply_to": sender.replyTo ?? "",
                                                          "rate_per_minute": sender.ratePerMinute.map(String.init) ?? "",
                                                          "rate_per_hour": sender.ratePerHour.map(String.init) ?? ""],
                                  problems: [], context: context)
        }
        admin.post("senders/:id") { request, context in
            let sender = try await delivery.senders.find(try context.parameters.require("id", as: Int64.self)).sender
            let form = try await FormData.read(request, context: context)
            do {
                _ = try await delivery.senders.update(sender.id, try SenderPages.input(form), by: try context.user())
                return Response.redirect(to: "/admin/senders", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await page(editing: sender, form: SenderPages.values(form), problems: error.pageProblems, context: context)
            }
        }
        admin.post("senders/:id/delete") { _, context in
            do {
                try await delivery.senders.delete(try context.parameters.require("id", as: Int64.self), by: try context.user())
            } catch let error as HeraldError where error.kind == .conflict {
                return try await page(editing: nil, form: [:], problems: error.pageProblems, context: context)
            }
            return Response.redirect(to: "/admin/senders", type: .found)
        }
    }

    static func values(_ form: FormData) -> [String: String] {
        ["email": form["email"] ?? "", "name": form["name"] ?? "", "reply_to": form["reply_to"] ?? "",
         "rate_per_minute": form["rate_per_minute"] ?? "", "rate_per_hour": form["rate_per_hour"] ?? ""]
    }

    /// The form as the use case takes it; the two rate fields: empty for no limit, else a whole number.
    static func input(_ form: FormData) throws -> SenderActions.Input {
        var problems = ProblemList()
        func read(_ key: String) -> Int? {
            guard let text = form[key]?.trimmedWhitespace, !text.isEmpty else { return nil }
            guard let n = Int(text) else { problems.add(key, "'\(text)' is not a whole number"); return nil }
            return n
        }
        let rates = (read("rate_per_minute"), read("rate_per_hour"))
        if !problems.problems.isEmpty {
            problems.add(contentsOf: SenderStore.problems(email: form["email"] ?? "", name: form["name"] ?? "", replyTo: form["reply_to"],
                                                          rates: rates))
        }
        try problems.check()
        return SenderActions.Input(email: form["email"] ?? "", name: form["name"] ?? "", replyTo: form["reply_to"],
                                   ratePerMinute: rates.0, ratePerHour: rates.1)
    }

    /// The list with the add form, or with the edit form of `editing`.
    func page(editing: Sender?, form: [String: String], problems: [Problem], context: AppRequestContext) async throws -> Response {
        let model = Page(
            senders: try await delivery.senders.list().map { listed in
                let s = listed.sender
                return Page.Row(id: s.id, email: s.email, name: s.name, replyTo: s.replyTo, editing: s.id == editing?.id,
                                rates: [s.ratePerMinute.map { "\($0)/min" }, s.ratePerHour.map { "\($0)/h" }].compactMap { $0 }.joined(separator: ", "),
                                dkim: listed.authentication?.state.rawValue ?? "unsigned", warning: listed.authentication?.warning)
            },
            editing: editing.map { Page.Editing(id: $0.id, email: $0.email) },
            action: editing.map { "/admin/senders/\($0.id)" } ?? "/admin/senders",
            form: form, hasErrors: !problems.isEmpty, generalError: problems.first { $0.field.isEmpty }?.reason,
            errors: AdminPages.errorMap(problems))
        let html = pages.render("admin_senders", title: "Senders", context: context, page: model, modules: try await store.modules.all())
        let status: HTTPResponse.Status = problems.isEmpty ? .ok : (problems.contains { $0.reason == "already exists" } ? .conflict : .unprocessableContent)
        return HTMLResponse(html: html, status: status).response
    }

    /// The senders, with the add or edit form (`admin_senders.mustache`).
    struct Page: PageModel {
        struct Row: PageModel {
            let id: Int64
            let email: String, name: String
            let replyTo: String?
            let editing: Bool
            let rates: String, dkim: String
            let warning: String?
        }
        struct Editing: PageModel { let id: Int64, email: String }

        let senders: [Row]
        let editing: Editing?
        let action: String
        let form: [String: String]
        let hasErrors: Bool
        let generalError: String?
        let errors: [String: String]
    }
}
