import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import records from a CSV file into a module.",
        discussion: """
            The first line names the columns. Without --map, every column must match a field \
            by API name or label. Rows are checked one by one; errors are reported by line and \
            field. By default all rows go in one transaction: any bad row and nothing is written.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "The module's API name, e.g. contacts.") var module: String
    @Option(help: "The CSV file (UTF-8).") var file: String
    @Option(name: .customLong("map"), help: "Map a column to a field: 'Column Name=field_api_name'. Repeat for each column; unmapped columns are ignored.")
    var mappings: [String] = []
    @Option(help: "Rows whose email exists already: skip, update or allow.") var duplicates: String = "skip"
    @Flag(help: "Check every row and report, writing nothing.") var dryRun = false
    @Flag(help: "Commit in batches: bad rows are skipped and reported, good rows are kept.") var batches = false
    @Option(help: "Email of the user who owns the new records (default: the first admin).") var owner: String?

    func run() async throws {
        // Checked before the database is opened (or made): a mistyped path is the whole mistake.
        let handle = try Import.open(file)
        let store = try await db.openStore(logger: try db.logger("herald.import"))
        defer { Task { await store.close() } }
        do {
            let module = try await store.modules.named(module)
            var ownerID: Int64
            if let owner {
                guard let found = try await store.users.credentials(email: owner) else { throw CLIError("--owner: no user \(owner)") }
                ownerID = found.user.id
            } else {
                guard let admin = try await store.users.all().first(where: \.isAdmin) else { throw CLIError("no users yet; run herald serve once or herald user create") }
                ownerID = admin.id
            }
            var options = ImportOptions(owner: ownerID)
            for mapping in mappings {
                let parts = mapping.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("--map: '\(mapping)' is not 'Column=field'") }
                options.mapping[parts[0]] = parts[1]
            }
            guard let d = ImportOptions.Duplicates(rawValue: duplicates) else { throw ValidationError("--duplicates: '\(duplicates)' is not skip, update or allow") }
            options.duplicates = d
            options.dryRun = dryRun
            options.atomic = !batches
            let chunks = ByteChunks.reading(handle)
            let started = Date()
            let report = try await store.importer.run(into: module, options: options, input: chunks)
            let seconds = Date().timeIntervalSince(started)
            print("rows read: \(report.rowsRead), created: \(report.created), updated: \(report.updated), skipped: \(report.skipped), failed: \(report.failed)\(report.dryRun ? " (dry run: nothing written)" : "")")
            for error in report.errors { print("line \(error.line)\(error.field.isEmpty ? "" : ", \(error.field)"): \(error.reason)") }
            if report.rowsRead > 0 { print(String(format: "%.1f s, %.0f rows/s", seconds, Double(report.rowsRead) / max(seconds, 0.001))) }
            if report.failed > 0 {
                throw CLIError(options.atomic && !options.dryRun ? "nothing was imported: fix the rows above, or use --batches to keep the good rows" : "\(report.failed) rows failed")
            }
        } catch let error as HeraldError {
            throw CLIError(error.cliText)
        }
    }
}

extension Import {
    /// The CSV file to read, or why it cannot be.
    static func open(_ file: String) throws -> FileHandle {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isFolder) else { throw CLIError("--file: no file at \(file)") }
        guard !isFolder.boolValue else { throw CLIError("--file: \(file) is a folder; give the CSV file in it") }
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw CLIError("--file: cannot read \(file): \(String(cString: strerror(errno)))")
        }
        return handle
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export a module's records (or a view's) to CSV.")

    @OptionGroup var db: DatabaseOptions
    @Option(help: "The module's API name, e.g. contacts.") var module: String
    @Option(help: "A view of the module, by id or name.") var view: String?
    @Option(help: "Write to this file instead of standard output.") var output: String?

    func run() async throws {
        let store = try await db.openStore(logger: try db.logger("herald.export"), mustExist: true)
        defer { Task { await store.close() } }
        do {
            let module = try await store.modules.named(module)
            var criteria = ResolvedCriteria.all([])
            if let view {
                let views = try await store.views.all(in: module)
                guard let found = views.first(where: { String($0.id) == view || $0.name == view }) else {
                    throw CLIError("--view: no view '\(view)' in \(module.pluralLabel)")
                }
                criteria = try found.criteria.resolve(in: module).get()
            }
            let out: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil), let h = FileHandle(forWritingAtPath: output) else {
                    throw CLIError("--output: cannot write \(output): \(String(cString: strerror(errno)))")
                }
                out = h
            } else {
                out = FileHandle.standardOutput
            }
            try await store.records.exportCSV(in: module, criteria: criteria, scope: .all) { text in
                out.write(Data(text.utf8))
            }
            if output != nil { try out.close() }
        } catch let error as HeraldError {
            throw CLIError(error.cliText)
        }
    }
}

extension AsyncThrowingStream where Element == [UInt8], Failure == any Error {
    /// A file's bytes for the importer, 256 KB at a time as it asks, to the end.
    static func reading(_ handle: FileHandle) -> ByteChunks {
        ByteChunks(unfolding: {
            let data = try handle.read(upToCount: 256 * 1024) ?? Data()
            return data.isEmpty ? nil : [UInt8](data)
        })
    }
}
