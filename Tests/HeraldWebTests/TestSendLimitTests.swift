import Foundation
import HeraldCore
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import SQLKit
import Testing

/// A test send goes to any address a user types: it is held to what a mass email is.
@Suite struct TestSendLimitTests {
    @Test func testSendsAreLimitedCountedAndKeepTheSuppressionListAndQuota() async throws {
        try await WebFixture.with { f, client in
            let sender = try await client.api(.post, "/api/v1/senders", token: f.adminToken, json: ["email": "news@example.com", "name": "News"])
            guard case .number(let senderID)? = sender.json?.objectValue?["id"] else { Issue.record("no sender"); return }
            let template = try await client.api(.post, "/api/v1/modules/contacts/templates", token: f.userToken,
                                                json: ["name": "T", "subject": "Hi", "html": "<p>Hi</p>"])
            guard case .number(let templateID)? = template.json?.objectValue?["id"] else { Issue.record("no template"); return }
            func test(_ to: String, token: String) async throws -> TestResponse {
                try await client.api(.post, "/api/v1/templates/\(Int(templateID))/test", token: token, json: ["to": .string(to), "sender_id": .number(senderID)])
            }

            try await f.store.suppressions.add("gone@example.com", reason: "unsubscribed")
            let suppressed = try await test("Gone@Example.com", token: f.userToken)
            #expect(suppressed.status == .unprocessableContent && suppressed.problemFields == ["to"] && suppressed.text.contains("suppression list"))

            for i in 0..<TestSendStore.limit.limit {
                #expect(try await test("me\(i)@example.com", token: f.userToken).status == .ok, "test \(i)")
            }
            let refused = try await test("one-more@example.com", token: f.userToken)
            #expect(refused.status == .tooManyRequests && refused.text.contains("too_many_requests"))
            let wait = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect(wait > 3000 && wait <= 3600)
            #expect(try await test("admin@example.com", token: f.adminToken).status == .ok, "the limit is each user's")
            #expect(try await f.store.testSends.count(since: 0) == TestSendStore.limit.limit + 1)
            let files = try FileManager.default.contentsOfDirectory(atPath: f.outbox).filter { $0.hasSuffix(".eml") }
            #expect(files.count == TestSendStore.limit.limit + 1, "nothing refused was sent")

            // The daily quota counts tests, and stops them when used up.
            try await f.store.settings.setDailyQuota(2)
            #expect(try await test("quota-1@example.com", token: f.adminToken).status == .ok)
            #expect(try await test("quota-2@example.com", token: f.adminToken).status == .ok)
            let over = try await test("quota-3@example.com", token: f.adminToken)
            #expect(over.status == .tooManyRequests && over.text.contains("quota"))
            #expect(try await f.store.quota.used(day: try await f.store.settings.today()) == 2)
        }
    }
}
