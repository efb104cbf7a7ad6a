import Foundation
import HeraldCore
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct SessionTests {
    func cookie(_ response: TestResponse) -> String? {
        response.headers[values: .setCookie].first { $0.hasPrefix("herald_session=") }.map { String($0.split(separator: ";")[0]) }
    }

    func form(_ pairs: [(String, String)]) -> ByteBuffer {
        ByteBuffer(string: pairs.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&"))
    }

    @Test func loginFormsAndCSRF() async throws {
        try await WebFixture.with { f, client in
            let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let wrong = try await client.execute(uri: "/login", method: .post, headers: formType,
                                                 body: form([("email", f.admin.email), ("password", "nope")]))
            #expect(wrong.status == .unauthorized && wrong.text.contains("Wrong email or password"))
            let login = try await client.execute(uri: "/login", method: .post, headers: formType,
                                                 body: form([("email", f.admin.email.uppercased()), ("password", f.adminPassword), ("next", "//evil.example")]))
            #expect(login.status == .found && login.headers[.location] == "/")
            let setCookie = try #require(login.headers[values: .setCookie].first)
            #expect(setCookie.contains("HttpOnly") && setCookie.lowercased().contains("samesite=lax"))
            let session = try #require(cookie(login))
            var headers: HTTPFields = [.cookie: session]
            let list = try await client.execute(uri: "/m/contacts", method: .get, headers: headers)
            #expect(list.status == .ok && list.text.contains("New Contact"))
            let csrf = try #require(list.text.firstMatch(of: /name="_csrf" value="([^"]+)"/)?.1)
            headers[.contentType] = "application/x-www-form-urlencoded"
            let forged = try await client.execute(uri: "/m/contacts", method: .post, headers: headers, body: form([("last_name", "X")]))
            #expect(forged.status == .forbidden)
            let invalid = try await client.execute(uri: "/m/contacts", method: .post, headers: headers,
                                                   body: form([("_csrf", String(csrf)), ("last_name", "Lee"), ("email", "bad@"), ("email_opt_out", "false")]))
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.text.contains("is not a valid email address") && invalid.text.contains("value=\"Lee\""))
            let created = try await client.execute(uri: "/m/contacts", method: .post, headers: headers,
                                                   body: form([("_csrf", String(csrf)), ("last_name", "Lee"), ("email", "lee@example.com"),
                                                               ("email_opt_out", "false"), ("email_opt_out", "true")]))
            #expect(created.status == .found)
            let page = try await client.execute(uri: created.headers[.location]!, method: .get, headers: [.cookie: session])
            #expect(page.text.contains("lee@example.com") && page.text.contains("Yes"))
            // A session cookie alone cannot drive the JSON API to change things either.
            let apiForged = try await client.execute(uri: "/api/v1/modules/contacts/records", method: .post,
                                                     headers: [.cookie: session, .contentType: "application/json"], body: ByteBuffer(string: "{\"last_name\":\"X\"}"))
            #expect(apiForged.status == .forbidden)
            let logout = try await client.execute(uri: "/logout", method: .post, headers: headers, body: form([("_csrf", String(csrf))]))
            #expect(logout.status == .found)
            let after = try await client.execute(uri: "/m/contacts", method: .get, headers: [.cookie: session])
            #expect(after.status == .found, "the session is gone")
        }
    }
}
