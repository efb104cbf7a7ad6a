import Hummingbird
import HeraldCore
import HeraldStore

/// `/api/v1/modules`: modules and their fields. Reading is for everyone; changes are for admins.
struct ModulesAPI {
    let store: Store

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("modules") { _, _ in
            JSONResponse.make(JSONValue.object(["modules": .array(try await store.modules.all().map(Present.module))]))
        }
        api.get("modules/:module") { _, context in
            JSONResponse.make(Present.module(try await store.modules.named(context.parameters.require("module"))))
        }
        let admin = api.group().add(middleware: RequireAdminMiddleware())
        admin.post("modules") { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let singular = body.string("singular_label", required: true, maxLength: 100)
            let plural = body.string("plural_label", required: true, maxLength: 100)
            let apiName = body.string("api_name", maxLength: 100)
            let hasPeople = body.bool("has_people") ?? false
            var fields: [Field] = []
            if let raw = body.raw("fields") {
                if let items = raw.arrayValue {
                    for (i, item) in items.enumerated() {
                        do { fields.append(try FieldInputReader.field(from: item, path: "fields[\(i)]")) } catch let e as HeraldError {
                            for p in e.problems { body.add(p.field, p.reason) }
                        }
                    }
                } else {
                    body.add("fields", "must be a list")
                }
            }
            try body.finish()
            let module = try await store.modules.create(apiName: apiName, singularLabel: singular!, pluralLabel: plural!,
                                                        hasPeople: hasPeople, fields: fields)
            return JSONResponse.make(Present.module(module), status: .created)
        }
        admin.patch("modules/:module") { request, context in
            let name = try context.parameters.require("module")
            let module = try await store.modules.named(name)
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let singular = body.string("singular_label", maxLength: 100) ?? module.singularLabel
            let plural = body.string("plural_label", maxLength: 100) ?? module.pluralLabel
            try body.finish()
            return JSONResponse.make(Present.module(try await store.modules.rename(name, singularLabel: singular, pluralLabel: plural)))
        }
        admin.delete("modules/:module") { _, context in
            try await store.modules.delete(context.parameters.require("module"))
            return Response(status: .noContent)
        }
        admin.post("modules/:module/fields") { request, context in
            let field = try FieldInputReader.field(from: try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let stored = try await store.modules.addField(field, to: context.parameters.require("module"))
            return JSONResponse.make(Present.field(stored), status: .created)
        }
        admin.patch("modules/:module/fields/:field") { request, context in
            var body = try JSONObjectReader(try await JSONBody.decode(JSONValue.self, from: request, context: context))
            let label = body.string("label", maxLength: 100)
            let required = body.bool("required")
            let values = body.strings("picklist_values", maxCount: ModuleRules.maxPicklistValues + 1)
            try body.finish()
            let field = try await store.modules.updateField(
                context.parameters.require("field"), in: context.parameters.require("module"),
                label: label, isRequired: required, picklistValues: values)
            return JSONResponse.make(Present.field(field))
        }
        admin.delete("modules/:module/fields/:field") { _, context in
            try await store.modules.deleteField(context.parameters.require("field"), from: context.parameters.require("module"))
            return Response(status: .noContent)
        }
    }
}

/// Reads a field definition from JSON (the API) with every problem named.
enum FieldInputReader {
    static func field(from json: JSONValue, path: String = "") throws -> Field {
        var body = try JSONObjectReader(json, path: path)
        let label = body.string("label", required: true, maxLength: 100) ?? ""
        let apiName = body.string("api_name", maxLength: 100) ?? APIName.from(label: label)
        let typeName = body.string("type", required: true, maxLength: 40)
        var type = FieldType.text
        if let typeName {
            if let t = FieldType(rawValue: typeName) { type = t } else {
                body.add("type", "'\(typeName)' is not a field type; use one of \(FieldType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        let required = body.bool("required") ?? false
        let values = body.strings("picklist_values", maxCount: ModuleRules.maxPicklistValues + 1) ?? []
        let lookup = body.string("lookup_module", maxLength: 100)
        try body.finish()
        return Field(apiName: apiName, label: label, type: type, isRequired: required,
                     picklistValues: values.map { $0.trimmingCharacters(in: .whitespaces) }, lookupModule: lookup)
    }
}

import Foundation
