import Foundation
import Hummingbird
import HeraldCore
import HeraldDelivery
import HeraldStore

/// `/api/v1/modules/:module/import` (CSV body) and `/export` (CSV out).
struct ImportExportAPI {
    let store: Store
    let delivery: Delivery
    let uploads: ImportUploads

    func register(on api: RouterGroup<AppRequestContext>) {
        api.post("modules/:module/import") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let user = try context.user()
            let query = request.uri.queryParameters
            let options = try CSVTransfer.options({ query[Substring($0)].map(String.init) }, user: user)
            try CSVBody.checkMediaType(of: request)
            // The body goes to disk first: read inside the import's transaction, a slow client
            // would hold the database's writer for as long as its upload takes.
            let path = try await uploads.spool(request.body, user: user.id, limit: ImportPages.maxUploadBytes)
            defer { uploads.remove(path) }
            let report = try await delivery.imports.run(into: module, options, input: ImportUploads.chunks(path), by: user)
            let status: HTTPResponse.Status = report.failed > 0 && !options.dryRun && options.atomic ? .unprocessableContent : .ok
            return JSONResponse.make(Present.importReport(report), status: status)
        }
        api.get("modules/:module/export") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            return try await CSVTransfer.export(module: module, query: { request.uri.queryParameters[Substring($0)] }, user: try context.user(), store: store)
        }
    }
}
