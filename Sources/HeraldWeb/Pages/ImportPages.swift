import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore
import NIOPosix

/// CSV import through the browser in three steps: upload the file, map its columns to
/// fields (and check it with a dry run), then import and read the report.
///
/// Between the steps the file waits in a temporary folder under a random id that is tied
/// to the user who uploaded it; the upload is streamed to disk and the import streams it
/// back, so a large file is never held in memory whole. The file is deleted after the import.
struct ImportPages {
    let store: Store
    let delivery: Delivery
    let pages: PageRenderer
    let uploads: ImportUploads

    /// The largest CSV file the page accepts.
    static let maxUploadBytes = 512 * 1024 * 1024

    func register(on app: RouterGroup<AppRequestContext>) {
        app.get("/m/:module/import") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return try await uploadPage(module, error: nil, context: context)
        }
        app.post("/m/:module/import") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let user = try context.user()
            guard let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data"),
                  let boundary = MultipartFileReader.boundary(fromContentType: type) else {
                return try await uploadPage(module, error: "Choose a CSV file to upload.", context: context)
            }
            let id = try await uploads.receive(request.body, boundary: boundary, user: user.id, limit: ImportPages.maxUploadBytes,
                                               csrf: context.csrfInBody)
            guard let id else {
                return try await uploadPage(module, error: "Choose a CSV file to upload.", context: context)
            }
            return Response.redirect(to: "/m/\(module.apiName)/import/\(id)", type: .normal)
        }
        app.get("/m/:module/import/:upload") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let id = try context.parameters.require("upload")
            let user = try context.user()
            // Back from the report: the file is imported (or importing), not to be mapped again.
            if uploads.runs.state(id, user: user.id) != nil { return reportRedirect(module, id: id) }
            let path = try uploads.path(id, user: user.id)
            return try await mappingPage(module, id: id, path: path, chosen: nil, options: nil, report: nil, problems: [], context: context)
        }
        app.get("/m/:module/import/:upload/report") { _, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let id = try context.parameters.require("upload")
            switch uploads.runs.state(id, user: try context.user().id) {
            case .done(let report, _)?:
                return try await reportPage(module, report: report, context: context)
            case .running?:
                return try await reportPage(module, report: nil, context: context)
            case nil:
                throw HeraldError.notFound("no report of this import is kept (reports are kept for a day, until Herald restarts); the imported records are in \(module.pluralLabel)")
            }
        }
        app.post("/m/:module/import/:upload") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let user = try context.user()
            let id = try context.parameters.require("upload")
            // A second click on Import, or a form posted again after the import: its report.
            if uploads.runs.state(id, user: user.id) != nil { return reportRedirect(module, id: id) }
            let path = try uploads.path(id, user: user.id)
            let form = try await FormData.read(request, context: context)
            if form["action"] == "cancel" {
                uploads.remove(path)
                return Response.redirect(to: "/m/\(module.apiName)", type: .normal)
            }
            let (header, _) = try await ImportUploads.preview(path)
            var chosen: [String: String] = [:]
            let allowed = Set(ImportPages.importable(module, user: user).map(\.apiName))
            for (i, column) in header.enumerated() {
                if let field = form["map_\(i)"], !field.isEmpty {
                    // As on the record form, only admins may give records to another owner.
                    guard allowed.contains(field) else { throw HeraldError.forbidden("only admins may import the owner of records") }
                    chosen[column.trimmingCharacters(in: .whitespaces)] = field
                }
            }
            let dryRun = form["action"] != "import"
            let formOptions = ["duplicates": form["duplicates"] ?? "skip", "atomic": form["atomic"] ?? "true"]
            // One import a file: a click that comes while it runs waits on its report.
            if !dryRun, uploads.runs.begin(id, user: user.id) != nil { return reportRedirect(module, id: id) }
            var committed: ImportReport? = nil
            defer { if !dryRun { uploads.runs.finish(id, user: user.id, report: committed) } }
            do {
                guard !chosen.isEmpty else { throw HeraldError.invalid(field: "mapping", "map at least one column to a field") }
                var options = try CSVTransfer.options({ formOptions[$0] }, user: user)
                options.mapping = chosen
                options.dryRun = dryRun
                let report = try await delivery.imports.run(into: module, options, input: ImportUploads.chunks(path), by: user)
                if !dryRun && report.committed {
                    committed = report
                    uploads.remove(path)
                    // To the report's own address, so that a reload shows it and imports nothing.
                    return reportRedirect(module, id: id)
                }
                // A dry run, or an all-or-nothing import that a bad row rolled back: the file
                // stays so that the user can change the mapping and try again.
                return try await mappingPage(module, id: id, path: path, chosen: chosen, options: formOptions, report: report,
                                             problems: [], context: context)
            } catch let error as HeraldError where error.kind == .invalid {
                return try await mappingPage(module, id: id, path: path, chosen: chosen, options: formOptions, report: nil,
                                             problems: error.problems, context: context)
            }
        }
    }

    func uploadPage(_ module: Module, error: String?, context: AppRequestContext) async throws -> Response {
        // What the user may import; the owner, though required of a record, may be left out (the importer's).
        let model = Upload(module: ModuleLabels(module),
                           fields: ImportPages.importable(module, user: try context.user()).map {
                               Upload.Field(label: $0.label, apiName: $0.apiName, required: $0.isRequired && $0.apiName != BuiltinFields.owner)
                           },
                           error: error)
        let html = pages.render("import_upload", title: "Import \(module.pluralLabel)", context: context, page: model,
                                modules: try await store.modules.all(), current: module.apiName)
        return HTMLResponse(html: html, status: error == nil ? .ok : .unprocessableContent).response
    }

    func mappingPage(_ module: Module, id: String, path: String, chosen: [String: String]?, options: [String: String]?,
                     report: ImportReport?, problems: [Problem], context: AppRequestContext) async throws -> Response {
        let (header, sample) = try await ImportUploads.preview(path)
        let importable = ImportPages.importable(module, user: try context.user())
        var guessed = Set<String>()
        let columns = header.enumerated().map { i, raw in
            let column = raw.trimmingCharacters(in: .whitespaces)
            // A field is guessed for its first column only: two "Email" columns both mapped are refused.
            var guess = chosen.map { $0[column] ?? "" } ?? (ColumnGuess.field(for: column, among: importable)?.apiName ?? "")
            if chosen == nil, !guess.isEmpty, !guessed.insert(guess).inserted { guess = "" }
            let choices = [SelectOption(value: "", label: "— ignore —", selected: guess.isEmpty)]
                + importable.map { SelectOption(value: $0.apiName, label: $0.label, selected: $0.apiName == guess) }
            return Mapping.Column(index: i, name: column, sample: i < sample.count ? sample[i] : "", choices: choices)
        }
        let duplicates = options?["duplicates"] ?? "skip"
        let model = Mapping(
            module: ModuleLabels(module), id: id, columns: columns,
            dupSkip: duplicates == "skip", dupUpdate: duplicates == "update", dupAllow: duplicates == "allow",
            atomic: (options?["atomic"] ?? "true") != "false",
            ownerImportable: importable.contains { $0.apiName == BuiltinFields.owner },
            problems: problems.map(\.description), hasProblems: !problems.isEmpty, report: report.map(Figures.init))
        let html = pages.render("import_mapping", title: "Import \(module.pluralLabel)", context: context, page: model,
                                modules: try await store.modules.all(), current: module.apiName)
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }

    func reportRedirect(_ module: Module, id: String) -> Response {
        Response.redirect(to: "/m/\(module.apiName)/import/\(id)/report", type: .normal)
    }

    /// An import's report; without one, the import still runs and the page reloads itself.
    func reportPage(_ module: Module, report: ImportReport?, context: AppRequestContext) async throws -> Response {
        let html = pages.render("import_report", title: report == nil ? "Importing" : "Import report", context: context,
                                page: Done(module: ModuleLabels(module), report: report.map(Figures.init)),
                                modules: try await store.modules.all(), current: module.apiName, refresh: report == nil ? 2 : nil)
        return HTMLResponse(html: html).response
    }

    /// The fields a user may fill from a file: admins all editable ones; others not the
    /// owner, since new records are theirs.
    static func importable(_ module: Module, user: User) -> [Field] {
        module.editableFields.filter { user.isAdmin || $0.apiName != BuiltinFields.owner }
    }

    /// An import's counts and row errors (the `import_counts` partial).
    struct Figures: PageModel {
        struct RowError: PageModel { let line: Int, field: String, reason: String }

        let rowsRead: Int, created: Int, updated: Int, skipped: Int, failed: Int
        let dryRun: Bool, committed: Bool, rolledBack: Bool
        let errors: [RowError]
        let hasErrors: Bool, moreErrors: Bool

        init(_ r: ImportReport) {
            (rowsRead, created, updated, skipped, failed) = (r.rowsRead, r.created, r.updated, r.skipped, r.failed)
            (dryRun, committed, rolledBack) = (r.dryRun, r.committed, !r.dryRun && !r.committed)
            errors = r.errors.map { RowError(line: $0.line, field: $0.field.isEmpty ? "—" : $0.field, reason: $0.reason) }
            (hasErrors, moreErrors) = (!r.errors.isEmpty, r.errors.count >= ImportReport.maxErrors)
        }
    }

    /// The upload form with the fields a file may fill (`import_upload.mustache`).
    struct Upload: PageModel {
        struct Field: PageModel { let label: String, apiName: String, required: Bool }

        let module: ModuleLabels
        let fields: [Field]
        let error: String?
    }

    /// The uploaded file's columns, each with the field it fills (`import_mapping.mustache`),
    /// and the report of a dry run or a rolled-back import.
    struct Mapping: PageModel {
        struct Column: PageModel {
            let index: Int
            let name: String, sample: String
            let choices: [SelectOption]
        }

        let module: ModuleLabels
        let id: String
        let columns: [Column]
        let dupSkip: Bool, dupUpdate: Bool, dupAllow: Bool, atomic: Bool
        /// Whether the user may import the owner (admins), so the page says what its cells take.
        let ownerImportable: Bool
        let problems: [String]
        let hasProblems: Bool
        let report: Figures?
    }

    /// A finished import (`import_report.mustache`).
    struct Done: PageModel {
        let module: ModuleLabels
        /// Nil while the import runs.
        let report: Figures?
    }
}
