import ArgumentParser
import ChildProcess
import Foundation
import HeraldCore
import HeraldStore
import Logging
import SQLKit

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark the CSV import and views at scale against sqlite3 (and psql on PostgreSQL).",
        discussion: """
            Writes a CSV file of N contacts, loads it into a new SQLite file through Herald's \
            CSV importer (in batches, dedupe by email) and, as the reference, with sqlite3's \
            .import into a table of the same five columns with a unique index on the lower-cased \
            email; prints both rates and the ratio. Then resolves a three-condition view (country, lead source in a list, \
            created within 90 days): the count, and every matching id streamed. The same \
            queries, written by hand, run through sqlite3 on the same file; the ratio \
            Herald / sqlite3 is printed. Needs the sqlite3 command (Debian: sqlite3). \
            With --postgres, the same file is also imported into a new database on that \
            PostgreSQL server, and as its reference by psql's \\copy into a table of the same \
            columns with the same unique index (needs psql; Debian: postgresql-client); then, to \
            tell the importer's own cost from its table's, by \\copy into a copy of Herald's \
            contacts table with all its indexes. The database is dropped afterwards.
            """)

    @Option(help: "How many contacts to load.") var records = 1_000_000
    @Option(help: "The SQLite file to create (must not exist).") var file = "herald-bench.sqlite"
    @Option(help: "Runs of each query; the best is reported.") var runs = 5
    @Option(help: "Also import into a new database on this PostgreSQL server (postgres://…; the user may create databases).") var postgres: String?

    func validate() throws {
        guard (1_000...50_000_000).contains(records) else { throw ValidationError("--records must be from 1000 to 50000000") }
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be from 1 to 100") }
        guard !FileManager.default.fileExists(atPath: file) else { throw ValidationError("--file: \(file) exists; give a new path") }
        if let postgres, !(postgres.hasPrefix("postgres://") || postgres.hasPrefix("postgresql://")) {
            throw ValidationError("--postgres must be a postgres:// URL")
        }
    }

    func run() async throws {
        let sqlite3 = try tool("sqlite3", package: "sqlite3")
        var logger = Logger(label: "herald.bench")
        logger.logLevel = .warning
        let store = try await Store.open(.sqlite(path: file), logger: logger)
        let owner = try await store.users.create(email: "bench@example.com", name: "Bench", role: .admin, passwordHash: "-", timeZone: "UTC")
        let contacts = try await store.modules.named("contacts")

        // 1. Import: a CSV file written first (chunk by chunk, never whole in memory), read by
        // Herald's importer and by sqlite3's .import.
        let countries = ["Germany", "France", "Spain", "Italy", "Poland", "Denmark", "Austria", "Belgium", "Ireland", "Portugal"]
        let sources = contacts.field("lead_source")!.picklistValues
        let total = records
        let rowsPerChunk = 2_000
        let chunkCount = (total + rowsPerChunk - 1) / rowsPerChunk
        let csv = file + ".csv"
        let reference = file + ".reference.sqlite"
        defer {
            for path in [csv, reference, reference + "-wal", reference + "-shm"] { try? FileManager.default.removeItem(atPath: path) }
        }
        let header = Array("First Name,Last Name,Email,Mailing Country,Lead Source\n".utf8)
        let generator = GeneratedCSV(header: header, chunks: chunkCount, rowsPerChunk: rowsPerChunk, total: total,
                                     countries: countries, sources: sources)
        guard FileManager.default.createFile(atPath: csv, contents: nil), let out = FileHandle(forWritingAtPath: csv) else {
            throw CLIError("cannot write \(csv)")
        }
        while let chunk = try await generator.next() { try out.write(contentsOf: chunk) }
        try out.close()

        let importSeconds = try await timedImport(csv, into: store, owner: owner.id, total: total)

        // The reference: Herald's pragmas, the same columns, the unique index that dedupes.
        let referenceStart = ContinuousClock.now
        let imported = try shell(sqlite3, [
            "-cmd", "PRAGMA journal_mode=WAL", "-cmd", "PRAGMA synchronous=NORMAL", "-cmd", "PRAGMA cache_size=-8000", reference,
            "CREATE TABLE contacts (first_name TEXT, last_name TEXT, email TEXT, mailing_country TEXT, lead_source TEXT)",
            "CREATE UNIQUE INDEX contacts_email ON contacts (lower(email))",
            ".import --csv --skip 1 \(csv) contacts",
            "SELECT count(*) FROM contacts",
        ])
        let referenceSeconds = (ContinuousClock.now - referenceStart).seconds
        guard imported.split(separator: "\n").last.map({ Int($0.trimmingCharacters(in: .whitespaces)) }) == total else {
            throw CLIError("sqlite3 imported \(imported) rows, not \(total)")
        }

        var onPostgres: PostgresFigures? = nil
        if let postgres { onPostgres = try await importIntoPostgres(url: postgres, csv: csv, total: total, logger: logger) }

        // Spread creation times over a year, so "created within 90 days" selects about a quarter.
        let now = WallClock.epochSeconds()
        try await store.database.transaction { db in
            try await db.raw("UPDATE rec_contacts SET f_created_at = \(bind: now) - (id * 7919 % 365) * 86400").run()
        }

        // 2. The view, resolved by Herald.
        let criteria: Criteria = .all([
            .condition(field: "mailing_country", op: .equals, value: "Germany"),
            .condition(field: "lead_source", op: .inList, value: ["Partner", "Seminar"]),
            .condition(field: "created_at", op: .withinLastDays, value: 90),
        ])
        let resolved = try criteria.resolve(in: contacts).get()
        var heraldCount = 0
        let countTime = try await best(runs) { heraldCount = try await store.records.count(in: contacts, criteria: resolved, scope: .all) }
        let streamed = Counter()
        let streamTime = try await best(runs) {
            streamed.reset()
            try await store.records.forEachID(in: contacts, criteria: resolved, scope: .all) { _ in streamed.add() }
        }
        await store.close()

        // 3. The same by hand through sqlite3. Bounds as Herald computes them: from the start of
        // the day 90 days ago (UTC, the organisation's zone here) to now.
        let from = WallClock.epochSeconds(LocalDate(Date(), in: .gmt).adding(days: -90).startOfDay(in: .gmt))
        let condition = "f_mailing_country = 'Germany' AND f_lead_source IN ('Partner','Seminar') AND f_created_at >= \(from) AND f_created_at <= \(now)"
        var sqliteCount = ""
        let sqliteCountTime = try best(runs) { sqliteCount = try shell(sqlite3, [file, "SELECT count(*) FROM rec_contacts WHERE \(condition)"]) }
        let sqliteStreamTime = try best(runs) { _ = try shell(sqlite3, [file, "SELECT id FROM rec_contacts WHERE \(condition) ORDER BY id"]) }
        guard Int(sqliteCount.trimmingCharacters(in: .whitespacesAndNewlines)) == heraldCount, streamed.value == heraldCount else {
            throw CLIError("results differ: Herald counted \(heraldCount) and streamed \(streamed.value), sqlite3 counted \(sqliteCount)")
        }

        var postgresLines = ""
        if let pg = onPostgres {
            let rate = Int(Double(total) / pg.herald), referenceRate = Int(Double(total) / pg.reference)
            postgresLines = "PostgreSQL import (the same): \(format(pg.herald)) s, \(rate) records/s; "
            postgresLines += "ratio to sqlite3 .import \(format(referenceSeconds / pg.herald))x\n"
            postgresLines += "psql \\copy (same columns, unique index on lower(email)): \(format(pg.reference)) s, "
            postgresLines += "\(referenceRate) records/s; ratio \(format(pg.reference / pg.herald))x\n"
            postgresLines += "psql \\copy into Herald's own contacts table (its \(pg.tableIndexes) indexes; owner and times "
            postgresLines += "by column defaults): \(format(pg.sameTable)) s, \(Int(Double(total) / pg.sameTable)) records/s; "
            postgresLines += "ratio \(format(pg.sameTable / pg.herald))x\n"
        }
        print("""
            Herald bench: \(total) contacts in \(file)
            import (CSV, batches of 2000, dedupe by email): \(format(importSeconds)) s, \(Int(Double(total) / importSeconds)) records/s
            sqlite3 .import (same columns, unique index on lower(email)): \(format(referenceSeconds)) s, \
            \(Int(Double(total) / referenceSeconds)) records/s; ratio \(format(referenceSeconds / importSeconds))x
            \(postgresLines)\
            view: country = Germany AND lead source in (Partner, Seminar) AND created within 90 days -> \(heraldCount) records
                                 Herald      sqlite3     ratio
            count              \(pad(countTime))  \(pad(sqliteCountTime))  \(format(countTime / sqliteCountTime))x
            stream all ids     \(pad(streamTime))  \(pad(sqliteStreamTime))  \(format(streamTime / sqliteStreamTime))x
            (best of \(runs) runs, in ms; sqlite3 times include starting the sqlite3 process)
            """)
    }

    /// The path of a reference tool, or an error that says how to install it.
    func tool(_ name: String, package: String) throws -> String {
        guard let path = ["/usr/bin/", "/usr/local/bin/"].map({ $0 + name }).first(where: FileManager.default.isExecutableFile) else {
            throw CLIError("\(name) is not installed (apt-get install \(package))")
        }
        return path
    }

    /// The PostgreSQL import's times, in seconds.
    struct PostgresFigures {
        /// Herald's importer.
        var herald: Double
        /// psql's `\copy` into a table of the CSV's columns with a unique index on the email.
        var reference: Double
        /// psql's `\copy` into a table made like Herald's contacts table, with all its indexes
        /// (`tableIndexes` of them): what the table alone costs, whoever fills it.
        var sameTable: Double
        var tableIndexes: Int
    }

    /// Imports `csv` into a new database on the PostgreSQL server at `url` as into SQLite, then
    /// copies it with psql's `\copy` into a plain table there (the reference) and into a copy of
    /// Herald's contacts table. The database is dropped afterwards.
    func importIntoPostgres(url: String, csv: String, total: Int, logger: Logger) async throws -> PostgresFigures {
        let psql = try tool("psql", package: "postgresql-client")
        let name = "herald_bench_\(ProcessInfo.processInfo.processIdentifier)"
        guard var components = URLComponents(string: url) else { throw CLIError("--postgres: cannot read \(url)") }
        components.path = "/" + name
        guard let benchURL = components.string else { throw CLIError("--postgres: cannot read \(url)") }
        _ = try shell(psql, [url, "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
        defer { _ = try? shell(psql, [url, "-c", "DROP DATABASE IF EXISTS \(name)"]) }

        let store = try await Store.open(.postgres(url: benchURL), logger: logger)
        let seconds: Double
        let ownerID: Int64
        do {
            let owner = try await store.users.create(email: "bench@example.com", name: "Bench", role: .admin, passwordHash: "-", timeZone: "UTC")
            ownerID = owner.id
            seconds = try await timedImport(csv, into: store, owner: owner.id, total: total)
            await store.close()
        } catch {
            await store.close()
            throw error
        }
        _ = try shell(psql, [benchURL, "-v", "ON_ERROR_STOP=1", "-c",
                             "CREATE TABLE reference (first_name TEXT, last_name TEXT, email TEXT, mailing_country TEXT, lead_source TEXT)",
                             "-c", "CREATE UNIQUE INDEX reference_email ON reference (lower(email))"])
        /// Seconds psql's `\copy` of the file into `target` took; every row must arrive.
        func timedCopy(into target: String) throws -> Double {
            let start = ContinuousClock.now
            let copied = try shell(psql, [benchURL, "-v", "ON_ERROR_STOP=1", "-c", "\\copy \(target) FROM '\(csv)' WITH (FORMAT csv, HEADER true)"])
            let seconds = (ContinuousClock.now - start).seconds
            guard copied.trimmingCharacters(in: .whitespacesAndNewlines) == "COPY \(total)" else {
                throw CLIError("psql copied \(copied) into \(target), not \(total) rows")
            }
            return seconds
        }
        let reference = try timedCopy(into: "reference")

        // Herald's table as it is (its columns, identity, and every index the list views use),
        // the values the importer adds (owner, creation and change times) as column defaults.
        let now = WallClock.epochSeconds()
        let indexes = try shell(psql, [benchURL, "-v", "ON_ERROR_STOP=1", "-At",
                                       "-c", "CREATE TABLE same_table (LIKE rec_contacts INCLUDING ALL)",
                                       "-c", "ALTER TABLE same_table ALTER f_owner SET DEFAULT \(ownerID), ALTER f_created_at SET DEFAULT \(now), "
                                           + "ALTER f_modified_at SET DEFAULT \(now)",
                                       "-c", "SELECT count(*) FROM pg_indexes WHERE tablename = 'same_table'"])
        let sameTable = try timedCopy(into: "same_table (f_first_name, f_last_name, f_email, f_mailing_country, f_lead_source)")
        let indexCount = indexes.split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
        return PostgresFigures(herald: seconds, reference: reference, sameTable: sameTable, tableIndexes: indexCount)
    }

    /// Imports `csv` into `store`'s contacts as a user's large import runs (batches, dedupe by
    /// email); its time in seconds.
    func timedImport(_ csv: String, into store: Store, owner: Int64, total: Int) async throws -> Double {
        let contacts = try await store.modules.named("contacts")
        var options = ImportOptions(owner: owner)
        options.atomic = false
        options.batchSize = 2_000
        guard let input = FileHandle(forReadingAtPath: csv) else { throw CLIError("cannot read \(csv)") }
        defer { try? input.close() }
        let start = ContinuousClock.now
        let report = try await store.importer.run(into: contacts, options: options, input: .reading(input))
        let seconds = (ContinuousClock.now - start).seconds
        guard report.created == total else {
            throw CLIError("\(store.database.kind) import created \(report.created) of \(total): \(report.errors.prefix(3))")
        }
        return seconds
    }

    func best(_ runs: Int, _ body: () async throws -> Void) async throws -> Double {
        var times: [Double] = []
        for _ in 0..<runs {
            let start = ContinuousClock.now
            try await body()
            times.append((ContinuousClock.now - start).seconds)
        }
        return times.min()!
    }

    func best(_ runs: Int, _ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for _ in 0..<runs {
            let start = ContinuousClock.now
            try body()
            times.append((ContinuousClock.now - start).seconds)
        }
        return times.min()!
    }

    func shell(_ tool: String, _ arguments: [String]) throws -> String {
        let result = try ChildProcess.run([tool] + arguments)
        guard result.status == 0 else { throw CLIError("\(tool) failed: \(result.stderr)") }
        return result.stdout
    }

    func format(_ x: Double) -> String { String(format: "%.2f", x) }
    func pad(_ seconds: Double) -> String { String(format: "%9.1f", seconds * 1000) }
}

/// The bench's CSV rows, made chunk by chunk as the importer pulls them.
final class GeneratedCSV: @unchecked Sendable {
    // Only `AsyncThrowingStream(unfolding:)` calls `next`, one call at a time: no concurrent access.
    let header: [UInt8]
    let chunks: Int
    let rowsPerChunk: Int
    let total: Int
    let countries: [String]
    let sources: [String]
    var produced = -1

    init(header: [UInt8], chunks: Int, rowsPerChunk: Int, total: Int, countries: [String], sources: [String]) {
        self.header = header
        self.chunks = chunks
        self.rowsPerChunk = rowsPerChunk
        self.total = total
        self.countries = countries
        self.sources = sources
    }

    func next() async throws -> [UInt8]? {
        defer { produced += 1 }
        if produced < 0 { return header }
        guard produced < chunks else { return nil }
        var text = ""
        text.reserveCapacity(rowsPerChunk * 64)
        let first = produced * rowsPerChunk
        for i in first..<min(first + rowsPerChunk, total) {
            text += "Person\(i % 997),Bench\(i),person\(i)@example.com,\(countries[i % countries.count]),\(sources[(i / 7) % sources.count])\n"
        }
        return Array(text.utf8)
    }
}

final class Counter: @unchecked Sendable {
    // Incremented from the database's row callback, which runs on one thread at a time.
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    func reset() { lock.lock(); count = 0; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
