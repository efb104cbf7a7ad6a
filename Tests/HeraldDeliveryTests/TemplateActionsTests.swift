import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Testing

/// Saving templates: one way in for the editor and the API.
@Suite struct TemplateActionsTests {
    @Test(arguments: TestDatabase.kinds)
    func ownersAndAdminsChangeTemplatesCheckedOnSaveAndFoundInTheirModule(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let templates = TemplateActions(store: store)
            let contacts = try await store.modules.named("contacts")
            let deals = try await store.modules.named("deals")
            let admin = try await store.testAdmin()
            let uma = try await store.users.create(email: "uma@example.com", name: "Uma", role: .user, passwordHash: "x", timeZone: "UTC")
            let ian = try await store.users.create(email: "ian@example.com", name: "Ian", role: .user, passwordHash: "x", timeZone: "UTC")

            do {
                _ = try await templates.create(in: contacts, .init(name: "", subject: "", html: "<p>{{no_such_field}}</p>", text: nil), by: uma)
                Issue.record("a template without a name, a subject or a known field was saved")
            } catch let error as HeraldError {
                #expect(error.kind == .invalid)
                #expect(Set(error.problems.map(\.field)).isSuperset(of: ["name", "subject"]), "\(error.problems)")
            }

            let news = try await templates.create(in: contacts, .init(name: "News", subject: "Hi {{first_name}}", html: "<p>Hi</p>", text: nil),
                                                  by: uma)
            #expect(try await templates.list(in: contacts).map(\.name) == ["News"])
            #expect(try await templates.find(news.id, in: contacts).id == news.id)
            let elsewhere = await #expect(throws: HeraldError.self) { _ = try await templates.find(news.id, in: deals) }
            #expect(elsewhere?.kind == .notFound, "a template is found only in its own module")

            let changed = TemplateActions.Content(name: "News (2)", subject: "Hello", html: "<p>Hello</p>", text: nil)
            let refused = await #expect(throws: HeraldError.self) { _ = try await templates.update(news.id, changed, by: ian) }
            #expect(refused?.kind == .forbidden, "another user's template")
            await #expect(throws: HeraldError.self) { try await templates.delete(news.id, by: ian) }
            #expect(try await templates.update(news.id, changed, by: uma).name == "News (2)")
            #expect(try await templates.update(news.id, changed, by: admin).subject == "Hello", "an admin changes anyone's")
            try await templates.delete(news.id, by: uma)
            #expect(try await templates.list(in: contacts).isEmpty)
        }
    }
}
