import Foundation
import HeraldCore
import SQLKit

/// Bytes of a file as they arrive, pulled one chunk at a time (so a large file is never whole in memory).
public typealias ByteChunks = AsyncThrowingStream<[UInt8], any Error>

/// CSV import into a module: maps columns to fields, checks each row, dedupes by email.
public struct Importer: Sendable {
    let database: any HeraldDatabase
    let records: RecordStore

    /// Imports `input` into `module`. A header that cannot be used fails the whole import
    /// (nothing is read further); row problems are reported by line and field.
    public func run(into module: Module, options: ImportOptions, input: ByteChunks) async throws -> ImportReport {
        let job = ImportJob(module: module, options: options)
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
        if database.kind == .postgres, created + updated >= 1000 {
            try await database.transaction { db in try await db.raw("ANALYZE \(ident: module.table)").run() }
        }
        return self
    }
}

/// One import's state: the column plan and the running report.
struct ImportJob: Sendable {
    let module: Module
    let options: ImportOptions

    /// Column index → field, worked out from the header.
    func plan(header: [String]) throws -> [(Int, Field)] {
        var problems = ProblemList()
        var seenHeaders = Set<String>()
        for h in header where !seenHeaders.insert(h.trimmingCharacters(in: .whitespaces).lowercased()).inserted {
            problems.add("header", "column '\(h)' appears twice")
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
            problems.add("duplicates", "finding duplicates needs the email column mapped; choose 'allow' to import without")
        }
        try problems.check()
        return plan.sorted { $0.0 < $1.0 }
    }

    /// A checked row, ready to write.
    struct ReadyRow: Sendable {
        var line: Int
        var changes: RecordChanges
        var email: String?
    }

    /// Reads rows and hands checked ones to `sink` in batches.
    func read(input: ByteChunks, report: inout ImportReport,
              sink: ([ReadyRow], inout ImportReport) async throws -> Void) async throws {
        var parser = CSVParser()
        var plan: [(Int, Field)]? = nil
        var headerCount = 0
        var batch: [ReadyRow] = []
        func take(_ rows: [CSVParser.Row], report: inout ImportReport) async throws {
            for row in rows {
                guard let p = plan else {
                    plan = try self.plan(header: row.fields)
                    headerCount = row.fields.count
                    continue
                }
                report.rowsRead += 1
                if options.atomic, !options.dryRun, report.rowsRead > options.atomicRowLimit {
                    throw HeraldError.invalid(field: "atomic", """
                        an all-or-nothing import takes at most \(options.atomicRowLimit) rows; import this file in batches \
                        (atomic=false: each 500 rows committed on their own, bad rows skipped and reported)
                        """)
                }
                if row.fields.count != headerCount {
                    report.failed += 1
                    report.fail(line: row.line, field: "", reason: "has \(row.fields.count) columns; the header has \(headerCount)")
                    continue
                }
                switch RecordChanges.validate(p.map { i, f in (f, FieldInput.text(row.fields[i])) }, module: module, creating: true) {
                case .failure(let error):
                    report.failed += 1
                    for problem in error.problems { report.fail(line: row.line, field: problem.field, reason: problem.reason) }
                case .success(let changes):
                    var email: String? = nil
                    if let emailField = module.emailField, case .text(let e)?? = changes.values[emailField.apiName] {
                        email = EmailAddress.normalized(e)
                    }
                    batch.append(ReadyRow(line: row.line, changes: changes, email: email))
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
        var seen = Set<String>()
        try await read(input: input, report: &report) { batch, report in
            var written = ImportReport()
            try await write(batch, db: db, rows: rows, seen: &seen, report: &written)
            // Within the import's transaction: ANALYZE counts the rows it inserted.
            if isFirstWrite(before: report, written: written) { try await analyze(db) }
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

    /// Makes the table's statistics on PostgreSQL (see ``isFirstWrite(before:written:)``).
    func analyze(_ db: any SQLDatabase) async throws {
        if db.dialect.name == "postgresql" { try await db.raw("ANALYZE \(ident: module.table)").run() }
    }

    /// Each batch its own transaction, written while the next batch is read and checked: on
    /// a large file the database's work and the CSV's take about as long, and run side by
    /// side on two cores. One batch is written at a time, in order, so the dedupe and the
    /// report see the batches as the file has them.
    func runBatched(input: ByteChunks, database: any HeraldDatabase) async throws -> ImportReport {
        var report = ImportReport()
        let seen = SeenEmails()
        var writing: Task<ImportReport, any Error>?
        do {
            try await read(input: input, report: &report) { batch, report in
                if let previous = writing {
                    let written = try await previous.value
                    if isFirstWrite(before: report, written: written) {
                        try await database.read { db in try await analyze(db) }
                    }
                    report.add(written)
                }
                let job = self
                writing = Task {
                    try await database.bulkTransaction { db, rows in
                        var written = ImportReport()
                        try await job.write(batch, db: db, rows: rows, seen: &seen.emails, report: &written)
                        return written
                    }
                }
            }
            if let last = writing { report.add(try await last.value) }
        } catch {
            // Nothing is left running behind an import that failed.
            _ = try? await writing?.value
            throw error
        }
        return report
    }

    /// Writes one batch: dedupes by email against the database and earlier rows, then inserts
    /// the new records through `rows` (nil only in a dry run).
    func write(_ batch: [ReadyRow], db: any SQLDatabase, rows: (any RowInserter)?, seen: inout Set<String>,
               report: inout ImportReport) async throws {
        var existing: [String: Int64] = [:]
        if options.duplicates != .allow, let emailField = module.emailField {
            let emails = Array(Set(batch.compactMap(\.email)))
            if !emails.isEmpty {
                // The batch's addresses as one bound value (see JSONRows), not 2,000 placeholders.
                // PostgreSQL: one index probe an address, spelled out (LATERAL, with OFFSET 0 so
                // that the planner cannot turn it back into a join). As `= ANY` it costed a read
                // of the whole table below 2,000 index probes and chose it: 60-70 ms a batch at
                // 100,000 records, against 12 ms for the probes.
                let lookup: SQLQueryString = db.dialect.name == "sqlite" ? """
                    SELECT id, lower(\(ident: emailField.column)) AS e FROM \(ident: module.table)
                    WHERE lower(\(ident: emailField.column)) IN (SELECT value FROM json_each(\(bind: JSONRows.strings(emails))))
                    AND \(RecordStore.scopeSQL(options.scope))
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
        var inserts: [ReadyRow] = []
        for row in batch where !badLines.contains(row.line) {
            if options.duplicates != .allow, let email = row.email {
                if !seen.insert(email).inserted {
                    // A second row with the same email in the file: with 'update' it would
                    // overwrite what the first row wrote; both cases skip it, and say so,
                    // whether or not the first row's batch is already written.
                    report.skipped += 1
                    report.fail(line: row.line, field: "email", reason: "duplicate of an earlier row in the file; skipped")
                    continue
                }
                if let id = existing[email] {
                    if options.duplicates == .skip { report.skipped += 1; continue }
                    if !options.dryRun {
                        var values = row.changes.values
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
            inserts.append(row)
        }
        if !options.dryRun, !inserts.isEmpty {
            guard let rows else { preconditionFailure("an import that writes needs a RowInserter") }
            try await insert(inserts, into: rows)
        }
        report.created += inserts.count
    }

    /// Rows whose lookups or owner name nothing; checked once per distinct id, not per row.
    func brokenReferences(_ rows: [ReadyRow], db: any SQLDatabase) async throws -> [ImportReport.RowError] {
        var broken: [ImportReport.RowError] = []
        for field in module.fields where field.type == .lookup || field.type == .user {
            let ids = Set(rows.compactMap { row -> Int64? in
                if case .reference(let id)?? = row.changes.values[field.apiName] { id } else { nil }
            })
            guard !ids.isEmpty else { continue }
            let table = field.type == .user ? "users" : "rec_" + (field.lookupModule ?? module.apiName)
            // A lookup may name only a record the importer may see (users are everyone's to name).
            let visible: SQLQueryString = field.type == .user ? "1 = 1" : RecordStore.scopeSQL(options.scope)
            let found = Set(try await db.raw("SELECT id FROM \(ident: table) WHERE id IN (\(binds: Array(ids))) AND \(visible)").all()
                .map { try $0.decode(column: "id", as: Int64.self) })
            for row in rows {
                if case .reference(let id)?? = row.changes.values[field.apiName], !found.contains(id) {
                    broken.append(ImportReport.RowError(
                        line: row.line, field: field.apiName,
                        reason: field.type == .user ? "no user \(id)" : "no record \(id) in module '\(field.lookupModule ?? "")'"))
                }
            }
        }
        return broken
    }

    func insert(_ rows: [ReadyRow], into inserter: any RowInserter) async throws {
        // Only the columns some row sets are named (the others are NULL, as record tables have
        // no defaults); the times and the default owner are Herald's.
        var named = Set<String>([BuiltinFields.createdAt, BuiltinFields.modifiedAt, BuiltinFields.owner])
        for row in rows { named.formUnion(row.changes.values.keys) }
        enum Source { case now, owner, value(String) }
        let fields = module.fields.filter { named.contains($0.apiName) }
        let sources: [Source] = fields.map {
            switch $0.apiName {
            case BuiltinFields.createdAt, BuiltinFields.modifiedAt: .now
            case BuiltinFields.owner: .owner
            default: .value($0.apiName)
            }
        }
        let now = SQLCell.integer(WallClock.epochSeconds())
        let owner = SQLCell.integer(options.owner)
        var cells: [SQLCell] = []
        cells.reserveCapacity(rows.count * fields.count)
        for row in rows {
            for source in sources {
                switch source {
                case .now: cells.append(now)
                case .owner:
                    if case .reference(let id)?? = row.changes.values[BuiltinFields.owner] { cells.append(.integer(id)) } else { cells.append(owner) }
                case .value(let name): cells.append(row.changes.values[name].flatMap { $0?.sqlCell } ?? .null)
                }
            }
        }
        try await inserter.insert(into: module.table, columns: fields.map(\.column), cells: cells)
    }
}
