import Foundation
import HeraldCore
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct SuppressionTests {
    @Test func importReadsCSVOrLinesAndReportsEveryBadLine() {
        let csv = SuppressionImport(text: "Name,Email\nAda,Ada@Example.org\nBob,bob@\nAda again,ada@example.org\n,\nCy,cy@example.org\n")
        #expect(csv.addresses == ["ada@example.org", "cy@example.org"])
        #expect(csv.repeated == 1)
        #expect(csv.problems.map(\.description) == ["line 3: 'bob@' is not a valid email address"])
        let lines = SuppressionImport(text: "x@example.com\r\n\r\ny@example.com\nnonsense\n")
        #expect(lines.addresses == ["x@example.com", "y@example.com"])
        #expect(lines.problems.map(\.description) == ["line 4: 'nonsense' is not a valid email address"])
        #expect(SuppressionImport(text: "a,\"b\n").problems.count == 1, "an unclosed quote is reported, not a crash")
        // Pasted without a header, every address on a line counts (the second of "a, b" was dropped).
        let pasted = SuppressionImport(text: "x4@example.com,x5@example.com\nAda,ada@example.org\nx6@example.com, bad@\nx7@example.com; x8@example.com\n")
        #expect(pasted.addresses == ["x4@example.com", "x5@example.com", "ada@example.org", "x6@example.com", "x7@example.com", "x8@example.com"])
        #expect(pasted.problems.map(\.description) == ["line 3: 'bad@' is not a valid email address"])
    }

    @Test func theListIsSearchedPagedAndImportedByAdminsAndAUserSeesTheirOwnPeople() async throws {
        try await WebFixture.with { f, client in
            let list = (1...150).map { "user\($0)@example.org" }.joined(separator: "\n") + "\nbroken\nUSER1@example.org\n"
            let refused = try await client.api(.post, "/api/v1/suppressions/import", token: f.userToken, raw: list, contentType: "text/plain")
            #expect(refused.status == .forbidden)
            let imported = try await client.api(.post, "/api/v1/suppressions/import?reason=old%20list", token: f.adminToken,
                                                raw: list, contentType: "text/csv")
            let report = try #require(imported.json?.objectValue)
            #expect(report["added"] == .number(150))
            #expect(report["repeated"] == .number(1))
            #expect(report["problems"]?.arrayValue?.count == 1)
            let again = try await client.api(.post, "/api/v1/suppressions/import", token: f.adminToken, raw: "user7@example.org\nnew@example.org",
                                             contentType: "text/plain")
            #expect(again.json?.objectValue?["added"] == .number(1))
            #expect(again.json?.objectValue?["already_suppressed"] == .number(1))

            let first = try #require(try await client.api(.get, "/api/v1/suppressions?limit=100", token: f.adminToken).json?.objectValue)
            #expect(first["total"] == .number(151))
            #expect(first["suppressions"]?.arrayValue?.count == 100)
            let after = try #require(first["next_after"]?.stringValue)
            let second = try #require(try await client.api(.get, "/api/v1/suppressions?limit=100&after=\(after)", token: f.adminToken).json?.objectValue)
            #expect(second["suppressions"]?.arrayValue?.count == 51)
            #expect(second["next_after"] == .null)
            let found = try #require(try await client.api(.get, "/api/v1/suppressions?q=user12", token: f.adminToken).json?.objectValue)
            #expect(found["total"] == .number(11), "user12 and user120–129")
            #expect(found["suppressions"]?.arrayValue?.first?.objectValue?["reason"] == .string("old list"))
            #expect(try await client.api(.get, "/api/v1/suppressions?q=%25", token: f.adminToken).json?.objectValue?["total"] == .number(0),
                    "a % is searched for, not a wildcard")
            #expect(try await client.api(.get, "/api/v1/suppressions?limit=0", token: f.userToken).problemFields == ["limit"])

            // A user sees the addresses of the records they own, in any case, and no one else's.
            let mine = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.userToken,
                                            json: ["last_name": "Seven", "email": "User7@Example.org"])
            #expect(mine.status == .created)
            let theirs = try #require(try await client.api(.get, "/api/v1/suppressions", token: f.userToken).json?.objectValue)
            #expect(theirs["total"] == .number(1))
            #expect(theirs["suppressions"]?.arrayValue?.compactMap { $0.objectValue?["address"]?.stringValue } == ["user7@example.org"])
            #expect(try await client.api(.get, "/api/v1/suppressions?q=user12", token: f.userToken).json?.objectValue?["total"] == .number(0))

            // The page: the same for each; only admins see the forms.
            let userPage = try await client.execute(uri: "/suppressions", method: .get, headers: [.authorization: "Bearer \(f.userToken)"])
            #expect(userPage.status == .ok)
            #expect(userPage.text.contains("user7@example.org") && !userPage.text.contains("new@example.org") && !userPage.text.contains("user12@"))
            #expect(!userPage.text.contains("suppression-import"))
            let adminPage = try await client.execute(uri: "/suppressions?q=new", method: .get, headers: [.authorization: "Bearer \(f.adminToken)"])
            #expect(adminPage.text.contains("suppression-import") && adminPage.text.contains("new@example.org"))
        }
    }

    /// The page's forms answer with a redirect to the list, which says what was done once:
    /// a reload shows the list, and posts nothing again.
    @Test func addingAndRemovingOnThePageRedirectsToTheList() async throws {
        try await WebFixture.with { f, client in
            let accounts = AccountManagementTests()
            let admin = try await accounts.logIn(client, f.admin.email, f.adminPassword, page: "/suppressions")
            let added = try await accounts.post(client, "/suppressions/add", admin, [("address", "gone@example.org"), ("reason", "asked")])
            #expect(added.status == .seeOther && added.headers[.location] == "/suppressions")
            // An error page between does not show it (nor use it up unsaved, to show it twice).
            let error = try await client.execute(uri: "/m/contacts/abc", method: .get, headers: [.cookie: admin.cookie])
            #expect(error.status == .badRequest && !error.text.contains("is suppressed"))
            #expect(try await accounts.followed(client, added, cookie: admin.cookie).text.contains("gone@example.org is suppressed."))
            let again = try await client.execute(uri: "/suppressions", method: .get, headers: [.cookie: admin.cookie])
            #expect(!again.text.contains("gone@example.org is suppressed."))
            let removed = try await accounts.post(client, "/suppressions/remove", admin, [("address", "gone@example.org")])
            let page = try await accounts.followed(client, removed, cookie: admin.cookie).text
            #expect(page.contains("gone@example.org may be sent to again."))
            let bad = try await accounts.post(client, "/suppressions/add", admin, [("address", "not an address")])
            #expect(bad.status == .unprocessableContent, "a refused form stays, with what was typed")
        }
    }
}
