import Foundation
import Hummingbird
import HeraldCore
import HeraldStore

/// "Erase this person…" (GDPR art. 17), for admins: a page that counts what would go and
/// asks for the address typed out, then the erasure and a page of what went. The API twin is
/// `POST /api/v1/modules/:module/records/:id/erase`; both call ``ErasureStore``.
struct ErasurePages {
    let store: Store
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {
        let admin = app.group("/m/:module/:id/erase").add(middleware: RequireAdminMiddleware())
        admin.get { _, context in
            let (module, record) = try await find(context)
            return try await confirmation(module: module, record: record, context: context, errors: [])
        }
        admin.post { request, context in
            let (module, record) = try await find(context)
            let form = try await FormData.read(request, context: context)
            if let email = Self.email(of: record, in: module),
               EmailAddress.normalized(form["confirm"] ?? "") != EmailAddress.normalized(email) {
                return try await confirmation(module: module, record: record, context: context,
                                              errors: ["confirm: type the address \(email) to erase this person"])
            }
            let erasure: Erasure
            do {
                erasure = try await store.erasure.erase(in: module, id: record.id)
            } catch let error as HeraldError where error.kind == .conflict {
                return try await confirmation(module: module, record: record, context: context, errors: [error.message], status: .conflict)
            }
            let html = pages.render("erased", title: "Erased", context: context, page: Done(
                module: ModuleLabels(module), id: record.id, title: record.title(in: module),
                items: Self.items(erasure), suppressedAddresses: erasure.suppressedAddresses,
                plural: erasure.suppressedAddresses != 1), modules: try await store.modules.all(), current: module.apiName)
            return HTMLResponse(html: html).response
        }
    }

    /// The page that says what erasing would remove and asks for the address.
    func confirmation(module: Module, record: Record, context: AppRequestContext, errors: [String],
                      status: HTTPResponse.Status? = nil) async throws -> Response {
        let preview = try await store.erasure.preview(in: module, id: record.id)
        let html = pages.render("erase", title: "Erase \(record.title(in: module))", context: context, page: Confirmation(
            module: ModuleLabels(module), id: record.id, title: record.title(in: module),
            items: Self.items(preview), addresses: preview.suppressedAddresses, plural: preview.suppressedAddresses != 1,
            email: Self.email(of: record, in: module), errors: errors, hasErrors: !errors.isEmpty),
            modules: try await store.modules.all(), current: module.apiName)
        return HTMLResponse(html: html, status: status ?? (errors.isEmpty ? .ok : .unprocessableContent)).response
    }

    func find(_ context: AppRequestContext) async throws -> (Module, Record) {
        let module = try await store.modules.named(context.parameters.require("module"))
        let id = try context.parameters.require("id", as: Int64.self)
        guard let record = try await store.records.find(in: module, id: id, scope: .all) else {
            throw HeraldError.notFound("no \(module.singularLabel.lowercased()) \(id) in \(module.pluralLabel)")
        }
        return (module, record)
    }

    /// The address to type to confirm: the record's own, if it has one.
    static func email(of record: Record, in module: Module) -> String? {
        guard let field = module.emailField, case .text(let text)? = record[field.apiName], !text.trimmedWhitespace.isEmpty else { return nil }
        return text.trimmedWhitespace
    }

    static func items(_ erasure: Erasure) -> [Item] {
        erasure.items.map { Item(key: $0.key, label: $0.label, count: $0.count) }
    }

    struct Item: PageModel { let key: String, label: String, count: Int }

    /// What erasing would remove, and the address to type (`erase.mustache`).
    struct Confirmation: PageModel {
        let module: ModuleLabels
        let id: Int64
        let title: String
        let items: [Item]
        let addresses: Int
        let plural: Bool
        let email: String?
        let errors: [String]
        let hasErrors: Bool
    }

    /// What erasing removed (`erased.mustache`).
    struct Done: PageModel {
        let module: ModuleLabels
        let id: Int64
        let title: String
        let items: [Item]
        let suppressedAddresses: Int
        let plural: Bool
    }
}
