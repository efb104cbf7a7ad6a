import Foundation
import HeraldCore
import SQLKit
import Synchronization

/// Bytes of a file as they arrive, pulled one chunk at a time (so a large file is never whole in memory).
public typealias ByteChunks = AsyncThrowingStream<[UInt8], any Error>

/// CSV import into a module: maps columns to fields, checks each row, dedupes by email.
public struct Importer: Sendable {
    let database: any HeraldDatabase
    let records: RecordStore

    /// Imports `input` into `module`. A header that cannot be used fails the whole import
    /// (nothing is read further); row problems are reported by line and field.
    public func run(into module: Module, options: ImportOptions, input: ByteChunks) async throws -> ImportReport {
        let users = try await database.read { db in
            try await db.raw("SELECT id, email FROM users").all().reduce(into: [String: Int64]()) { users, row in
                users[EmailAddress.normalized(try row.decode(column: "email", as: String.self))] = try row.decode(column: "id", as: Int64.self)
            }
        }  // a deactivated user's address becomes their id, which the writer refuses as deactivated
        let job = ImportJob(module: module, options: options, users: users)
        if options.dryRun {
            return try await database.read { db in try await job.run(input: input, db: db, rows: nil) }
        }
        if options.atomic {
            do {
                return try await database.bulkTransaction { db, rows in
                    let report = try await job.run(input: input, db: db, rows: rows)
                    // Any bad row rolls the whole import back; the report still lists every problem.
                    if report.failed > 0 { throw RolledBack(report: report) }
                    var done = report
                    done.committed = true
                    return done
                }.analyzed(module, in: database)
            } catch let rolledBack as RolledBack {
                var report = rolledBack.report
                report.created = 0
                report.updated = 0
                report.committed = false
                return report
            }
        }
        // Batches: each batch of rows is its own transaction.
        let database = self.database
        var report = try await job.runBatched(input: input, database: database)
        report.committed = true
        return try await report.analyzed(module, in: database)
    }

    struct RolledBack: Error { var report: ImportReport }
}

extension ImportReport {
    /// After a large import into PostgreSQL, the table's statistics are made at once rather
    /// than by autovacuum a minute or more later: a table that grew from nothing still looks
    /// empty to the planner, which then read all of it for each batch of a mass email sent
    /// straight after (about 30 ms for 500 messages at 100,000 records, a second at a million).
    func analyzed(_ module: Module, in database: any HeraldDatabase) async throws -> ImportReport {
        if created + updated >= 1000 { try await database.read { db in try await module.makeStatistics(on: db) } }
        return self
    }
}

extension Module {
    /// Makes the planner's statistics of this module's table on PostgreSQL (SQLite plans
    /// without them): see ``ImportReport/analyzed(_:in:)`` and ``ImportJob/isFirstWrite(before:written:)``.
    func makeStatistics(on db: any SQLDatabase) async throws {
        if db.dialect.name == "postgresql" { try await db.raw("ANALYZE \(ident: table)").run() }
    }
}

/// One import's state: the column plan and the running report.
struct ImportJob: Sendable {
    let module: Module
    let options: ImportOptions
    /// Where each column of the module's table gets its value in a new record, in the order
    /// of `module.fields` (every field is a column; those no row sets are NULL, as record
    /// tables have no defaults): the times and the default owner are Herald's.
    let sources: [CellSource]

    /// The position in ``sources`` of each field a row may set (the owner among them), so that
    /// a row's cells are its few values put in place, not a lookup for each of the table's columns.
    let positions: [String: Int]

    enum CellSource: Sendable { case now, owner, value(String) }

    /// Each user's id by their normalised address, for user columns (the owner) that name
    /// users by address (see ``userCell(_:field:unknown:)``).
    let users: [String: Int64]

    init(module: Module, options: ImportOptions, users: [String: Int64]) {
        self.module = module
        self.options = options
        self.users = users
        sources = module.fields.map {
            switch $0.apiName {
            case BuiltinFields.createdAt, BuiltinFields.modifiedAt: .now
            case BuiltinFields.owner: .owner
            default: .value($0.apiName)
            }
        }
        var positions: [String: Int] = [:]
        for (i, source) in sources.enumerated() {
            switch source {
            case .now: break
            case .owner: positions[BuiltinFields.owner] = i
            case .value(let name): positions[name] = i
            }
        }
        self.positions = positions
    }

    /// Column index → field, worked out from the header.
    func plan(header: [String]) throws -> [(Int, Field)] {
        var problems = ProblemList()
        // A name twice is ambiguous only for a column that is imported: a mapping that leaves
        // both out (a spreadsheet's two "Notes") reads the file as it is.
        var seenHeaders = Set<String>()
        let mappedColumns = Set(options.mapping.keys.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        for h in header {
            let name = h.trimmingCharacters(in: .whitespaces).lowercased()
            if !seenHeaders.insert(name).inserted, options.mapping.isEmpty || mappedColumns.contains(name) {
                problems.add("header", "column '\(h)' appears twice; rename one of them to import it")
            }
        }
        var plan: [(Int, Field)] = []
        if options.mapping.isEmpty {
            for (i, raw) in header.enumerated() {
                let h = raw.trimmingCharacters(in: .whitespaces)
                if let f = module.fields.first(where: { $0.apiName == h || $0.label.caseInsensitiveCompare(h) == .orderedSame }) {
                    if f.isSystem { problems.add("header", "column '\(h)' is set by Herald and cannot be imported") } else { plan.append((i, f)) }
                } else {
                    problems.add("header", "column '\(h)' matches no field of \(module.pluralLabel); map it to a field or leave it out of the mapping")
                }
            }
        } else {
            let trimmed = header.map { $0.trimmingCharacters(in: .whitespaces) }
            for (column, fieldName) in options.mapping.sorted(by: { $0.key < $1.key }) {
                guard let i = trimmed.firstIndex(of: column.trimmingCharacters(in: .whitespaces)) else {
                    problems.add("mapping.\(column)", "the file has no column '\(column)'")
                    continue
                }
                guard let f = module.field(fieldName) else {
                    problems.add("mapping.\(column)", "no field '\(fieldName)' in \(module.pluralLabel)")
                    continue
                }
                if f.isSystem { problems.add("mapping.\(column)", "'\(fieldName)' is set by Herald and cannot be imported") }
                else { plan.append((i, f)) }
            }
        }
        // As on the record form: only admins give records to an owner.
        for (i, f) in plan where f.apiName == BuiltinFields.owner && options.scope != .all {
            problems.add("mapping.\(header[i].trimmingCharacters(in: .whitespaces))", "only admins may import the owner of records")
        }
        var mapped = Set<String>()
        for (_, f) in plan where !mapped.insert(f.apiName).inserted {
            problems.add("mapping", "field '\(f.apiName)' is mapped from more than one column")
        }
        for f in module.fields where f.isRequired && !f.isSystem && f.apiName != BuiltinFields.owner && !mapped.contains(f.apiName) {
            problems.add("mapping", "required field '\(f.apiName)' is not mapped from any column")
        }
        if options.duplicates != .allow, module.emailField.map({ mapped.contains($0.apiName) }) != true {
            problems.add("duplicates", "finding duplicates needs the email column mapped; to import without, choose to import them anyway (duplicates=allow)")
        }
        try problems.check()
        return plan.sorted { $0.0 < $1.0 }
    }

    /// A checked row, ready to write.
    struct ReadyRow: Sendable {
        var line: Int
        /// The row's values; empty unless the writer needs them (``refers``, or `update` duplicates).
        var changes: RecordChanges
        var email: String?
        /// The row as a new record, a value for each of the table's columns (see ``sources``).
        /// Made while the file is read, so that the writer, which the import waits for, only
        /// hands them on.
        var cells: [SQLCell]
        /// Whether the row names a record or a user (a lookup, the owner), which the writer checks.
        var refers: Bool
        /// Whether the row's address was checked against the file's earlier rows as it was read
        /// (see ``read(input:report:sink:)``); if not, the writer checks it.
        var checkedInFile: Bool
    }

    /// The cells of a new record that sets nothing, created at `now`: the times, the importer
    /// as owner, NULL elsewhere. Made once a chunk of the file (see ``cells(of:blank:)``).
    func blankCells(now: Int64) -> [SQLCell] {
        sources.map { source in
            switch source {
            case .now: .integer(now)
            case .owner: .integer(options.owner)
            case .value: .null
            }
        }
    }

    /// A row's values as a new record's cells: `blank` with each value in its column's place
    /// (`slots`, one for each value: see ``slots(of:)``). A row that leaves the owner empty
    /// keeps the importer as owner.
    func cells(of values: [FieldValue?], at slots: [Int], blank: [SQLCell]) -> [SQLCell] {
        var cells = blank
        for (slot, value) in zip(slots, values) {
            if let value { cells[slot] = value.sqlCell }
        }
        return cells
    }

    /// Where in a new record's cells (see ``sources``) the value of each of `plan`'s fields goes.
    func slots(of plan: [(Int, Field)]) -> [Int] {
        plan.map { column in
            guard let slot = positions[column.1.apiName] else { preconditionFailure("a field of the plan is a column of the table") }
            return slot
        }
    }

    /// Whether a cell holds nothing but spaces and tabs.
    static func isBlank(_ cell: String) -> Bool { cell.utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 } }

    /// A user column's cell as the parser takes it: a user's email address (as a spreadsheet
    /// of owners has them, and as people know each other) becomes that user's id. An address
    /// no user has stays as it is, which the parser refuses; `unknown` says why in its place.
    func userCell(_ cell: String, field: Field, unknown: inout [String: String]) -> String {
        let address = cell.trimmingCharacters(in: .whitespaces)
        guard address.contains("@") else {
            // A name ("Ann Lee") names no one for sure: the parser's "not the id of a user" would hide that an address works.
            if !address.isEmpty, Int64(address) == nil { unknown[field.apiName] = "'\(address)' is not a user's email address or id" }
            return cell
        }
        if let id = users[EmailAddress.normalized(address)] { return String(id) }
        unknown[field.apiName] = "no user has the address '\(address)'"
        return cell
    }

    /// Reads rows and hands checked ones to `sink` in batches.
    ///
    /// A row whose address an earlier row of the file has is skipped here, as it is read, when
    /// no row can fail in the writer: the writer fails a row that names a record or user that
    /// does not exist, and such a row must not claim its address (see ``write(_:db:rows:seen:report:)``),
    /// so with a lookup or user column mapped the writer checks the file's duplicates itself.
    /// Checked here, the set of a million addresses (a third of a second) and the batch's
    /// distinct addresses are off the writer, which a large import waits for.
    func read(input: ByteChunks, report: inout ImportReport,
              sink: ([ReadyRow], inout ImportReport) async throws -> Void) async throws {
        var parser = CSVParser()
        var plan: [(Int, Field)]? = nil
        var headerCount = 0
        var batch: [ReadyRow] = []
        var seen = CompactStringSet()
        var checksFile = false
        // Worked out once from the header: the fields, where each value goes, and which is the address.
        var fields: [Field] = []
        var slots: [Int] = []
        var emailSlot: Int?
        var ownerPlace: Int?
        func take(_ rows: [CSVParser.Row], report: inout ImportReport) async throws {
            let blank = options.dryRun ? [] : blankCells(now: WallClock.epochSeconds())
            for row in rows {
                guard let p = plan else {
                    let made = try self.plan(header: row.fields)
                    plan = made
                    headerCount = row.fields.count
                    checksFile = options.duplicates != .allow && !made.contains { $0.1.type == .lookup || $0.1.type == .user }
                    fields = made.map(\.1)
                    slots = self.slots(of: made)
                    emailSlot = module.emailField.flatMap { email in made.firstIndex { $0.1.apiName == email.apiName } }
                    ownerPlace = made.firstIndex { $0.1.apiName == BuiltinFields.owner }
                    continue
                }
                // A row of empty cells (",,,", as spreadsheets end their exports) is a blank line,
                // not a record missing its required fields; most rows stop at their first cell.
                if row.fields.allSatisfy(Self.isBlank) { continue }
                report.rowsRead += 1
                if options.atomic, !options.dryRun, report.rowsRead > options.atomicRowLimit {
                    throw HeraldError.invalid(field: "atomic", """
                        an all-or-nothing import takes at most \(options.atomicRowLimit) rows; import this file in batches \
                        (atomic=false: rows committed in batches of up to \(ImportJob.groupRows) as they are written, bad rows skipped and reported)
                        """)
                }
                if row.fields.count != headerCount {
                    report.failed += 1
                    report.fail(line: row.line, field: "", reason: "has \(row.fields.count) columns; the header has \(headerCount)")
                    continue
                }
                var unknownUsers: [String: String] = [:]
                var inputs = p.map { i, f in
                    (f, FieldInput.text(f.type == .user ? userCell(row.fields[i], field: f, unknown: &unknownUsers) : row.fields[i]))
                }
                // An empty Owner cell is no owner given: a new record is the importer's, an
                // updated one keeps its owner. Left out of the check (where the required
                // owner would be missing) and of the changes, it is nil in its place.
                let ownerLeft = ownerPlace.flatMap { place in Self.isBlank(row.fields[p[place].0]) ? place : nil }
                if let ownerLeft { inputs.remove(at: ownerLeft) }
                switch RecordChanges.validatedValues(inputs, module: module, creating: true).map({ values in
                    guard let ownerLeft else { return values }
                    var all = values
                    all.insert(nil, at: ownerLeft)
                    return all
                }) {
                case .failure(let error):
                    report.failed += 1
                    for problem in error.problems {
                        report.fail(line: row.line, field: problem.field, reason: unknownUsers[problem.field] ?? problem.reason)
                    }
                case .success(let values):
                    var email: String? = nil
                    if let emailSlot, case .text(let e)? = values[emailSlot] {
                        email = EmailAddress.normalized(e)
                    }
                    if checksFile, let email, !seen.insert(email) {
                        report.skipped += 1
                        report.fail(line: row.line, field: "email", reason: Self.fileDuplicate)
                        continue
                    }
                    let cells = options.dryRun ? [] : cells(of: values, at: slots, blank: blank)
                    let refers = values.contains { if case .reference? = $0 { true } else { false } }
                    // The writer reads a row's values only to check what it names or to update a
                    // record with them; only then are they made into changes by field.
                    var kept = refers || options.duplicates == .update ? RecordChanges(fields: fields, values: values) : RecordChanges()
                    if ownerLeft != nil { kept.values[BuiltinFields.owner] = nil }
                    batch.append(ReadyRow(line: row.line, changes: kept, email: email, cells: cells, refers: refers,
                                          checkedInFile: checksFile))
                    if batch.count >= options.batchSize {
                        try await sink(batch, &report)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
            }
        }
        do {
            for try await chunk in input {
                try await take(try parser.feed(chunk), report: &report)
            }
            try await take(try parser.finish(), report: &report)
        } catch let error as CSVParser.Error {
            if plan == nil { throw HeraldError.invalid(field: "file", error.description) }
            report.failed += 1
            report.fail(line: error.line, field: "", reason: error.reason)
        }
        if plan == nil { throw HeraldError.invalid(field: "file", "the file is empty; the first line must name the columns") }
        if !batch.isEmpty { try await sink(batch, &report) }
    }

    /// Reads and writes the whole file on `db`; `rows` is nil only in a dry run, which writes nothing.
    func run(input: ByteChunks, db: any SQLDatabase, rows: (any RowInserter)?) async throws -> ImportReport {
        var report = ImportReport()
        report.dryRun = options.dryRun
        var seen = CompactStringSet()
        try await read(input: input, report: &report) { batch, report in
            var written = ImportReport()
            try await write(batch, db: db, rows: rows, seen: &seen, report: &written)
            // Within the import's transaction: ANALYZE counts the rows it inserted.
            if isFirstWrite(before: report, written: written) { try await module.makeStatistics(on: db) }
            report.add(written)
        }
        return report
    }

    /// Whether `written` holds the import's first new records. PostgreSQL plans each batch's
    /// email lookup from the table's statistics, and those of a table that was empty guess an
    /// address to match 0.5 % of the rows: each probe then read the whole table (300 ms a batch
    /// at 100,000 records). Statistics made once the first rows are in (a few milliseconds) say
    /// one row an address; the import is analysed again at its end (``ImportReport/analyzed(_:in:)``).
    func isFirstWrite(before report: ImportReport, written: ImportReport) -> Bool {
        !options.dryRun && report.created == 0 && written.created > 0
    }

    /// Rows written while later rows are read and checked: on a large file the database's work
    /// and the CSV's take about as long, and run side by side on two cores. The writer takes
    /// every batch that is ready when it is free, up to ``groupRows`` rows, in one transaction
    /// (group commit): it never waits for the reader's batch size, and the reader waits only
    /// when that many rows are ready and unwritten, which bounds what an import holds in memory.
    /// Fewer, larger transactions also cost less: each commit rewrites the pages it changed,
    /// the tops of a record table's six B-trees among them (with `sqlite3` itself, a million
    /// such rows took 10.3 s in transactions of 2,000 and 8.4 s in transactions of 20,000).
    /// With one batch a transaction, and the reader waiting for each, a million-row import
    /// kept 1.2 of the two cores busy. Writes run one at a time, in order, so the dedupe and the report see the
    /// rows as the file has them. A failed write ends the import; what was committed before it
    /// stays, as with batches.
    func runBatched(input: ByteChunks, database: any HeraldDatabase) async throws -> ImportReport {
        var report = ImportReport()
        let seen = SeenEmails()
        let job = self
        var writing: (task: Task<ImportReport, any Error>, done: WriteDone)?
        var ready: [ReadyRow] = []
        func write(_ rows: [ReadyRow], report: inout ImportReport) async throws {
            if let previous = writing {
                let written = try await previous.task.value
                if isFirstWrite(before: report, written: written) {
                    try await database.read { db in try await module.makeStatistics(on: db) }
                }
                report.add(written)
            }
            let done = WriteDone()
            writing = (Task {
                defer { done.flag.store(true, ordering: .releasing) }
                return try await database.bulkTransaction { db, inserter in
                    var written = ImportReport()
                    try await job.write(rows, db: db, rows: inserter, seen: &seen.emails, report: &written)
                    return written
                }
            }, done)
        }
        do {
            try await read(input: input, report: &report) { batch, report in
                ready += batch
                let writerFree = writing.map { $0.done.flag.load(ordering: .acquiring) } ?? true
                if writerFree || ready.count >= Self.groupRows {
                    let rows = ready
                    ready.removeAll(keepingCapacity: true)
                    try await write(rows, report: &report)
                }
            }
            if !ready.isEmpty { try await write(ready, report: &report) }
            if let last = writing { report.add(try await last.task.value) }
        } catch {
            // Nothing is left running behind an import that failed.
            _ = try? await writing?.task.value
            throw error
        }
        return report
    }

    /// The most rows one transaction of a batched import writes, and the most the reader
    /// holds ready for the writer.
    static let groupRows = 10_000

    /// Set when a batched import's write has ended, read by the reader to decide whether to
    /// hand over what is ready now or keep reading.
    final class WriteDone: Sendable {
        let flag = Atomic<Bool>(false)
    }

    /// Writes one batch: dedupes by email against the database and earlier rows, then inserts
    /// the new records through `rows` (nil only in a dry run).
    func write(_ batch: [ReadyRow], db: any SQLDatabase, rows: (any RowInserter)?, seen: inout CompactStringSet,
               report: inout ImportReport) async throws {
        var existing: [String: Int64] = [:]
        if options.duplicates != .allow, let emailField = module.emailField {
            // Rows checked against the file as they were read have distinct addresses.
            let emails = batch.allSatisfy(\.checkedInFile) ? batch.compactMap(\.email) : Array(Set(batch.compactMap(\.email)))
            if !emails.isEmpty {
                // The batch's addresses as one bound value (see JSONRows), not 2,000 placeholders,
                // and on both databases one index probe an address. SQLite: the addresses drive
                // the join (CROSS JOIN keeps them outside); as `IN (SELECT value FROM json_each(…))`
                // SQLite first sorted them into a temporary index, which took `sqlite3` 2.45 s for
                // a million addresses against 0.90 s this way. PostgreSQL: spelled out (LATERAL,
                // with OFFSET 0 so that the planner cannot turn it back into a join). As `= ANY`
                // it costed a read of the whole table below 2,000 index probes and chose it:
                // 60-70 ms a batch at 100,000 records, against 12 ms for the probes.
                let lookup: SQLQueryString = db.dialect.name == "sqlite" ? """
                    SELECT r.id, a.value AS e FROM json_each(\(bind: JSONRows.strings(emails))) AS a
                    CROSS JOIN \(ident: module.table) AS r
                    WHERE lower(r.\(ident: emailField.column)) = a.value AND \(RecordStore.scopeSQL(options.scope))
                    """ : """
                    SELECT r.id, a.e FROM unnest(\(bind: emails)::text[]) AS a(e) CROSS JOIN LATERAL
                    (SELECT id FROM \(ident: module.table)
                     WHERE lower(\(ident: emailField.column)) = a.e AND \(RecordStore.scopeSQL(options.scope)) OFFSET 0) AS r
                    """
                for row in try await db.raw(lookup).all() {
                    existing[try row.decode(column: "e", as: String.self)] = try row.decode(column: "id", as: Int64.self)
                }
            }
        }
        // Rows whose lookups or owner name nothing fail first, before they claim their
        // address: a later row with the same one is then not "a duplicate" of a row that was
        // never imported. An update's row is checked the same way, and fails alone.
        let broken = try await brokenReferences(batch, db: db)
        let badLines = Set(broken.map(\.line))
        for error in broken { report.fail(line: error.line, field: error.field, reason: error.reason) }
        report.failed += badLines.count
        // The rows are read in place (`batch[i]`), not copied out one by one: the writer is
        // what a large import waits for, and a copy retains and releases each row's parts.
        var inserts: [[SQLCell]] = []
        inserts.reserveCapacity(batch.count)
        for i in batch.indices {
            if !badLines.isEmpty, badLines.contains(batch[i].line) { continue }
            if options.duplicates != .allow, let email = batch[i].email {
                if !batch[i].checkedInFile, !seen.insert(email) {
                    report.skipped += 1
                    report.fail(line: batch[i].line, field: "email", reason: Self.fileDuplicate)
                    continue
                }
                if let id = existing[email] {
                    if options.duplicates == .skip {
                        // Listed with its line like the file's own duplicates, so the skipped count has its rows.
                        report.skipped += 1
                        report.fail(line: batch[i].line, field: "email", reason: "\(module.singularLabel.lowercased()) \(id) has this address; skipped")
                        continue
                    }
                    if !options.dryRun {
                        var values = batch[i].changes.values
                        values[BuiltinFields.modifiedAt] = .some(.datetime(WallClock.epochSeconds()))
                        let assignments = values.keys.sorted().map { name -> SQLQueryString in
                            if let v = values[name]! { "\(ident: "f_" + name) = \(bind: v.sqlValue)" } else { "\(ident: "f_" + name) = NULL" }
                        }.joined(separator: ", ")
                        try await db.raw("UPDATE \(ident: module.table) SET \(assignments) WHERE id = \(bind: id)").run()
                    }
                    report.updated += 1
                    continue
                }
            }
            inserts.append(batch[i].cells)
        }
        if !options.dryRun, !inserts.isEmpty {
            guard let rows else { preconditionFailure("an import that writes needs a RowInserter") }
            try await rows.insert(into: module.table, columns: module.fields.map(\.column), rows: inserts)
        }
        report.created += inserts.count
    }

    /// Why a row whose address an earlier row of the file has is skipped. With 'update' it
    /// would overwrite what the first row wrote; both modes skip it, and say so, whether or
    /// not the first row's batch is already written.
    static let fileDuplicate = "duplicate of an earlier row in the file; skipped"

    /// Rows whose lookups or owner name nothing; checked once per distinct id, not per row.
    func brokenReferences(_ batch: [ReadyRow], db: any SQLDatabase) async throws -> [ImportReport.RowError] {
        let rows = batch.filter(\.refers)
        guard !rows.isEmpty else { return [] }
        var broken: [ImportReport.RowError] = []
        for field in module.fields where field.type == .lookup || field.type == .user {
            let ids = Set(rows.compactMap { row -> Int64? in
                if case .reference(let id)?? = row.changes.values[field.apiName] { id } else { nil }
            })
            guard !ids.isEmpty else { continue }
            let table = field.type == .user ? "users" : "rec_" + (field.lookupModule ?? module.apiName)
            // A lookup may name only a record the importer may see (users are everyone's to
            // name, but not deactivated ones: nobody would look after the records).
            let visible: SQLQueryString = field.type == .user ? "1 = 1" : RecordStore.scopeSQL(options.scope)
            let status: SQLQueryString = field.type == .user ? "is_active" : "TRUE"
            var found: [Int64: Bool] = [:]
            for row in try await db.raw("SELECT id, \(status) AS usable FROM \(ident: table) WHERE id IN (\(binds: Array(ids))) AND \(visible)").all() {
                found[try row.decode(column: "id", as: Int64.self)] = try row.decode(column: "usable", as: Bool.self)
            }
            for row in rows {
                guard case .reference(let id)?? = row.changes.values[field.apiName], found[id] != true else { continue }
                let reason = switch (field.type, found[id]) {
                case (.user, false?): RecordStore.deactivated(id)
                case (.user, _): "no user \(id)"
                default: "no record \(id) in module '\(field.lookupModule ?? "")'"
                }
                broken.append(ImportReport.RowError(line: row.line, field: field.apiName, reason: reason))
            }
        }
        return broken
    }

}
