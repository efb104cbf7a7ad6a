import HeraldCore
@testable import HeraldStore
import SQLKit
import Testing

@Suite struct ModuleStoreTests {
    @Test(arguments: TestDatabase.kinds)
    func builtinModulesExist(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let modules = try await store.modules.all()
            #expect(modules.map(\.apiName) == ["leads", "contacts", "deals"])
            let contacts = try await store.modules.named("contacts")
            #expect(contacts.emailField?.apiName == "email")
            #expect(contacts.optOutField?.type == .boolean)
            #expect(try await store.modules.named("deals").field("contact")?.lookupModule == "contacts")
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func migratingTwiceChangesNothing(kind: DatabaseKind) async throws {
        let (location, cleanup) = try await TestDatabase.fresh(kind)
        let database = try await location.open(logger: TestDatabase.logger)
        // Two migrators at once: on PostgreSQL the advisory lock makes them take turns.
        async let first = Migrator(database: database, logger: TestDatabase.logger).migrate()
        async let second = Migrator(database: database, logger: TestDatabase.logger).migrate()
        let (a, b) = try await (first, second)
        #expect((a + b).sorted() == Migrations.all.map(\.version), "each migration applied once, by one of the two")
        #expect(try await Migrator(database: database, logger: TestDatabase.logger).migrate().isEmpty)
        await database.close()
        try await cleanup()
    }

    /// A database of another application (a mistyped path, the wrong name in a URL) is
    /// refused before anything of Herald's is added to it; an empty one is Herald's.
    @Test(arguments: TestDatabase.kinds)
    func anotherApplicationsDatabaseIsRefused(kind: DatabaseKind) async throws {
        let (location, cleanup) = try await TestDatabase.fresh(kind)
        let database = try await location.open(logger: TestDatabase.logger)
        try await database.transaction { db in try await db.raw("CREATE TABLE invoices (id BIGINT PRIMARY KEY)").run() }
        do {
            _ = try await Migrator(database: database, logger: TestDatabase.logger).migrate()
            Issue.record("another application's database was migrated")
        } catch let error as HeraldError {
            #expect(error.kind == .conflict && error.message.contains("tables of another application (invoices)"))
        }
        let tables: SQLQueryString = kind == .sqlite ? "SELECT name FROM sqlite_master WHERE type = 'table'"
            : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
        #expect(try await database.read { try await $0.raw(tables).all().map { try $0.decode(column: "name", as: String.self) } } == ["invoices"])
        await database.close()
        try await cleanup()
    }

    @Test(arguments: TestDatabase.kinds)
    func customModuleWithFields(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let module = try await store.modules.create(
                apiName: nil, singularLabel: "Event Guest", pluralLabel: "Event Guests", hasPeople: true,
                fields: [
                    Field(apiName: "table_no", label: "Table No", type: .number),
                    Field(apiName: "diet", label: "Diet", type: .picklist, picklistValues: ["Vegan", "Any"]),
                    Field(apiName: "guest_of", label: "Guest of", type: .lookup, lookupModule: "contacts"),
                ])
            #expect(module.apiName == "event_guests")
            #expect(module.emailField != nil && module.optOutField != nil)
            let admin = try await store.testAdmin()
            let changes = try RecordChanges.validate(
                ["email": .text("x@example.com"), "table_no": .text("4"), "diet": .text("vegan")], module: module, creating: true).get()
            let record = try await store.records.create(in: module, changes, owner: admin.id)
            #expect(record["diet"] == .text("Vegan"))
            let added = try await store.modules.addField(Field(apiName: "note", label: "Note", type: .longText), to: "event_guests")
            #expect(added.id > 0)
            let reloaded = try await store.records.find(in: try await store.modules.named("event_guests"), id: record.id, scope: .all)
            #expect(reloaded?["table_no"] == .number(4))
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func duplicateAndBadNamesAreRefused(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            await #expect(throws: HeraldError.self) {
                _ = try await store.modules.create(apiName: nil, singularLabel: "Contact", pluralLabel: "Contacts", hasPeople: false, fields: [])
            }
            do {
                _ = try await store.modules.create(apiName: "Robert'); DROP TABLE modules;--", singularLabel: "X", pluralLabel: "Xs", hasPeople: false,
                                                   fields: [Field(apiName: "a", label: "A", type: .text), Field(apiName: "a", label: "B", type: .text)])
                Issue.record("expected a refusal")
            } catch let error as HeraldError {
                #expect(error.kind == .invalid)
                #expect(error.problems.contains { $0.field == "api_name" })
                #expect(error.problems.contains { $0.field == "fields[1].api_name" })
            }
            // A label full of quotes and SQL is just a label.
            let m = try await store.modules.create(apiName: "quotes", singularLabel: "It's \"x\"; DROP TABLE users", pluralLabel: "O'Reillys",
                                                   hasPeople: false, fields: [])
            #expect(try await store.modules.named("quotes").pluralLabel == "O'Reillys")
            #expect(m.singularLabel.contains("DROP"))
            #expect(try await store.users.count() >= 0)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func fieldUsedByViewCannotBeDeleted(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            _ = try await store.modules.addField(Field(apiName: "tier", label: "Tier", type: .text), to: "contacts")
            let contacts = try await store.modules.named("contacts")
            _ = try await store.views.create(in: contacts, name: "Gold", criteria: .all([.condition(field: "tier", op: .equals, value: .string("gold"))]), by: nil)
            do {
                try await store.modules.deleteField("tier", from: "contacts")
                Issue.record("expected a conflict")
            } catch let error as HeraldError {
                #expect(error.kind == .conflict)
                #expect(error.message.contains("view 'Gold'"))
            }
            await #expect(throws: HeraldError.self) { try await store.modules.deleteField("email", from: "contacts") }
            let view = try await store.views.all(in: contacts)[0]
            try await store.views.delete(view.id, in: contacts)
            // A deal's template that reads it through its contact holds it too.
            let deals = try await store.modules.named("deals")
            let template = try await store.templates.create(in: deals, name: "Tiered", subject: "For {{contact.tier}} members",
                                                            html: "<p>x</p>", text: nil, by: nil)
            do {
                try await store.modules.deleteField("tier", from: "contacts")
                Issue.record("expected a conflict")
            } catch let error as HeraldError {
                #expect(error.kind == .conflict && error.message.contains("template 'Tiered' of Deals"), "\(error.message)")
            }
            try await store.templates.delete(template.id)
            try await store.modules.deleteField("tier", from: "contacts")
            #expect(try await store.modules.named("contacts").field("tier") == nil)
            // A deal's template is checked against its contact's fields when saved.
            await #expect(throws: HeraldError.self) {
                _ = try await store.templates.create(in: deals, name: "Gone", subject: "{{contact.tier}}", html: "<p>x</p>", text: nil, by: nil)
            }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func picklistAndLookupFieldsAreChecked(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            do {
                _ = try await store.modules.addField(Field(apiName: "size", label: "Size", type: .picklist, picklistValues: ["S", "s", ""]), to: "leads")
                Issue.record("expected a refusal")
            } catch let error as HeraldError {
                #expect(error.problems.map(\.field).sorted() == ["picklist_values[1]", "picklist_values[2]"])
            }
            await #expect(throws: HeraldError.self) {
                _ = try await store.modules.addField(Field(apiName: "x", label: "X", type: .lookup, lookupModule: "nothing"), to: "leads")
            }
            await #expect(throws: HeraldError.self) {
                _ = try await store.modules.addField(Field(apiName: "company2", label: "company", type: .text), to: "leads")
            }
        }
    }
}
