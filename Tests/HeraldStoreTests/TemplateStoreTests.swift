import HeraldCore
import HeraldStore
import Testing

@Suite struct TemplateStoreTests {
    @Test(arguments: TestDatabase.kinds)
    func templatesAreCheckedAndKeptPerModule(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let contacts = try await store.modules.named("contacts")
            let leads = try await store.modules.named("leads")
            let admin = try await store.testAdmin()
            let made = try await store.templates.create(in: contacts, name: " Welcome ", subject: "Hi {{first_name | \"there\"}}",
                                                        html: "<p>Hello {{last_name}}</p>", text: "  ", by: admin.id)
            #expect(made.name == "Welcome" && made.text == nil && made.module == "contacts")
            #expect(try await store.templates.find(made.id) == made)
            _ = try await store.templates.create(in: leads, name: "Welcome", subject: "s", html: "{{company}}", text: nil, by: nil)
            #expect(try await store.templates.all(in: contacts).map(\.name) == ["Welcome"])

            // A field of another module is unknown here; every problem is listed with its place.
            let bad = await #expect(throws: HeraldError.self) {
                _ = try await store.templates.create(in: contacts, name: "", subject: "", html: "{{company}}", text: nil, by: nil)
            }
            #expect(bad?.kind == .invalid)
            #expect(bad?.problems.map(\.field) == ["name", "subject"])
            let unknown = await #expect(throws: HeraldError.self) {
                _ = try await store.templates.create(in: contacts, name: "X", subject: "s", html: "a\n{{company}}", text: nil, by: nil)
            }
            #expect(unknown?.problems.first?.description.hasPrefix("html: line 2, column 1: unknown merge field 'company'") == true)
            let clash = await #expect(throws: HeraldError.self) {
                _ = try await store.templates.create(in: contacts, name: "welcome", subject: "s", html: "h", text: nil, by: nil)
            }
            #expect(clash?.kind == .conflict)

            let updated = try await store.templates.update(made.id, name: "Welcome 2", subject: "New", html: "<p>x</p>", text: "x")
            #expect(updated.name == "Welcome 2" && updated.text == "x" && updated.modifiedAt >= made.modifiedAt)
            await #expect(throws: HeraldError.self) {
                _ = try await store.templates.update(made.id, name: "W", subject: "s", html: "{{#title}}", text: nil)
            }
            try await store.templates.delete(made.id)
            let gone = await #expect(throws: HeraldError.self) { _ = try await store.templates.find(made.id) }
            #expect(gone?.kind == .notFound)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func templatesGoWithTheirModule(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let module = try await store.modules.create(apiName: nil, singularLabel: "Guest", pluralLabel: "Guests", hasPeople: true, fields: [])
            let t = try await store.templates.create(in: module, name: "T", subject: "s", html: "{{email}}", text: nil, by: nil)
            try await store.modules.delete(module.apiName)
            await #expect(throws: HeraldError.self) { _ = try await store.templates.find(t.id) }
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func sendersHaveOneAddressEach(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let news = try await store.senders.create(email: " News@Example.com ", name: "Example News", replyTo: "")
            #expect(news.email == "News@Example.com" && news.replyTo == nil)
            let clash = await #expect(throws: HeraldError.self) {
                _ = try await store.senders.create(email: "news@example.COM", name: "Other", replyTo: nil)
            }
            #expect(clash?.kind == .conflict)
            let bad = await #expect(throws: HeraldError.self) {
                _ = try await store.senders.create(email: "not-an-email", name: "A\nB", replyTo: "nope")
            }
            #expect(bad?.problems.map(\.field) == ["email", "name", "reply_to"])
            let sales = try await store.senders.create(email: "sales@example.com", name: "Sales", replyTo: "team@example.com")
            #expect(try await store.senders.all().map(\.id) == [news.id, sales.id])
            let renamed = try await store.senders.update(sales.id, email: "sales@example.com", name: "Sales Team", replyTo: nil)
            #expect(renamed.name == "Sales Team" && renamed.replyTo == nil)
            await #expect(throws: HeraldError.self) {
                _ = try await store.senders.update(sales.id, email: "NEWS@example.com", name: "x", replyTo: nil)
            }
            try await store.senders.delete(news.id)
            #expect(try await store.senders.all().map(\.email) == ["sales@example.com"])
            await #expect(throws: HeraldError.self) { try await store.senders.delete(news.id) }
        }
    }
}

@Suite struct TemplateFieldUsageTests {
    @Test(arguments: TestDatabase.kinds)
    func aFieldInUseByATemplateIsNotDeleted(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            _ = try await store.modules.addField(Field(apiName: "nickname", label: "Nickname", type: .text), to: "contacts")
            let contacts = try await store.modules.named("contacts")
            _ = try await store.templates.create(in: contacts, name: "Nick", subject: "Hi {{nickname | \"you\"}}", html: "h", text: nil, by: nil)
            let refused = await #expect(throws: HeraldError.self) { try await store.modules.deleteField("nickname", from: "contacts") }
            #expect(refused?.kind == .conflict && refused?.message.contains("template 'Nick'") == true)
        }
    }
}
