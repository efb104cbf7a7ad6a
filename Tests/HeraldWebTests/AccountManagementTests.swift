import Foundation
import HeraldCore
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import SQLKit
import Testing

/// Users an admin manages (role, deactivation, password, hand-over) and the sessions and
/// tokens that a change takes away; each refused path beside the allowed one.
@Suite struct AccountManagementTests {
    let session = SessionTests()

    /// Logs in through the form and returns the session cookie and the CSRF token of `page`.
    func logIn(_ client: some TestClientProtocol, _ email: String, _ password: String, page: String = "/account") async throws -> (cookie: String, csrf: String) {
        let login = try await session.postLogin(client, [("email", email), ("password", password)])
        let cookie = try #require(session.cookie(login), "login as \(email): \(login.status)")
        let shown = try await client.execute(uri: page, method: .get, headers: [.cookie: cookie])
        let csrf = try #require(shown.text.firstMatch(of: /name="_csrf" value="([^"]+)"/)?.1)
        return (cookie, String(csrf))
    }

    /// The page a form's 303 leads to, as the browser gets it (in the session the answer set,
    /// if it began one); `response` itself when it is no redirect.
    func followed(_ client: some TestClientProtocol, _ response: TestResponse, cookie: String) async throws -> TestResponse {
        guard response.status == .seeOther, let location = response.headers[.location] else { return response }
        return try await client.execute(uri: location, method: .get, headers: [.cookie: session.cookie(response) ?? cookie])
    }

    func post(_ client: some TestClientProtocol, _ uri: String, _ who: (cookie: String, csrf: String), _ pairs: [(String, String)]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: [.cookie: who.cookie, .contentType: "application/x-www-form-urlencoded"],
                                 body: session.form([("_csrf", who.csrf)] + pairs))
    }

    func isLoggedIn(_ client: some TestClientProtocol, _ cookie: String) async throws -> Bool {
        try await client.execute(uri: "/account", method: .get, headers: [.cookie: cookie]).status == .ok
    }

    @Test func onlyAdminsManageUsers() async throws {
        try await WebFixture.with { f, client in
            let uid = f.user.id, aid = f.admin.id
            for (method, uri, json) in [(HTTPRequest.Method.get, "/api/v1/users/\(aid)", nil), (.patch, "/api/v1/users/\(aid)", ["role": "user"] as JSONValue),
                                        (.patch, "/api/v1/users/\(uid)", ["role": "admin"]), (.post, "/api/v1/users/\(aid)/password", ["password": "take-over-123"]),
                                        (.post, "/api/v1/users/\(aid)/hand-over", ["to_user_id": .number(Double(uid))])] {
                let r = try await client.api(method, uri, token: f.userToken, json: json)
                #expect(r.status == .forbidden, "\(method) \(uri)")
            }
            #expect(try await f.store.users.find(uid)?.role == .user)
            #expect(try await f.store.users.find(aid)?.isAdmin == true)
            let user = try await logIn(client, f.user.email, "user-password-1")
            #expect(try await client.execute(uri: "/account/users/\(aid)", method: .get, headers: [.cookie: user.cookie]).status == .forbidden)
            #expect(try await post(client, "/account/users/\(uid)", user, [("role", "admin")]).status == .forbidden)
            #expect(try await f.store.users.find(uid)?.role == .user)
            let page = try await client.execute(uri: "/account", method: .get, headers: [.cookie: user.cookie])
            #expect(!page.text.contains("/account/users/"), "users see no user list")

            // The admin's way: the page, then the API.
            let admin = try await logIn(client, f.admin.email, f.adminPassword)
            let shown = try await client.execute(uri: "/account/users/\(uid)", method: .get, headers: [.cookie: admin.cookie])
            #expect(shown.status == .ok && shown.text.contains("Plain User") && shown.text.contains("owns nothing"))
            let saved = try await post(client, "/account/users/\(uid)", admin, [("name", "Plain Person"), ("time_zone", "Asia/Tokyo"), ("role", "user"), ("is_active", "yes")])
            #expect(saved.status == .seeOther && saved.headers[.location] == "/account/users/\(uid)")
            let savedPage = try await followed(client, saved, cookie: admin.cookie)
            #expect(savedPage.text.contains("Saved Plain Person"))
            let reloaded = try await client.execute(uri: "/account/users/\(uid)", method: .get, headers: [.cookie: admin.cookie])
            #expect(reloaded.status == .ok && !reloaded.text.contains("Saved Plain Person"), "said once, not at each reload")
            // Every problem at once, with what was typed; a choice the form never offers changes nothing.
            let wrong = try await post(client, "/account/users/\(uid)", admin, [("name", " "), ("time_zone", "Bad/Zone"), ("role", "god"), ("is_active", "maybe")])
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.text.components(separatedBy: #"<p class="field-error">"#).count - 1 == 4, "name, zone, role and activity")
            #expect(wrong.text.contains("choose admin or user") && wrong.text.contains("choose active or deactivated")
                    && wrong.text.contains("is not a time zone name") && wrong.text.contains(#"value="Bad/Zone""#))
            #expect(try await f.store.users.find(uid)?.isActive == true)
            let badZone = try await post(client, "/account/users/\(uid)", admin, [("time_zone", "Mars/Base")])
            #expect(badZone.status == .unprocessableContent && badZone.text.contains("is not a time zone name"))
            let promoted = try await client.api(.patch, "/api/v1/users/\(uid)", token: f.adminToken, json: ["role": "admin"])
            #expect(promoted.status == .ok && promoted.json?.objectValue?["role"]?.stringValue == "admin")
            let unknownField = try await client.api(.patch, "/api/v1/users/\(uid)", token: f.adminToken, json: ["password_hash": "x"])
            #expect(unknownField.status == .unprocessableContent)
            #expect(try await client.api(.get, "/api/v1/users/999", token: f.adminToken).status == .notFound)
        }
    }

    @Test func theLastActiveAdminStaysAndNobodyDeactivatesThemselves() async throws {
        try await WebFixture.with { f, client in
            let selfOff = try await client.api(.patch, "/api/v1/users/\(f.admin.id)", token: f.adminToken, json: ["is_active": false])
            #expect(selfOff.status == .unprocessableContent && selfOff.problemFields == ["is_active"])
            let demote = try await client.api(.patch, "/api/v1/users/\(f.admin.id)", token: f.adminToken, json: ["role": "user"])
            #expect(demote.status == .unprocessableContent && demote.problemFields == ["role"] && demote.text.contains("only active admin"))
            #expect(try await client.api(.patch, "/api/v1/users/\(f.user.id)", token: f.adminToken, json: ["role": "admin"]).status == .ok)
            #expect(try await client.api(.patch, "/api/v1/users/\(f.admin.id)", token: f.adminToken, json: ["role": "user"]).status == .ok)
            #expect(try await f.store.users.find(f.admin.id)?.role == .user)
        }
    }

    @Test func deactivatingEndsSessionsAndTokensAndKeepsRecords() async throws {
        try await WebFixture.with { f, client in
            let record = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.userToken, json: ["last_name": "Kept", "email": "kept@example.com"])
            #expect(record.status == .created)
            let user = try await logIn(client, f.user.email, "user-password-1")
            #expect(try await isLoggedIn(client, user.cookie))

            let off = try await client.api(.patch, "/api/v1/users/\(f.user.id)", token: f.adminToken, json: ["is_active": false])
            #expect(off.status == .ok && off.json?.objectValue?["is_active"] == .bool(false))
            #expect(try await !isLoggedIn(client, user.cookie), "the session ended")
            #expect(try await client.api(.get, "/api/v1/me", token: f.userToken).status == .unauthorized, "the token is revoked")
            #expect(try await session.postLogin(client, [("email", f.user.email), ("password", "user-password-1")]).status == .unauthorized)

            // The records stay, and an admin hands them over.
            let owns = try await client.api(.get, "/api/v1/users/\(f.user.id)", token: f.adminToken)
            #expect(owns.json?.objectValue?["owns"]?.objectValue?["records"] == .number(1))
            let toInactive = try await client.api(.post, "/api/v1/users/\(f.admin.id)/hand-over", token: f.adminToken, json: ["to_user_id": .number(Double(f.user.id))])
            #expect(toInactive.status == .unprocessableContent && toInactive.problemFields == ["to_user_id"])
            let moved = try await client.api(.post, "/api/v1/users/\(f.user.id)/hand-over", token: f.adminToken, json: ["to_user_id": .number(Double(f.admin.id))])
            #expect(moved.status == .ok && moved.json?.objectValue?["handed_over"]?.objectValue?["records"] == .number(1))
            let list = try await client.api(.get, "/api/v1/modules/contacts/records?mine=true", token: f.adminToken)
            #expect(list.text.contains("kept@example.com"))

            // Back again: a password logs in, the old session and token do not come back.
            _ = try await client.api(.patch, "/api/v1/users/\(f.user.id)", token: f.adminToken, json: ["is_active": true])
            #expect(try await !isLoggedIn(client, user.cookie))
            #expect(try await client.api(.get, "/api/v1/me", token: f.userToken).status == .unauthorized)
            #expect(try await session.postLogin(client, [("email", f.user.email), ("password", "user-password-1")]).status == .found)
        }
    }

    /// A user changes their own name and time zone, on the account page and through the API
    /// (only an admin could, on the user's page); not their role.
    @Test func aUserChangesTheirOwnNameAndTimeZone() async throws {
        try await WebFixture.with { f, client in
            let me = try await logIn(client, f.user.email, "user-password-1")
            let saved = try await post(client, "/account/profile", me, [("name", "Paula Plain"), ("time_zone", "America/New_York")])
            #expect(saved.status == .seeOther && saved.headers[.location] == "/account")
            let user = try #require(try await f.store.users.find(f.user.id))
            #expect(user.name == "Paula Plain" && user.timeZone == "America/New_York")
            let page = try await followed(client, saved, cookie: me.cookie).text
            #expect(page.contains("Saved.") && page.contains(#"<option value="America/New_York" selected>"#) && page.contains(#"value="Paula Plain""#))
            let bad = try await post(client, "/account/profile", me, [("name", " "), ("time_zone", "Mars/Base")])
            #expect(bad.status == .unprocessableContent && bad.text.contains("is not a time zone name"))
            let api = try await client.api(.patch, "/api/v1/me", token: f.userToken, json: ["time_zone": "Europe/Paris"])
            #expect(api.status == .ok && api.json?.objectValue?["time_zone"] == "Europe/Paris")
            let role = try await client.api(.patch, "/api/v1/me", token: f.userToken, json: ["role": "admin"])
            #expect(role.status == .unprocessableContent && role.problemFields == ["role"], "an unknown field here: a role is an admin's")
        }
    }

    @Test func aNewPasswordEndsOtherSessionsAndRevokesTokens() async throws {
        try await WebFixture.with { f, client in
            let laptop = try await logIn(client, f.user.email, "user-password-1")
            let phone = try await logIn(client, f.user.email, "user-password-1")
            let wrong = try await post(client, "/account/password", laptop, [("current_password", "nope"), ("new_password", "a-new-password-2")])
            #expect(wrong.status == .unprocessableContent && wrong.text.contains("<li>Current password: is not your current password</li>"), "it says why (the box around the reasons never opened)")
            let short = try await post(client, "/account/password", laptop, [("current_password", "user-password-1"), ("new_password", "short")])
            #expect(short.status == .unprocessableContent && short.text.contains("<li>New password: "))
            #expect(try await isLoggedIn(client, phone.cookie), "a refused change ends nothing")

            let changed = try await post(client, "/account/password", laptop, [("current_password", "user-password-1"), ("new_password", "a-new-password-2")])
            let fresh = try #require(session.cookie(changed), "the changing browser goes on in a new session")
            #expect(changed.status == .seeOther)
            #expect(try await followed(client, changed, cookie: laptop.cookie).text.contains("Your password was changed"))
            #expect(try await isLoggedIn(client, fresh))
            #expect(try await !isLoggedIn(client, laptop.cookie))
            #expect(try await !isLoggedIn(client, phone.cookie))
            #expect(try await client.api(.get, "/api/v1/me", token: f.userToken).status == .unauthorized)

            // An admin's reset does the same to the user, and the new password works.
            let admin = try await logIn(client, f.admin.email, f.adminPassword)
            let reset = try await post(client, "/account/users/\(f.user.id)/password", admin, [("password", "reset-by-admin-3")])
            #expect(try await followed(client, reset, cookie: admin.cookie).text.contains("Set a new password"))
            #expect(try await !isLoggedIn(client, fresh))
            #expect(try await isLoggedIn(client, admin.cookie), "the admin's own session is untouched")
            #expect(try await session.postLogin(client, [("email", f.user.email), ("password", "reset-by-admin-3")]).status == .found)
            let api = try await client.api(.post, "/api/v1/users/\(f.user.id)/password", token: f.adminToken, json: ["password": "short"])
            #expect(api.status == .unprocessableContent && api.problemFields == ["password"])
        }
    }

    @Test func tokensComeOnlyFromASessionAndMayExpire() async throws {
        try await WebFixture.with { f, client in
            let byToken = try await client.api(.post, "/api/v1/tokens", token: f.userToken, json: ["name": "offspring"])
            #expect(byToken.status == .forbidden)
            #expect(try await f.store.tokens.all(for: f.user.id).count == 1)

            let user = try await logIn(client, f.user.email, "user-password-1")
            let made = try await client.execute(uri: "/api/v1/tokens", method: .post,
                                                headers: [.cookie: user.cookie, .contentType: "application/json", HTTPFields.Element.Name("X-CSRF-Token")!: user.csrf],
                                                body: ByteBuffer(string: #"{"name":"for a week","expires_in_days":7}"#))
            #expect(made.status == .created && made.json?.objectValue?["expires_at"]?.stringValue != nil)
            let tooLong = try await client.execute(uri: "/api/v1/tokens", method: .post,
                                                   headers: [.cookie: user.cookie, .contentType: "application/json", HTTPFields.Element.Name("X-CSRF-Token")!: user.csrf],
                                                   body: ByteBuffer(string: #"{"name":"forever and more","expires_in_days":99999}"#))
            #expect(tooLong.status == .unprocessableContent)
            let viaPage = try await post(client, "/account/tokens", user, [("name", "page token"), ("expires_in_days", "30")])
            #expect(viaPage.status == .ok && viaPage.text.contains("shown only once"))
            let secret = try #require(viaPage.text.firstMatch(of: /class="secret-value" readonly value="([^"]+)"/)?.1)
            #expect(try await client.api(.get, "/api/v1/me", token: String(secret)).status == .ok)
            try await f.store.database.transaction { db in
                try await db.raw("UPDATE api_tokens SET expires_at = \(bind: WallClock.epochSeconds() - 1) WHERE name = 'page token'").run()
            }
            #expect(try await client.api(.get, "/api/v1/me", token: String(secret)).status == .unauthorized)
            let page = try await client.execute(uri: "/account", method: .get, headers: [.cookie: user.cookie])
            #expect(page.text.contains("expired "))
        }
    }

    @Test func sessionIDsAreStoredHashed() async throws {
        try await WebFixture.with { f, client in
            let user = try await logIn(client, f.user.email, "user-password-1")
            let id = String(user.cookie.dropFirst("herald_session=".count))
            let keys = try await f.store.database.read { db in
                try await db.raw("SELECT key, value FROM kv_store").all().map { try $0.decode(column: "key", as: String.self) + " " + $0.decode(column: "value", as: String.self) }
            }
            #expect(!keys.isEmpty && !keys.contains { $0.contains(id) }, "the cookie's secret is nowhere in the database")
            #expect(try await isLoggedIn(client, user.cookie))
        }
    }
}
