import Foundation
import HeraldCore
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Testing

/// What the pages offer a user matches what the store lets them do, and page forms carry
/// their CSRF token in the body, never in the URL.
@Suite struct PageSafetyTests {
    let accounts = AccountManagementTests()

    @Test func pagesOfferChangesOnlyToTheMakerOrAnAdmin() async throws {
        try await WebFixture.with { f, client in
            let contacts = try await f.store.modules.named("contacts")
            let view = try await f.store.views.create(in: contacts, name: "Admin's view", criteria: .everything, by: f.admin.id)
            let template = try await f.store.templates.create(in: contacts, name: "Admin's", subject: "Hi", html: "<p>Hi</p>", text: nil, by: f.admin.id)
            _ = try await f.store.lists.create(in: contacts, name: "Admin list", by: f.admin.id)
            _ = try await f.store.lists.create(in: contacts, name: "User list", by: f.user.id)
            let user = try await accounts.logIn(client, f.user.email, "user-password-1")
            let admin = try await accounts.logIn(client, f.admin.email, f.adminPassword)
            func get(_ uri: String, _ who: (cookie: String, csrf: String)) async throws -> String {
                let r = try await client.execute(uri: uri, method: .get, headers: [.cookie: who.cookie])
                #expect(r.status == .ok, "\(uri)")
                return r.text
            }

            let userTemplate = try await get("/m/contacts/templates/\(template.id)", user)
            #expect(!userTemplate.contains("Delete template") && !userTemplate.contains("id=\"save-template\"") && userTemplate.contains("id=\"read-only\""))
            let adminTemplate = try await get("/m/contacts/templates/\(template.id)", admin)
            #expect(adminTemplate.contains("Delete template") && adminTemplate.contains("id=\"save-template\""))

            let userView = try await get("/m/contacts/views/\(view.id)/edit", user)
            #expect(!userView.contains("Delete view") && !userView.contains("Save view") && userView.contains("id=\"read-only\""))
            #expect(try await get("/m/contacts/views/\(view.id)/edit", admin).contains("Delete view"))

            let userList = try await get("/m/contacts?view=\(view.id)", user)
            #expect(!userList.contains("Edit view"))
            let addTo = try #require(userList.firstMatch(of: /<select name="list" aria-label="Static list">(.*?)<\/select>/)?.1)
            #expect(addTo.contains("User list") && !addTo.contains("Admin list"), "only lists the user may add to")
            #expect(try await get("/m/contacts?view=\(view.id)", admin).contains("Edit view"))
        }
    }

    /// Mustache opens a section for an empty string: what is not there is left out of the
    /// page (no pager link to "", no empty hidden fields or attributes, no note without text).
    @Test func whatIsNotThereIsLeftOutOfThePage() async throws {
        try await WebFixture.with { f, client in
            let contacts = try await f.store.modules.named("contacts")
            for i in 0..<3 {
                _ = try await f.store.records.create(in: contacts, RecordChanges([
                    "last_name": .text("Page \(i)"), "email": .text("p\(i)@example.com"), "owner": .reference(f.admin.id),
                ]), owner: f.admin.id)
            }
            let admin = try await accounts.logIn(client, f.admin.email, f.adminPassword)
            let list = try await client.execute(uri: "/m/contacts?per_page=2", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(!list.contains("href=\"\"") && !list.contains("rel=\"prev\""), "no Previous on the first page")
            #expect(list.contains("rel=\"next\""))
            #expect(list.contains(#"name="list_name" placeholder="New list name" aria-label="New list name" maxlength="100""#))
            #expect(list.contains("selected · 3 Contacts</span>"))
            let one = try await client.execute(uri: "/m/contacts?q=p1%40example.com", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(one.contains("selected · 1 Contact</span>"), "one is a Contact")
            #expect(!list.contains("name=\"sort\" value=\"\"") && !list.contains("name=\"columns\" value=\"\""))
            // A path id that is no number is said in plain words, not the framework's.
            let notAnID = try await client.execute(uri: "/m/contacts/abc", method: .get, headers: [.cookie: admin.cookie])
            #expect(notAnID.status == .badRequest && notAnID.text.contains("&#39;abc&#39; in the address is not an id (a whole number from 1)"))
            #expect(!notAnID.text.contains("Int64"))
            // An error page says each problem once (its message was the problems joined, then listed).
            let tooMany = try await client.execute(uri: "/m/contacts?per_page=999", method: .get, headers: [.cookie: admin.cookie])
            #expect(tooMany.status == .unprocessableContent && tooMany.text.components(separatedBy: "must be at most 200").count == 2)
            let form = try await client.execute(uri: "/m/contacts/new", method: .get, headers: [.cookie: admin.cookie]).text
            #expect(form.contains("name=\"email\"") && !form.contains("step=\"\""))
            #expect(form.contains("step=\"0.01\"") || !form.contains("type=\"number\""))
            // The Owner choice: an admin's is every user; a user's only themselves (picking another
            // led to a bare 403 with the typed record lost).
            func owners(_ page: String) -> [String] {
                guard let select = page.firstMatch(of: /<select[^>]*name="owner"[^>]*>(.*?)<\/select>/.dotMatchesNewlines()) else { return [] }
                return select.1.matches(of: /<option value="(\d+)"/).map { String($0.1) }
            }
            #expect(Set(owners(form)) == [String(f.admin.id), String(f.user.id)])
            let user = try await accounts.logIn(client, f.user.email, "user-password-1")
            let usersForm = try await client.execute(uri: "/m/contacts/new", method: .get, headers: [.cookie: user.cookie]).text
            #expect(owners(usersForm) == [String(f.user.id)])
        }
    }

    @Test func theUploadFormCarriesItsTokenInTheBody() async throws {
        try await WebFixture.with { f, client in
            let user = try await accounts.logIn(client, f.user.email, "user-password-1", page: "/m/contacts/import")
            let page = try await client.execute(uri: "/m/contacts/import", method: .get, headers: [.cookie: user.cookie])
            #expect(!page.text.contains("_csrf="), "no token in a URL")
            let boundary = "----HeraldTest"
            func upload(_ csrf: String?, query: String = "") async throws -> TestResponse {
                var body = ""
                if let csrf { body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(csrf)\r\n" }
                body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\nContent-Type: text/csv\r\n\r\nLast Name\nLee\n\r\n--\(boundary)--\r\n"
                return try await client.execute(uri: "/m/contacts/import" + query, method: .post,
                                                headers: [.cookie: user.cookie, .contentType: "multipart/form-data; boundary=\(boundary)"],
                                                body: ByteBuffer(string: body))
            }
            let folder = f.uploadsFolder
            let before = Set((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            #expect(try await upload(nil).status == .forbidden)
            #expect(try await upload("wrong").status == .forbidden)
            #expect(try await upload(nil, query: "?_csrf=\(user.csrf)").status == .forbidden, "a token in the URL is not taken")
            let after = Set((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            #expect(after.subtracting(before).filter { $0.hasPrefix("\(f.user.id)-") }.isEmpty, "a refused upload stores nothing")
            let good = try await upload(user.csrf)
            #expect(good.status == .seeOther && good.headers[.location]?.hasPrefix("/m/contacts/import/") == true)

            // A multipart body is no way around the token on any other route, read or not.
            let token = try #require(try await f.store.tokens.all(for: f.user.id).first)
            for uri in ["/account/tokens/\(token.id)/revoke", "/api/v1/tokens/\(token.id)", "/m/contacts/import/x"] {
                let forged = try await client.execute(uri: uri, method: uri.hasPrefix("/api/") ? .delete : .post,
                                                      headers: [.cookie: user.cookie, .contentType: "multipart/form-data; boundary=\(boundary)"],
                                                      body: ByteBuffer(string: "--\(boundary)--\r\n"))
                #expect(forged.status == .forbidden, "\(uri)")
            }
            #expect(try await f.store.tokens.all(for: f.user.id).first?.revokedAt == nil)
            // Nor does a bearer token make tokens through the page.
            let viaPage = try await client.execute(uri: "/account/tokens", method: .post,
                                                   headers: [.authorization: "Bearer \(f.userToken)", .contentType: "application/x-www-form-urlencoded"],
                                                   body: ByteBuffer(string: "name=offspring"))
            #expect(viaPage.status == .forbidden)

            // Form routes refuse multipart bodies rather than read them unchecked (here with a
            // bearer token, which skips the CSRF check; a session gets 403 above already).
            let multipartForm = try await client.execute(uri: "/m/contacts", method: .post,
                                                         headers: [.authorization: "Bearer \(f.userToken)", .contentType: "multipart/form-data; boundary=\(boundary)"],
                                                         body: ByteBuffer(string: "--\(boundary)\r\nContent-Disposition: form-data; name=\"last_name\"\r\n\r\nx\r\n--\(boundary)--\r\n"))
            #expect(multipartForm.status == .unsupportedMediaType)
            #expect(try await f.store.records.count(in: try await f.store.modules.named("contacts"), criteria: .all([]), scope: .all) == 0,
                    "nothing was made (the upload above awaits its mapping)")
        }
    }

    @Test func anAPIImportIsSpooledToDiskAndBoundedInBytes() async throws {
        let uploads = ImportUploads(folder: FileManager.default.temporaryDirectory.appendingPathComponent("herald-spool-\(UUID().uuidString)").path)
        defer { try? FileManager.default.removeItem(atPath: uploads.folder) }
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: uploads.folder)) ?? [])
        await #expect(throws: HTTPError.self) {
            _ = try await uploads.spool(RequestBody(buffer: ByteBuffer(string: "Last Name\nLee\n")), user: 77, limit: 5)
        }
        let path = try await uploads.spool(RequestBody(buffer: ByteBuffer(string: "Last Name\nLee\n")), user: 77, limit: 1024)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "Last Name\nLee\n")
        uploads.remove(path)
        let after = Set((try? FileManager.default.contentsOfDirectory(atPath: uploads.folder)) ?? [])
        #expect(after.subtracting(before).isEmpty, "nothing is left behind")

        try await WebFixture.with { f, client in
            let imported = try await client.api(.post, "/api/v1/modules/contacts/import?duplicates=allow", token: f.userToken, raw: "Last Name\nLee\n", contentType: "text/csv")
            #expect(imported.status == .ok && imported.json?.objectValue?["created"] == .number(1))
            let left = (try? FileManager.default.contentsOfDirectory(atPath: f.uploadsFolder)) ?? []
            #expect(left.isEmpty, "the spooled file is removed")
        }
    }
}
