import Foundation
import HeraldCore
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Testing

/// The import page's last step: one import a file, its report at an address of its own.
@Suite struct ImportPageTests {
    let accounts = AccountManagementTests()

    /// Uploads `csv` through the page's form; returns the address of its mapping page.
    func upload(_ csv: String, as who: (cookie: String, csrf: String), _ client: some TestClientProtocol) async throws -> String {
        let boundary = "----HeraldTest"
        var body = "--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(who.csrf)\r\n"
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        body += csv + "\r\n--\(boundary)--\r\n"
        let uploaded = try await client.execute(uri: "/m/contacts/import", method: .post,
                                                headers: [.cookie: who.cookie, .contentType: "multipart/form-data; boundary=\(boundary)"],
                                                body: ByteBuffer(string: body))
        return try #require(uploaded.headers[.location])
    }

    @Test func aSecondClickOrAReloadShowsTheImportThatRanAndImportsNothing() async throws {
        try await WebFixture.with { f, client in
            let admin = try await accounts.logIn(client, f.admin.email, f.adminPassword, page: "/m/contacts/import")
            let mapping = try await upload("Last Name,Email,Owner\nOnce,once@example.com,\(f.user.email)\n", as: admin, client)
            let page = try await client.execute(uri: mapping, method: .get, headers: [.cookie: admin.cookie])
            #expect(page.text.contains("An Owner column takes a user's email address or id"))
            let choices = [("map_0", "last_name"), ("map_1", "email"), ("map_2", "owner"), ("duplicates", "allow"), ("atomic", "true"), ("action", "import")]
            let first = try await accounts.post(client, mapping, admin, choices)
            #expect(first.status == .seeOther && first.headers[.location] == mapping + "/report")
            let report = try await client.execute(uri: mapping + "/report", method: .get, headers: [.cookie: admin.cookie])
            #expect(report.status == .ok && report.text.contains("the import is done"))
            // The same form again (a double click, the back button and Import): the report, not a second copy.
            let again = try await accounts.post(client, mapping, admin, choices)
            #expect(again.status == .seeOther && again.headers[.location] == mapping + "/report")
            let back = try await client.execute(uri: mapping, method: .get, headers: [.cookie: admin.cookie])
            #expect(back.status == .seeOther && back.headers[.location] == mapping + "/report")
            let contacts = try await f.store.modules.named("contacts")
            let rows = try await f.store.records.list(in: contacts, RecordQuery(search: "once@example.com"), scope: .all).records
            #expect(rows.count == 1 && rows.first?["owner"] == .reference(f.user.id))
            // Another user's session has no such import, nor its report.
            let user = try await accounts.logIn(client, f.user.email, "user-password-1")
            #expect(try await client.execute(uri: mapping + "/report", method: .get, headers: [.cookie: user.cookie]).status == .notFound)
        }
    }

    /// A user's import page offers the fields they may fill (not the owner, which only admins
    /// import); two columns of one name are mapped by the first only.
    @Test func aUsersPageOffersWhatTheyMayImport() async throws {
        try await WebFixture.with { f, client in
            let user = try await accounts.logIn(client, f.user.email, "user-password-1", page: "/m/contacts/import")
            let form = try await client.execute(uri: "/m/contacts/import", method: .get, headers: [.cookie: user.cookie]).text
            #expect(!form.contains("<code>owner</code>"))
            let mapping = try await upload("Last Name,Email,Email,Owner\nLee,a@example.com,b@example.com,\n", as: user, client)
            let page = try await client.execute(uri: mapping, method: .get, headers: [.cookie: user.cookie]).text
            #expect(!page.contains(#"value="owner""#), "only admins import the owner")
            #expect(page.components(separatedBy: #"<option value="email" selected>"#).count - 1 == 1, "the first Email column only")
        }
    }
}
