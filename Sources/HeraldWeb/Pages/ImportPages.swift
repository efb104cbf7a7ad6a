import Foundation
import Hummingbird
import HeraldCore
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
            let path = try uploads.path(id, user: try context.user().id)
            return try await mappingPage(module, id: id, path: path, chosen: nil, options: nil, report: nil, problems: [], context: context)
        }
        app.post("/m/:module/import/:upload") { request, context in
            let module = try await store.modules.named(context.parameters.require("module"))
            let user = try context.user()
            let id = try context.parameters.require("upload")
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
            do {
                guard !chosen.isEmpty else { throw HeraldError.invalid(field: "mapping", "map at least one column to a field") }
                var options = try CSVTransfer.options({ formOptions[$0] }, user: user)
                options.mapping = chosen
                options.dryRun = dryRun
                let report = try await store.importer.run(into: module, options: options, input: ImportUploads.chunks(path))
                if !dryRun && report.committed {
                    uploads.remove(path)
                    return try await reportPage(module, report: report, context: context)
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
        let html = pages.render("import_upload", title: "Import \(module.pluralLabel)", context: context, data: [
            "module": ["api_name": module.apiName, "label": module.pluralLabel],
            "fields": module.editableFields.map { ["label": $0.label, "api_name": $0.apiName, "required": $0.isRequired] },
            "error": error as Any, "csrf": context.csrf,
        ], modules: try await store.modules.all(), current: module.apiName)
        return HTMLResponse(html: html, status: error == nil ? .ok : .unprocessableContent).response
    }

    func mappingPage(_ module: Module, id: String, path: String, chosen: [String: String]?, options: [String: String]?,
                     report: ImportReport?, problems: [Problem], context: AppRequestContext) async throws -> Response {
        let (header, sample) = try await ImportUploads.preview(path)
        let importable = ImportPages.importable(module, user: try context.user())
        let columns: [[String: Any]] = header.enumerated().map { i, raw in
            let column = raw.trimmingCharacters(in: .whitespaces)
            let guess = chosen.map { $0[column] ?? "" } ?? (importable.first {
                $0.apiName == column.lowercased() || $0.label.caseInsensitiveCompare(column) == .orderedSame
                    || $0.apiName == APIName.from(label: column)
            }?.apiName ?? "")
            let choices: [[String: Any]] = [["value": "", "label": "— ignore —", "selected": guess.isEmpty]]
                + importable.map { ["value": $0.apiName, "label": $0.label, "selected": $0.apiName == guess] }
            return ["index": i, "name": column, "sample": i < sample.count ? sample[i] : "", "choices": choices]
        }
        let duplicates = options?["duplicates"] ?? "skip"
        let atomic = options?["atomic"] ?? "true"
        var data: [String: Any] = [
            "module": ["api_name": module.apiName, "label": module.pluralLabel, "has_email": module.emailField != nil],
            "id": id, "columns": columns, "csrf": context.csrf,
            "dup_skip": duplicates == "skip", "dup_update": duplicates == "update", "dup_allow": duplicates == "allow",
            "atomic": atomic != "false",
            "problems": problems.map(\.description), "has_problems": !problems.isEmpty,
        ]
        if let report { data["report"] = ImportPages.present(report) }
        let html = pages.render("import_mapping", title: "Import \(module.pluralLabel)", context: context, data: data,
                                modules: try await store.modules.all(), current: module.apiName)
        return HTMLResponse(html: html, status: problems.isEmpty ? .ok : .unprocessableContent).response
    }

    func reportPage(_ module: Module, report: ImportReport, context: AppRequestContext) async throws -> Response {
        let html = pages.render("import_report", title: "Import report", context: context, data: [
            "module": ["api_name": module.apiName, "label": module.pluralLabel],
            "report": ImportPages.present(report),
        ], modules: try await store.modules.all(), current: module.apiName)
        return HTMLResponse(html: html).response
    }

    /// The fields a user may fill from a file: admins all editable ones; others not the
    /// owner, since new records are theirs.
    static func importable(_ module: Module, user: User) -> [Field] {
        module.editableFields.filter { user.isAdmin || $0.apiName != BuiltinFields.owner }
    }

    static func present(_ r: ImportReport) -> [String: Any] {
        [
            "rows_read": r.rowsRead, "created": r.created, "updated": r.updated, "skipped": r.skipped, "failed": r.failed,
            "dry_run": r.dryRun, "committed": r.committed, "rolled_back": !r.dryRun && !r.committed,
            "errors": r.errors.map { ["line": $0.line, "field": $0.field.isEmpty ? "—" : $0.field, "reason": $0.reason] },
            "has_errors": !r.errors.isEmpty, "more_errors": r.errors.count >= ImportReport.maxErrors,
        ]
    }
}

/// Uploaded CSV files waiting between the import steps.
struct ImportUploads: Sendable {
    let folder: String

    /// Uploads older than this are removed when the next one arrives.
    static let maxAge: TimeInterval = 24 * 3600

    /// Streams a multipart body's file part to disk; returns the new upload's id, or nil
    /// when the form held no file (or an empty one). With `csrf` (a session's upload), the
    /// form's `_csrf` field, which comes before the file, must match before anything is stored.
    func receive(_ body: RequestBody, boundary: String, user: Int64, limit: Int, csrf: String?) async throws -> String? {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let id = Secrets.random(bytes: 18)
        let path = "\(folder)/\(user)-\(id).csv"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw HeraldError(.invalid, "the upload could not be stored")
        }
        var reader = MultipartFileReader(boundary: boundary)
        var total = 0
        do {
            for try await buffer in body {
                total += buffer.readableBytes
                guard total <= limit else {
                    throw HeraldError.invalid(field: "file", "is larger than \(limit / 1024 / 1024) MB")
                }
                let out = try reader.feed(Array(buffer.readableBytesView))
                if let csrf, reader.sawFile || reader.fields["_csrf"] != nil {
                    guard let presented = reader.fields["_csrf"], Secrets.constantTimeEquals(presented, csrf) else {
                        throw HeraldError.forbidden("the form has expired or did not come from Herald; reload the page and try again")
                    }
                }
                if !out.isEmpty { try await NIOThreadPool.singleton.runIfActive { handle.write(Data(out)) } }
            }
            try handle.close()
        } catch {
            try? handle.close()
            remove(path)
            throw error
        }
        guard reader.sawFile, reader.fileBytes > 0 else {
            remove(path)
            return nil
        }
        // Only now, with the form's token checked: a forged upload must not clear someone's.
        sweep(for: user, keeping: path)
        return id
    }

    /// Writes a whole request body (an API import's CSV) to a new file and returns its path;
    /// 413 beyond `limit` bytes, with nothing left behind.
    func spool(_ body: RequestBody, user: Int64, limit: Int) async throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = "\(folder)/api-\(user)-\(Secrets.random(bytes: 18)).csv"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw HeraldError(.invalid, "the upload could not be stored")
        }
        var total = 0
        do {
            for try await buffer in body {
                total += buffer.readableBytes
                guard total <= limit else {
                    throw HTTPError(.contentTooLarge, message: "the CSV is larger than \(limit / 1024 / 1024) MB; split it")
                }
                let bytes = Data(buffer.readableBytesView)
                try await NIOThreadPool.singleton.runIfActive { handle.write(bytes) }
            }
            try handle.close()
        } catch {
            try? handle.close()
            remove(path)
            throw error
        }
        return path
    }

    /// The file of upload `id`, if it exists and belongs to `user`.
    func path(_ id: String, user: Int64) throws -> String {
        // Ids are base64url: anything else (a slash, dots) never names an upload.
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw HeraldError.notFound("no upload '\(id)'")
        }
        let path = "\(folder)/\(user)-\(id).csv"
        guard FileManager.default.fileExists(atPath: path) else {
            throw HeraldError.notFound("the uploaded file is gone (it was imported, cancelled or is older than a day); upload it again")
        }
        return path
    }

    func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// Removes uploads older than ``maxAge``, and `user`'s oldest beyond ``maxPerUser`` with
    /// `newest` (just stored): the disk an importer can fill is bounded.
    func sweep(for user: Int64, keeping newest: String) {
        let cutoff = Date().addingTimeInterval(-ImportUploads.maxAge)
        var mine: [(path: String, modified: Date)] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let path = "\(folder)/\(name)"
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { continue }
            if modified < cutoff {
                remove(path)
            } else if name.hasPrefix("\(user)-"), path != newest {
                mine.append((path, modified))
            }
        }
        for old in mine.sorted(by: { $0.modified > $1.modified }).dropFirst(ImportUploads.maxPerUser - 1) { remove(old.path) }
    }

    /// Uploads a user may have waiting for their column mapping at once.
    static let maxPerUser = 3

    /// The header and the first data row, read from the start of the file.
    static func preview(_ path: String) async throws -> (header: [String], sample: [String]) {
        var parser = CSVParser()
        var rows: [CSVParser.Row] = []
        do {
            for try await chunk in chunks(path, chunkSize: 16 * 1024) {
                rows += try parser.feed(chunk)
                if rows.count >= 2 { break }
            }
            if rows.count < 2 { rows += try parser.finish() }
        } catch let error as CSVParser.Error {
            if rows.isEmpty { throw HeraldError.invalid(field: "file", error.description) }
        }
        guard let header = rows.first?.fields, !header.isEmpty else {
            throw HeraldError.invalid(field: "file", "the file is empty; the first line must name the columns")
        }
        return (header, rows.count > 1 ? rows[1].fields : [])
    }

    /// The file's bytes, read a chunk at a time on the thread pool as the importer asks.
    static func chunks(_ path: String, chunkSize: Int = 64 * 1024) -> ByteChunks {
        let file = ReadOnlyFile(path: path)
        return ByteChunks(unfolding: { try await file.read(chunkSize) })
    }
}

/// A file read from start to end, one chunk at a time.
///
/// `@unchecked Sendable` is sound: its only user is `AsyncThrowingStream(unfolding:)`, which
/// calls `read` again only after the previous call returned, so the handle is never used
/// by two tasks at once.
private final class ReadOnlyFile: @unchecked Sendable {
    let path: String
    var handle: FileHandle?
    var done = false
    init(path: String) { self.path = path }
    deinit { try? handle?.close() }

    func read(_ count: Int) async throws -> [UInt8]? {
        if done { return nil }
        return try await NIOThreadPool.singleton.runIfActive { () throws -> [UInt8]? in
            if self.handle == nil {
                guard let h = FileHandle(forReadingAtPath: self.path) else {
                    throw HeraldError.notFound("the uploaded file is gone; upload it again")
                }
                self.handle = h
            }
            let data = try self.handle!.read(upToCount: count) ?? Data()
            if data.isEmpty {
                self.done = true
                try? self.handle?.close()
                self.handle = nil
                return nil
            }
            return [UInt8](data)
        }
    }
}

/// Pulls the first file out of a `multipart/form-data` body as it streams by (RFC 7578),
/// keeping only a delimiter's length of bytes between chunks, and keeps the small text fields
/// before it (the form's `_csrf`, checked before a byte of the file is stored).
struct MultipartFileReader {
    enum State { case preamble, headers, body(isFile: Bool), done }

    let delimiter: [UInt8]
    var state = State.preamble
    var buffer: [UInt8]
    private(set) var sawFile = false
    private(set) var fileBytes = 0
    /// The text fields read so far; a value over ``maxFieldBytes`` is left out, not cut.
    private(set) var fields: [String: String] = [:]
    private var field: (name: String, value: [UInt8])?

    static let maxFieldBytes = 4096
    static let maxFields = 32

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // RFC 2046 §5.1.1: the first delimiter may start the body without the CRLF before it.
        buffer = Array("\r\n".utf8)
    }

    static func boundary(fromContentType type: String) -> String? {
        for part in type.split(separator: ";") {
            let kv = part.trimmingCharacters(in: .whitespaces)
            if kv.lowercased().hasPrefix("boundary=") {
                var value = String(kv.dropFirst("boundary=".count))
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return value.isEmpty || value.count > 70 ? nil : value
            }
        }
        return nil
    }

    /// Feeds the next bytes of the body; returns the bytes of the file part they complete.
    mutating func feed(_ bytes: [UInt8]) throws -> [UInt8] {
        buffer += bytes
        var out: [UInt8] = []
        while true {
            switch state {
            case .done:
                buffer.removeAll()
                return out
            case .preamble:
                guard let at = MultipartFileReader.find(delimiter, in: buffer) else {
                    buffer.removeFirst(max(0, buffer.count - delimiter.count))
                    return out
                }
                guard buffer.count >= at + delimiter.count + 2 else { return out }
                let after = Array(buffer[(at + delimiter.count)..<(at + delimiter.count + 2)])
                buffer.removeFirst(at + delimiter.count + 2)
                state = after == Array("--".utf8) ? .done : .headers
            case .headers:
                guard let end = MultipartFileReader.find(Array("\r\n\r\n".utf8), in: buffer) else {
                    if buffer.count > 16 * 1024 { throw HeraldError(.malformed, "a part of the upload has over-long headers") }
                    return out
                }
                let raw = String(decoding: buffer[..<end], as: UTF8.self)
                let headers = raw.lowercased()
                buffer.removeFirst(end + 4)
                let isFile = !sawFile && headers.contains("filename=")
                if isFile { sawFile = true }
                field = nil
                if !headers.contains("filename="), fields.count < MultipartFileReader.maxFields,
                   let name = raw.firstMatch(of: /(?i)\bname="([^"]*)"/)?.1 {
                    field = (String(name), [])
                }
                state = .body(isFile: isFile)
            case .body(let isFile):
                let found = MultipartFileReader.find(delimiter, in: buffer)
                let ready = found ?? max(0, buffer.count - (delimiter.count - 1))
                if isFile { out += buffer[..<ready]; fileBytes += ready }
                if var f = field {
                    f.value += buffer[..<min(ready, MultipartFileReader.maxFieldBytes + 1 - min(f.value.count, MultipartFileReader.maxFieldBytes + 1))]
                    field = f
                }
                buffer.removeFirst(ready)
                guard found != nil else { return out }
                if let f = field, f.value.count <= MultipartFileReader.maxFieldBytes {
                    fields[f.name] = String(decoding: f.value, as: UTF8.self)
                }
                field = nil
                state = .preamble
            }
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count, let first = needle.first else { return nil }
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}
