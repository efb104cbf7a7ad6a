import Foundation
import Hummingbird
import HeraldCore
import HeraldStore

/// Module and field administration, for admins only: custom modules, custom fields on
/// any module, labels, required flags and picklist values.
struct AdminPages {
    let store: Store
    let pages: PageRenderer

    /// How many blank field rows the new-module form offers; more fields are added later.
    static let initialFieldRows = 3

    func register(on app: RouterGroup<AppRequestContext>) {
        let admin = app.group("admin").add(middleware: RequireAdminMiddleware())
        admin.get("modules") { _, context in
            try await modulesPage(form: NewModuleForm(), problems: [], context: context)
        }
        admin.post("modules") { request, context in
            let form = try await FormData.read(request, context: context)
            let singular = form["singular_label"] ?? "", plural = form["plural_label"] ?? ""
            let apiName = (form["api_name"] ?? "").trimmingCharacters(in: .whitespaces)
            let labels = form.all("field_label"), types = form.all("field_type")
            var fields: [Field] = []
            var problems = ProblemList()
            for (i, label) in labels.enumerated() where !label.trimmingCharacters(in: .whitespaces).isEmpty {
                let typeName = i < types.count ? types[i] : "text"
                guard let type = FieldType(rawValue: typeName), type != .picklist, type != .lookup else {
                    problems.add("fields[\(fields.count)].type", "choose a type; add picklist and lookup fields on the module's page")
                    continue
                }
                fields.append(Field(apiName: APIName.from(label: label), label: label, type: type))
            }
            do {
                try problems.check()
                let module = try await store.modules.create(
                    apiName: apiName.isEmpty ? nil : apiName, singularLabel: singular, pluralLabel: plural,
                    hasPeople: form.all("has_people").last == "true", fields: fields)
                return Response.redirect(to: "/admin/modules/\(module.apiName)", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                let values = NewModuleForm(singularLabel: singular, pluralLabel: plural, apiName: apiName,
                                           hasPeople: form.all("has_people").last == "true", fieldLabels: labels, fieldTypes: types)
                return try await modulesPage(form: values, problems: error.pageProblems, context: context)
            }
        }
        admin.get("modules/:module") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return try await modulePage(module, context: context)
        }
        admin.post("modules/:module/rename") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let form = try await FormData.read(request, context: context)
            do {
                _ = try await store.modules.rename(module.apiName, singularLabel: form["singular_label"] ?? "",
                                                   pluralLabel: form["plural_label"] ?? "")
                return Response.redirect(to: "/admin/modules/\(module.apiName)", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                return try await modulePage(module, renameProblems: error.pageProblems,
                                            renameForm: ["singular_label": form["singular_label"] ?? "", "plural_label": form["plural_label"] ?? ""],
                                            context: context)
            }
        }
        admin.post("modules/:module/delete") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            do {
                try await store.modules.delete(module.apiName)
                return Response.redirect(to: "/admin/modules", type: .found)
            } catch let error as HeraldError where error.kind == .conflict {
                return try await modulePage(module, message: error.message, status: .conflict, context: context)
            }
        }
        admin.post("modules/:module/fields") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let form = try await FormData.read(request, context: context)
            let label = form["label"] ?? ""
            let apiName = (form["api_name"] ?? "").trimmingCharacters(in: .whitespaces)
            let typeName = form["type"] ?? ""
            let lookup = (form["lookup_module"] ?? "").trimmingCharacters(in: .whitespaces)
            let values = AdminPages.lines(form["picklist_values"] ?? "")
            do {
                guard let type = FieldType(rawValue: typeName) else { throw HeraldError.invalid(field: "type", "choose a field type") }
                let field = Field(apiName: apiName.isEmpty ? APIName.from(label: label) : apiName, label: label, type: type,
                                  isRequired: form.all("required").last == "true",
                                  picklistValues: type == .picklist ? values : [],
                                  lookupModule: type == .lookup && !lookup.isEmpty ? lookup : nil)
                _ = try await store.modules.addField(field, to: module.apiName)
                return Response.redirect(to: "/admin/modules/\(module.apiName)#fields", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                let values = FieldForm(label: label, apiName: apiName, type: typeName, lookupModule: lookup,
                                       picklistValues: form["picklist_values"] ?? "", required: form.all("required").last == "true")
                return try await modulePage(module, fieldForm: values, fieldProblems: error.pageProblems, context: context)
            }
        }
        admin.get("modules/:module/fields/:field") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let field = try AdminPages.field(context.parameters.require("field"), in: module)
            return try await fieldPage(module, field, form: nil, problems: [], context: context)
        }
        admin.post("modules/:module/fields/:field") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let field = try AdminPages.field(context.parameters.require("field"), in: module)
            let form = try await FormData.read(request, context: context)
            do {
                _ = try await store.modules.updateField(
                    field.apiName, in: module.apiName, label: form["label"] ?? "",
                    isRequired: field.isSystem ? nil : form.all("required").last == "true",
                    picklistValues: field.type == .picklist ? AdminPages.lines(form["picklist_values"] ?? "") : nil)
                return Response.redirect(to: "/admin/modules/\(module.apiName)#fields", type: .found)
            } catch let error as HeraldError where error.kind == .invalid || error.kind == .conflict {
                let values = FieldChange(label: form["label"] ?? "", required: form.all("required").last == "true",
                                         picklistValues: form["picklist_values"] ?? "")
                return try await fieldPage(module, field, form: values, problems: error.pageProblems, context: context)
            }
        }
        admin.post("modules/:module/fields/:field/delete") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let field = try AdminPages.field(context.parameters.require("field"), in: module)
            do {
                try await store.modules.deleteField(field.apiName, from: module.apiName)
                return Response.redirect(to: "/admin/modules/\(module.apiName)#fields", type: .found)
            } catch let error as HeraldError where error.kind == .conflict {
                return try await modulePage(module, message: "'\(field.label)' was not deleted: \(error.message)", status: .conflict,
                                            context: context)
            }
        }
    }

    static func field(_ name: String, in module: Module) throws -> Field {
        guard let field = module.field(name) else { throw HeraldError.notFound("no field '\(name)' in module \(module.pluralLabel)") }
        return field
    }

    /// One picklist value per line; blank lines are ignored.
    static func lines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Mustache renders a section for any number, zero too; nil hides it.
    static func positive(_ n: Int) -> Int? { n > 0 ? n : nil }

    /// Problems as one line, or nil when there are none (Mustache then skips the section).
    static func joined(_ problems: [Problem]) -> String? {
        problems.isEmpty ? nil : problems.map(\.description).joined(separator: "; ")
    }

    static func errorMap(_ problems: [Problem]) -> [String: String] {
        Dictionary(problems.map { ($0.field, $0.reason) }, uniquingKeysWith: { "\($0); \($1)" })
    }

    static func typeOptions(selected: String, includeReferences: Bool = true) -> [SelectOption] {
        FieldType.allCases.filter { includeReferences || ($0 != .picklist && $0 != .lookup) }
            .map { SelectOption(value: $0.rawValue, label: $0.label, selected: $0.rawValue == selected) }
    }

    func modulesPage(form: NewModuleForm, problems: [Problem], context: AppRequestContext) async throws -> Response {
        let modules = try await store.modules.all()
        let rows = (0..<max(AdminPages.initialFieldRows, form.fieldLabels.count)).map { i in
            ModulesPage.FieldRow(index: i + 1, label: i < form.fieldLabels.count ? form.fieldLabels[i] : "",
                                 types: AdminPages.typeOptions(selected: i < form.fieldTypes.count ? form.fieldTypes[i] : "text",
                                                               includeReferences: false))
        }
        let known: Set<String> = ["singular_label", "plural_label", "api_name"]
        let model = ModulesPage(
            modules: modules.map { m in
                ModulesPage.Row(apiName: m.apiName, singular: m.singularLabel, plural: m.pluralLabel, builtin: m.isBuiltin,
                                fieldCount: m.fields.count, customCount: AdminPages.positive(m.fields.filter { !$0.isBuiltin }.count),
                                hasPeople: m.emailField != nil)
            },
            form: form, fieldRows: rows, hasErrors: !problems.isEmpty, errors: AdminPages.errorMap(problems),
            otherErrors: problems.filter { !known.contains($0.field) }.map(\.description))
        let html = pages.render("admin_modules", title: "Modules", context: context, page: model, modules: modules)
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }

    func modulePage(_ module: Module, fieldForm: FieldForm = FieldForm(), fieldProblems: [Problem] = [],
                    renameProblems: [Problem] = [], renameForm: [String: String]? = nil, message: String? = nil,
                    status: HTTPResponse.Status? = nil, context: AppRequestContext) async throws -> Response {
        let modules = try await store.modules.all()
        var fieldErrors = AdminPages.errorMap(fieldProblems.filter { !$0.field.hasPrefix("picklist_values") })
        fieldErrors["picklist_values"] = AdminPages.joined(fieldProblems.filter { $0.field.hasPrefix("picklist_values") })
        let fieldKnown: Set<String> = ["label", "api_name", "type", "lookup_module", "picklist_values"]
        let model = ModulePage(
            module: ModuleLabels(module), builtin: module.isBuiltin,
            fields: module.fields.map { f in
                var details = f.type.label
                if f.type == .picklist { details += ": " + f.picklistValues.prefix(6).joined(separator: ", ") + (f.picklistValues.count > 6 ? ", …" : "") }
                if f.type == .lookup, let target = f.lookupModule {
                    details += " → " + (modules.first { $0.apiName == target }?.pluralLabel ?? target)
                }
                return ModulePage.FieldRow(apiName: f.apiName, label: f.label, type: details, required: f.isRequired,
                                           builtin: f.isBuiltin, system: f.isSystem, editable: !f.isSystem)
            },
            fieldForm: fieldForm,
            types: AdminPages.typeOptions(selected: fieldForm.type.isEmpty ? "text" : fieldForm.type),
            lookupTargets: modules.map { SelectOption(value: $0.apiName, label: $0.pluralLabel, selected: $0.apiName == fieldForm.lookupModule) },
            fieldErrors: fieldErrors,
            fieldOtherErrors: fieldProblems.filter { !fieldKnown.contains($0.field) && !$0.field.hasPrefix("picklist_values") }
                .map(\.description),
            fieldHasErrors: !fieldProblems.isEmpty,
            rename: ["singular_label": renameForm?["singular_label"] ?? module.singularLabel,
                     "plural_label": renameForm?["plural_label"] ?? module.pluralLabel],
            renameErrors: renameProblems.map(\.description), message: message)
        let html = pages.render("admin_module", title: "Module \(module.pluralLabel)", context: context, page: model,
                                modules: modules, current: module.apiName)
        let code = status ?? ((fieldProblems.isEmpty && renameProblems.isEmpty) ? .ok : .unprocessableContent)
        return HTMLResponse(html: html, status: code).response
    }

    func fieldPage(_ module: Module, _ field: Field, form: FieldChange?, problems: [Problem],
                   context: AppRequestContext) async throws -> Response {
        var errors = AdminPages.errorMap(problems.filter { !$0.field.hasPrefix("picklist_values") })
        errors["picklist_values"] = AdminPages.joined(problems.filter { $0.field.hasPrefix("picklist_values") })
        let model = FieldPage(
            module: ModuleLabels(module),
            field: FieldPage.Shown(apiName: field.apiName, type: field.type.label, builtin: field.isBuiltin, system: field.isSystem,
                                   isPicklist: field.type == .picklist, lookup: field.lookupModule),
            label: form?.label ?? field.label, required: form?.required ?? field.isRequired,
            picklistValues: form?.picklistValues ?? field.picklistValues.joined(separator: "\n"),
            errors: errors, hasErrors: !problems.isEmpty)
        let html = pages.render("admin_field", title: "Field \(field.label)", context: context, page: model,
                                modules: try await store.modules.all(), current: module.apiName)
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }

    /// What the new-module form was sent with, to show it again with its problems.
    struct NewModuleForm: PageModel {
        var singularLabel = "", pluralLabel = "", apiName = ""
        var hasPeople = false
        var fieldLabels: [String] = [], fieldTypes: [String] = []
    }

    /// What the new-field form was sent with.
    struct FieldForm: PageModel {
        var label = "", apiName = "", type = "", lookupModule = "", picklistValues = ""
        var required = false
    }

    /// What the field's edit form was sent with.
    struct FieldChange {
        var label: String
        var required: Bool
        var picklistValues: String
    }

    /// The modules with the new-module form (`admin_modules.mustache`).
    struct ModulesPage: PageModel {
        struct Row: PageModel {
            let apiName: String, singular: String, plural: String
            let builtin: Bool
            let fieldCount: Int
            let customCount: Int?
            let hasPeople: Bool
        }
        struct FieldRow: PageModel {
            let index: Int
            let label: String
            let types: [SelectOption]
        }

        let modules: [Row]
        let form: NewModuleForm
        let fieldRows: [FieldRow]
        let hasErrors: Bool
        let errors: [String: String]
        let otherErrors: [String]
    }

    /// One module: its fields, the new-field form and the rename form (`admin_module.mustache`).
    struct ModulePage: PageModel {
        struct FieldRow: PageModel {
            let apiName: String, label: String, type: String
            let required: Bool, builtin: Bool, system: Bool, editable: Bool
        }

        let module: ModuleLabels
        let builtin: Bool
        let fields: [FieldRow]
        let fieldForm: FieldForm
        let types: [SelectOption]
        let lookupTargets: [SelectOption]
        let fieldErrors: [String: String]
        let fieldOtherErrors: [String]
        let fieldHasErrors: Bool
        let rename: [String: String]
        let renameErrors: [String]
        let message: String?
    }

    /// One field's label, whether it is required, and its picklist values (`admin_field.mustache`).
    struct FieldPage: PageModel {
        struct Shown: PageModel {
            let apiName: String, type: String
            let builtin: Bool, system: Bool, isPicklist: Bool
            let lookup: String?
        }

        let module: ModuleLabels
        let field: Shown
        let label: String
        let required: Bool
        let picklistValues: String
        let errors: [String: String]
        let hasErrors: Bool
    }
}
