import Foundation
import HeraldCore
import HeraldStore
import Testing

@Suite struct ImporterTests {
    static func chunks(_ text: String, size: Int = 7) -> ByteChunks {
        // Small chunks, so that rows and multi-byte characters straddle chunk borders.
        chunks(Array(text.utf8), size: size)
    }

    static func chunks(_ bytes: [UInt8], size: Int = 7) -> ByteChunks {
        ByteChunks { continuation in
            for start in stride(from: 0, to: bytes.count, by: size) {
                continuation.yield(Array(bytes[start..<min(start + size, bytes.count)]))
            }
            continuation.finish()
        }
    }

    static let good = """
        First Name,Last Name,Email,Mailing Country
        Zoë,Ångström,zoe@example.com,Sweden
        "Smith, Jr.","O""Hara",ohara@example.com,"Ireland"
        Ann,Lee,ANN@example.com,
        """

    @Test(arguments: TestDatabase.kinds)
    func importsByLabelAndDedupes(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            var options = ImportOptions(owner: admin.id)
            // Rows of empty cells, as a spreadsheet's export ends, are blank lines (they failed the import).
            let report = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(ImporterTests.good + "\n,,,\n , ,,\n"))
            #expect(report.created == 3 && report.failed == 0 && report.committed && report.rowsRead == 3)
            let all = try await store.records.list(in: contacts, RecordQuery(sort: "last_name"), scope: .all).records
            #expect(all.map { $0["last_name"]!.text } == ["Lee", "O\"Hara", "Ångström"])
            #expect(all[1]["first_name"] == .text("Smith, Jr."))
            // Again, with one existing address in another case: skipped, or updated.
            let again = "Last Name,Email,Title\nLee,ann@EXAMPLE.com,CEO\nNew,new@example.com,CTO\n"
            options.mapping = ["Last Name": "last_name", "Email": "email", "Title": "title"]
            let skip = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(again))
            #expect(skip.skipped == 1 && skip.created == 1)
            let leeID = all[0].id
            #expect(skip.errors.map { "\($0.line) \($0.field): \($0.reason)" } == ["2 email: contact \(leeID) has this address; skipped"],
                    "a skipped row is listed with its line")
            options.duplicates = .update
            let update = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(again))
            #expect(update.updated == 2 && update.created == 0)
            let lee = try await store.records.list(in: contacts, RecordQuery(search: "ann@"), scope: .all).records
            #expect(lee.first?["title"] == .text("CEO"))
        }
    }

    /// Batches are written while the next ones are read (atomic=false): the report still
    /// counts every row once and lists its problems in file order, those found reading (a bad
    /// address) and those found writing (an address of an earlier row, in this batch or one
    /// already written) alike, the first ``ImportReport/maxErrors`` of them; and so does an
    /// all-or-nothing import.
    @Test(arguments: TestDatabase.kinds, [false, true])
    func batchesWrittenWhileReadingReportInFileOrder(kind: DatabaseKind, atomic: Bool) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            var options = ImportOptions(owner: try await store.testAdmin().id)
            options.batchSize = 7
            options.atomic = atomic
            var csv = "Last Name,Email\n"
            var expected: [Int] = []
            for i in 0..<3_000 {
                let line = i + 2
                switch i % 5 {
                case 1: csv += "Bad,not-an-address-\(i)\n"; expected.append(line)
                case 3: csv += "Again,person\(i - 3)@example.com\n"; expected.append(line)
                default: csv += "Person,person\(i)@example.com\n"
                }
            }
            let report = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv, size: 4_096))
            #expect(report.rowsRead == 3_000)
            #expect(report.failed == 600 && report.skipped == 600)
            #expect(report.created == (atomic ? 0 : 1_800), "an all-or-nothing import with bad rows writes nothing")
            #expect(report.errors.map(\.line) == Array(expected.prefix(ImportReport.maxErrors)))
            #expect(report.errors.count == ImportReport.maxErrors)
        }
    }

    /// Every kind of value goes in as it was read, through SQLite's multi-row statements as
    /// through PostgreSQL's COPY: numbers, amounts, dates, times, yes/no, text with quotes.
    @Test(arguments: TestDatabase.kinds)
    func everyKindOfValueArrivesAsParsed(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            for field in [Field(apiName: "score", label: "Score", type: .number), Field(apiName: "budget", label: "Budget", type: .currency),
                          Field(apiName: "met_on", label: "Met On", type: .date), Field(apiName: "called_at", label: "Called At", type: .datetime),
                          Field(apiName: "vip", label: "VIP", type: .boolean)] {
                _ = try await store.modules.addField(field, to: "contacts")
            }
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let csv = """
                Last Name,Email,Score,Budget,Met On,Called At,VIP
                "Quote ""Q"" \\ Back",q@example.org,2.5,1234.56,2026-03-01,2026-03-01T10:30:00Z,yes
                Small,s@example.org,0.00001,0,1999-12-31,,no
                Empty,e@example.org,,,,,
                """
            var options = ImportOptions(owner: admin.id)
            options.atomic = false
            let report = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv))
            #expect(report.created == 3 && report.failed == 0, "\(report.errors)")
            let rows = try await store.records.list(in: contacts, RecordQuery(sort: "email"), scope: .all).records
            #expect(rows.map { $0["last_name"]?.text } == ["Empty", "Quote \"Q\" \\ Back", "Small"])
            let q = rows[1], small = rows[2], empty = rows[0]
            #expect(q["score"] == .number(2.5) && small["score"] == .number(0.00001) && empty["score"] == nil)
            #expect(q["budget"] == .currency(123_456) && small["budget"] == .currency(0))
            #expect(q["met_on"] == .date(LocalDate(year: 2026, month: 3, day: 1)!) && small["met_on"] == .date(LocalDate(year: 1999, month: 12, day: 31)!))
            #expect(q["called_at"] == .datetime(1_772_361_000) && small["called_at"] == nil)
            #expect(q["vip"] == .bool(true) && small["vip"] == .bool(false) && empty["vip"] == nil)
            #expect(q["owner"] == .reference(admin.id))
        }
    }

    /// On PostgreSQL a large import leaves the table analyzed, so that a mass email sent
    /// straight after finds its records by index, not by reading the table for each batch;
    /// and the records of a batch come back once each, in id order, within the scope.
    @Test func aLargeImportLeavesPostgresStatisticsAndBatchesReadByID() async throws {
        guard TestDatabase.kinds.contains(.postgres) else { return }
        try await TestDatabase.withStore(.postgres) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let csv = "Last Name,Email\n" + (1...1_500).map { "P\($0),p\($0)@example.org" }.joined(separator: "\n")
            var options = ImportOptions(owner: admin.id)
            options.atomic = false
            let report = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv, size: 4096))
            #expect(report.created == 1_500)
            let tuples = try await store.database.read { db in
                try await db.raw("SELECT reltuples::bigint AS n FROM pg_class WHERE relname = \(bind: contacts.table)").first()!
                    .decode(column: "n", as: Int64.self)
            }
            #expect(tuples == 1_500, "ANALYZE ran: the planner knows the table's size")
            let ids = try await store.records.list(in: contacts, RecordQuery(limit: 10), scope: .all).records.map(\.id)
            let found = try await store.records.find(in: contacts, ids: [ids[3], ids[1], ids[3], ids[7]], scope: .all)
            #expect(found.map(\.id) == [ids[1], ids[3], ids[7]])
            #expect(try await store.records.find(in: contacts, ids: [ids[1]], scope: .ownedBy(admin.id + 1)).isEmpty)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func badRowsAreReportedAndNothingIsHalfWritten(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let csv = "Last Name,Email,Email Opt Out\nGood,good@example.com,no\n,bad-email,maybe\nRagged,r@example.com\nFine,fine@example.com,yes\n"
            var options = ImportOptions(owner: admin.id)
            options.dryRun = true
            let dry = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv))
            #expect(dry.failed == 2 && dry.created == 2 && !dry.committed)
            #expect(dry.errors.map(\.line) == [3, 3, 3, 4])
            #expect(dry.errors.map(\.field) == ["last_name", "email", "email_opt_out", ""], "in the file's column order")
            #expect(try await store.records.count(in: contacts, criteria: .all([]), scope: .all) == 0)
            options.dryRun = false
            let atomic = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv))
            #expect(!atomic.committed && atomic.created == 0)
            #expect(try await store.records.count(in: contacts, criteria: .all([]), scope: .all) == 0)
            options.atomic = false
            options.batchSize = 1
            let batched = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv))
            #expect(batched.committed && batched.created == 2 && batched.failed == 2)
            #expect(try await store.records.count(in: contacts, criteria: .all([]), scope: .all) == 2)
        }
    }

    /// A row that fails on a reference does not claim its address: the next row with the
    /// same one is imported, not skipped as its duplicate; and an update whose owner names
    /// nobody fails alone instead of stopping the import. With a reference column mapped the
    /// writer, not the reader, checks the file's duplicates: a row repeating an imported
    /// row's address is still skipped and said to be one.
    @Test(arguments: TestDatabase.kinds)
    func aRowThatFailsOnAReferenceClaimsNoAddress(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            _ = try await store.records.create(in: contacts, RecordChanges(["last_name": .text("Old"), "email": .text("old@example.com")]),
                                               owner: admin.id)
            let csv = "Last Name,Email,Owner\nFirst,same@example.com,999999\nSecond,same@example.com,\(admin.id)\n"
                + "Renamed,old@example.com,999999\nThird,third@example.com,\(admin.id)\nAgain,THIRD@example.com,\(admin.id)\n"
            for batchSize in [10, 1] {
                var options = ImportOptions(owner: admin.id)
                options.atomic = false
                options.batchSize = batchSize
                options.duplicates = .update
                options.dryRun = batchSize == 10
                let report = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv))
                #expect(report.failed == 2 && report.created == 2 && report.updated == 0 && report.skipped == 1, "batches of \(batchSize)")
                #expect(report.errors.map(\.line) == [2, 4, 6] && report.errors.map(\.field) == ["owner", "owner", "email"], "batches of \(batchSize)")
            }
            let emails = try await store.records.list(in: contacts, RecordQuery(), scope: .all).records.compactMap { $0["email"]?.text }
            #expect(emails.sorted() == ["old@example.com", "same@example.com", "third@example.com"])
        }
    }

    /// A spreadsheet of owners names them by address; an empty Owner cell keeps the importer;
    /// a name twice in the header is in the way only of a column that is imported.
    @Test(arguments: TestDatabase.kinds)
    func ownersByAddressAndTwiceNamedColumnsLeftOut(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let ann = try await store.users.create(email: "Ann@Example.com", name: "Ann", role: .user, passwordHash: "x", timeZone: "UTC")
            let csv = "Last Name,Email,Owner,Notes,Notes\nA,a@example.com, ann@example.COM ,x,y\nB,b@example.com,,x,y\n"
                + "C,c@example.com,\(ann.id),x,y\nD,d@example.com,nobody@example.com,x,y\nE,e@example.com,Ann,x,y\n"
            var options = ImportOptions(owner: admin.id)
            options.atomic = false
            options.mapping = ["Last Name": "last_name", "Email": "email", "Owner": "owner"]
            let report = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv))
            #expect(report.created == 3 && report.failed == 2, "\(report.errors)")
            #expect(report.errors.map(\.line) == [5, 6] && report.errors.first?.field == "owner")
            #expect(report.errors.map(\.reason) == ["no user has the address 'nobody@example.com'", "'Ann' is not a user's email address or id"])
            let rows = try await store.records.list(in: contacts, RecordQuery(sort: "email"), scope: .all).records
            #expect(rows.map { $0["owner"] } == [.reference(ann.id), .reference(admin.id), .reference(ann.id)])
            // A deactivated user is given no new records, by address or by id.
            let bob = try await store.users.create(email: "bob@example.com", name: "Bob", role: .user, passwordHash: "x", timeZone: "UTC")
            _ = try await store.users.change(bob.id, UserChange(isActive: false), by: admin)
            let toBob = "Last Name,Email,Owner\nF,f@example.com,bob@example.com\nG,g@example.com,\(bob.id)\n"
            let refused = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(toBob))
            #expect(refused.created == 0 && refused.errors.map(\.reason) == [String](repeating: "user \(bob.id) is deactivated; choose an active user", count: 2))
            // An update whose Owner cell is empty keeps the record's owner.
            options.duplicates = .update
            let update = "Last Name,Email,Owner\nA2,a@example.com,\n"
            #expect(try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(update)).updated == 1)
            let a = try await store.records.list(in: contacts, RecordQuery(search: "a@example.com"), scope: .all).records
            #expect(a.map { $0["last_name"] } == [.text("A2")] && a.map { $0["owner"] } == [.reference(ann.id)])
            // Imported, the twice-named column is still ambiguous.
            options.mapping["Notes"] = "last_name"
            options.mapping["Last Name"] = nil
            await #expect(throws: HeraldError.self) {
                _ = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv))
            }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func anAllOrNothingImportIsBoundedInRows(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let csv = "Last Name\n" + (1...5).map { "P\($0)\n" }.joined()
            var options = ImportOptions(owner: admin.id)
            options.atomicRowLimit = 4
            options.duplicates = .allow
            let refused = await #expect(throws: HeraldError.self) { _ = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv)) }
            #expect(refused?.problems.map(\.field) == ["atomic"])
            #expect(try await store.records.count(in: contacts, criteria: .all([]), scope: .all) == 0, "rolled back")
            options.dryRun = true
            #expect(try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv)).created == 5, "a dry run writes nothing, so it has no bound")
            options.dryRun = false
            options.atomic = false
            #expect(try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv)).created == 5)
            options.atomic = true
            options.atomicRowLimit = 5
            #expect(try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(csv)).committed)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func wrongHeaderAndEncodingAreRefused(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let admin = try await store.testAdmin()
            let options = ImportOptions(owner: admin.id)
            do {
                _ = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks("Surname,Email,Email\nx,y,z\n"))
                Issue.record("expected a refusal")
            } catch let error as HeraldError {
                #expect(error.problems.contains { $0.reason.contains("'Surname' matches no field") })
                #expect(error.problems.contains { $0.reason.contains("appears twice") })
                #expect(error.problems.contains { $0.reason.contains("required field 'last_name'") })
            }
            var latin1 = Array("Last Name,Email\nM".utf8)
            latin1 += [0xFC] + Array("ller,m@example.com\n".utf8)  // "Müller" in Latin-1
            let report = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(latin1))
            #expect(report.failed == 1 && report.errors.first?.reason.contains("UTF-8") == true)
            await #expect(throws: HeraldError.self) {
                _ = try await store.importer.run(into: contacts, options: options, input: ImporterTests.chunks(""))
            }
        }
    }
}
