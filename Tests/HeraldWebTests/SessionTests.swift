import Foundation
import HeraldCore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct SessionTests {
    func cookie(_ response: TestResponse) -> String? {
        response.headers[values: .setCookie].first { $0.hasPrefix("herald_session=") }.map { String($0.split(separator: ";")[0]) }
    }

    /// Posts the login form as a browser does: the page first, for its form token and cookie.
    func postLogin(_ client: some TestClientProtocol, _ pairs: [(String, String)], padding: String = "") async throws -> TestResponse {
        let page = try await client.execute(uri: "/login", method: .get)
        let cookie = page.headers[values: .setCookie].first { $0.hasPrefix("herald_login=") }.map { String($0.split(separator: ";")[0]) } ?? ""
        let token = page.text.firstMatch(of: /name="_login" value="([^"]+)"/).map { String($0.1) } ?? ""
        var body = form(pairs + [("_login", token)])
        body.writeString(padding)
        return try await client.execute(uri: "/login", method: .post,
                                        headers: [.contentType: "application/x-www-form-urlencoded", .cookie: cookie], body: body)
    }

    func form(_ pairs: [(String, String)]) -> ByteBuffer {
        ByteBuffer(string: pairs.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&"))
    }

    @Test func loginFormsAndCSRF() async throws {
        try await WebFixture.with { f, client in
            let wrong = try await postLogin(client, [("email", f.admin.email), ("password", "nope")])
            #expect(wrong.status == .unauthorized && wrong.text.contains("Wrong email or password"))
            let login = try await postLogin(client, [("email", f.admin.email.uppercased()), ("password", f.adminPassword), ("next", "//evil.example")])
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

    @Test func loginRedirectsOnlyWithinTheSite() {
        // Browsers drop tabs and line breaks and read a backslash as a slash: each is //evil.com to them.
        for bad in ["//evil.com", "/\t/evil.com", "/\n/evil.com", "/\\evil.com", "\\/evil.com", "https://evil.com", "evil.com",
                    "/\u{7F}/evil.com", "", "javascript:alert(1)"] {
            #expect(AuthPages.safeNext(bad) == "/", "\(bad.debugDescription)")
        }
        for good in ["/", "/m/contacts", "/mass-emails/3?after=10", "/m/contacts#top", "/a//b"] {
            #expect(AuthPages.safeNext(good) == good)
        }
        #expect(AuthPages.safeNext(nil) == "/")
    }

    @Test func theThrottleTable() {
        var throttle = LoginThrottle()
        let t: Int64 = 1_000_000
        // Five free failures for an account; then 1 s, 2 s, 4 s … after the last one.
        for i in 0..<5 {
            #expect(throttle.decide(account: "ann", address: "a", now: t + Int64(i)) == .allow)
            throttle.failed(account: "ann", address: "a", now: t + Int64(i))
        }
        #expect(throttle.decide(account: "ann", address: "a", now: t + 4) == .wait(seconds: 1))
        #expect(throttle.decide(account: "ann", address: "b", now: t + 5) == .allow, "one second after the last failure")
        throttle.failed(account: "ann", address: "b", now: t + 5)
        #expect(throttle.decide(account: "ann", address: "c", now: t + 5) == .wait(seconds: 2))
        #expect(throttle.decide(account: "bob", address: "c", now: t + 5) == .allow, "another account is not held back")
        // Capped at 15 minutes; forgotten after an hour.
        for i in 0..<30 { throttle.failed(account: "ann", address: "x\(i)", now: t + 10) }
        #expect(throttle.decide(account: "ann", address: "d", now: t + 10) == .wait(seconds: 900))
        #expect(throttle.decide(account: "ann", address: "d", now: t + 10 + 3600) == .allow)
        // A success forgets the account's failures, not the address's.
        throttle.succeeded(account: "ann")
        #expect(throttle.decide(account: "ann", address: "d", now: t + 11) == .allow)
        for i in 0..<20 { throttle.failed(account: "u\(i)", address: "guesser", now: t + 20) }
        #expect(throttle.decide(account: "new", address: "guesser", now: t + 20) == .wait(seconds: 1))
        throttle.succeeded(account: "new")
        #expect(throttle.decide(account: "other", address: "guesser", now: t + 20) == .wait(seconds: 1))
        // Memory stays bounded whatever names are tried.
        var flood = LoginThrottle()
        flood.rules.capacity = 100
        for i in 0..<1000 { flood.failed(account: "n\(i)", address: "a\(i)", now: t + Int64(i)) }
        #expect(flood.accounts.count <= 100 && flood.addresses.count <= 100)
    }

    @Test func loginsAreThrottledAndSmall() async throws {
        try await WebFixture.with { f, client in
            let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            for _ in 0..<5 {
                let wrong = try await postLogin(client, [("email", f.user.email), ("password", "wrong-password")])
                #expect(wrong.status == .unauthorized)
            }
            // Then each try waits twice as long after the last failure (1 s, 2 s, …); on a busy
            // machine a try may come after the wait, so keep guessing until held back.
            var refusal: TestResponse?
            for _ in 0..<15 {
                let wrong = try await postLogin(client, [("email", f.user.email), ("password", "wrong-password")])
                if wrong.status == .tooManyRequests { refusal = wrong; break }
                #expect(wrong.status == .unauthorized)
            }
            let held = try #require(refusal, "held back before fifteen more tries")
            #expect(held.text.contains("Too many failed attempts"))
            #expect((held.headers[.retryAfter].flatMap { Int($0) } ?? 0) >= 1)
            // (That a held-back try is refused before its password is looked at, right or not,
            // is the throttle table's: decide() comes first.)
            // Another account still logs in.
            let admin = try await postLogin(client, [("email", f.admin.email), ("password", f.adminPassword)])
            #expect(admin.status == .found)
            // A login form is small: 64 KB is not read.
            let big = try await client.execute(uri: "/login", method: .post, headers: formType,
                                               body: ByteBuffer(string: "email=a&password=" + String(repeating: "x", count: 64 * 1024)))
            #expect(big.status == .contentTooLarge)
            // Login CSRF: a post from another site carries no form token, and logs nobody in.
            let forged = try await client.execute(uri: "/login", method: .post, headers: formType,
                                                  body: form([("email", f.admin.email), ("password", f.adminPassword)]))
            #expect(forged.status == .forbidden && forged.text.contains("The login form had expired") && cookie(forged) == nil)
            // After login, only paths of this site.
            let tab = try await postLogin(client, [("email", f.admin.email), ("password", f.adminPassword), ("next", "/\t/evil.com")])
            #expect(tab.headers[.location] == "/")
        }
    }
}

/// A session lasts 12 hours from its last use, not from the login.
@Suite struct SessionRenewalTests {
    @Test func aSessionInUseHasItsExpiryMovedOnAtMostHourly() async throws {
        try await WebFixture.with { f, client in
            let me = try await AccountManagementTests().logIn(client, f.user.email, "user-password-1")
            let id = try #require(me.cookie.split(separator: "=", maxSplits: 1).last.map(String.init))
            let key = SessionPersistDriver.storedKey("session." + id)  // the session middleware's key prefix
            let fresh = try await client.execute(uri: "/m/contacts", method: .get, headers: [.cookie: me.cookie])
            #expect(fresh.status == .ok && fresh.headers[values: .setCookie].isEmpty, "renewed at the login: no write for an hour")
            // Renewed an hour and more ago, and about to end: the next use gives it 12 hours again.
            let (stored, _) = try #require(try await f.store.keyValues.get(key))
            let old = stored.replacing(/"renewedAt":\d+/, with: #""renewedAt":1"#)
            #expect(old != stored)
            _ = try await f.store.keyValues.put(key, value: old, expiresAt: WallClock.epochSeconds() + 60)
            let used = try await client.execute(uri: "/m/contacts", method: .get, headers: [.cookie: me.cookie])
            #expect(used.status == .ok && used.headers[values: .setCookie].contains { $0.hasPrefix("herald_session=") })
            let expiresAt = try #require(try await f.store.keyValues.get(key)?.expiresAt)
            #expect(expiresAt > WallClock.epochSeconds() + 11 * 3600)
        }
    }
}
