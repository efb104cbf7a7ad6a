import Foundation
import Hummingbird
import HeraldCore
import HeraldStore

/// The view editor: a view's name and its tree of conditions.
///
/// The criteria travel in one form field, `criteria`, as the JSON of the API. Without
/// JavaScript the user edits that JSON in a textarea; with it, `app.js` builds the tree of
/// groups and conditions from the field descriptions on the page and writes the JSON back
/// into the same field, so the server reads one shape either way.
struct ViewPages {
    let store: Store
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/m/:module/views/new") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return try await form(module: module, view: nil, name: "", criteriaText: ViewPages.pretty(Criteria.everything.json),
                                  problems: [], context: context)
        }
        app.get("/m/:module/views/:id/edit") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let view = try await store.views.find(try context.parameters.require("id", as: Int64.self), in: module)
            return try await form(module: module, view: view, name: view.name, criteriaText: ViewPages.pretty(view.criteria.json),
                                  problems: [], context: context)
        }
        app.post("/m/:module/views") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let form = try await FormData.read(request, context: context)
            let name = form["name"] ?? "", text = form["criteria"] ?? ""
            do {
                let criteria = try ViewPages.criteria(from: text)
                let view = try await store.views.create(in: module, name: name, criteria: criteria, by: try context.user().id)
                return Response.redirect(to: "/m/\(module.apiName)?view=\(view.id)", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await self.form(module: module, view: nil, name: name, criteriaText: text, problems: error.pageProblems,
                                           context: context)
            }
        }
        app.post("/m/:module/views/:id") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let view = try await store.views.find(try context.parameters.require("id", as: Int64.self), in: module)
            try ViewsAPI.requireMayChange(view, by: try context.user())
            let form = try await FormData.read(request, context: context)
            let name = form["name"] ?? "", text = form["criteria"] ?? ""
            do {
                let criteria = try ViewPages.criteria(from: text)
                _ = try await store.views.update(view.id, in: module, name: name, criteria: criteria, scope: try context.user().scope)
                return Response.redirect(to: "/m/\(module.apiName)?view=\(view.id)", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await self.form(module: module, view: view, name: name, criteriaText: text, problems: error.pageProblems,
                                           context: context)
            }
        }
        app.post("/m/:module/views/:id/delete") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            try await store.views.delete(try context.parameters.require("id", as: Int64.self), in: module, scope: try context.user().scope)
            return Response.redirect(to: "/m/\(module.apiName)", type: .found)
        }
    }

    /// Reads the `criteria` form field; an empty field means every record.
    static func criteria(from text: String) throws -> Criteria {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return .everything }
        let json: JSONValue
        do {
            json = try JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8))
        } catch {
            throw HeraldError.invalid(field: "criteria", "is not valid JSON")
        }
        return try Criteria.parse(json).get()
    }

    static func pretty(_ json: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(json)).map { String(decoding: $0, as: UTF8.self) } ?? "{\"all\": []}"
    }

    /// JSON for a `<script type="application/json">` block: `<` is escaped so that no
    /// value (a picklist entry, a label) can close the script element.
    static func scriptJSON(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        return text.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026")
    }

    /// What the editor's script needs to know about the module's fields: types, the
    /// operators each type offers, picklist values and the users to choose from.
    static func editorFields(_ module: Module, users: [User]) -> JSONValue {
        .array(module.fields.map { field in
            var o: [String: JSONValue] = [
                "api_name": .string(field.apiName), "label": .string(field.label), "type": .string(field.type.rawValue),
                "ops": .array(ConditionOperator.offered(for: field.type).map {
                    .object(["op": .string($0.rawValue), "label": .string($0.label)])
                }),
            ]
            if field.type == .picklist { o["choices"] = .array(field.picklistValues.map { .object(["value": .string($0), "label": .string($0)]) }) }
            if field.type == .timeZone { o["choices"] = .array(TimeZoneNames.all.map { .object(["value": .string($0), "label": .string($0)]) }) }
            if field.type == .user {
                o["choices"] = .array(users.map { .object(["value": .string(String($0.id)), "label": .string($0.name)]) })
            }
            return .object(o)
        })
    }

    func form(module: Module, view: View?, name: String, criteriaText: String, problems: [Problem],
              context: AppRequestContext) async throws -> Response {
        let users = try await store.users.all()
        let nameErrors = problems.filter { $0.field == "name" }.map(\.reason)
        let criteriaProblems = problems.filter { $0.field != "name" }
        let title = view.map { "Edit view \($0.name)" } ?? "New view of \(module.pluralLabel)"
        let model = Form(
            module: ModuleLabels(module), title: title, name: name, criteria: criteriaText,
            action: view.map { "/m/\(module.apiName)/views/\($0.id)" } ?? "/m/\(module.apiName)/views",
            cancel: view.map { "/m/\(module.apiName)?view=\($0.id)" } ?? "/m/\(module.apiName)",
            hasErrors: !problems.isEmpty, nameError: nameErrors.isEmpty ? nil : nameErrors.joined(separator: "; "),
            problems: criteriaProblems.map { Form.Problem(field: $0.field, reason: $0.reason) },
            fieldsJSON: ViewPages.scriptJSON(ViewPages.editorFields(module, users: users)),
            problemsJSON: ViewPages.scriptJSON(.array(criteriaProblems.map {
                .object(["field": .string($0.field), "reason": .string($0.reason)])
            })),
            countURL: "/api/v1/modules/\(module.apiName)/views/count",
            mayChange: try view.map { try context.user().mayChange(madeBy: $0.createdBy) } ?? true,
            view: view.map { Form.Shown(id: $0.id, name: $0.name) })
        let html = pages.render("view_form", title: title, context: context, page: model,
                                modules: try await store.modules.all(), current: module.apiName)
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }

    /// The view editor (`view_form.mustache`).
    struct Form: PageModel {
        struct Problem: PageModel { let field: String, reason: String }
        struct Shown: PageModel { let id: Int64, name: String }

        let module: ModuleLabels
        let title: String, name: String, criteria: String, action: String, cancel: String
        let hasErrors: Bool
        let nameError: String?
        let problems: [Problem]
        let fieldsJSON: String, problemsJSON: String, countURL: String
        let mayChange: Bool
        let view: Shown?
    }
}
