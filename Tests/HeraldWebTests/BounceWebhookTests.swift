import Foundation
import HeraldCore
import HeraldDelivery
import HeraldStore
@testable import HeraldWeb
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct BounceWebhookTests {
    static let secret = "s3cret-of-sixteen-chars"

    func post(_ client: any TestClientProtocol, _ path: String, _ body: String, basic: String? = nil) async throws -> TestResponse {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let basic { headers[.authorization] = "Basic " + Data("herald:\(basic)".utf8).base64EncodedString() }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    @Test func settingsAreCheckedSavedAndSecretsNeverShownBack() async throws {
        try await WebFixture.with { f, client in
            let bad = try await client.api(.put, "/api/v1/settings/bounces", token: f.adminToken, json: [
                "domain": "not a domain", "soft_bounce_count": 0, "webhook_secrets": ["ses": "short", "acme": "x"],
            ])
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.problemFields).isSuperset(of: ["domain", "soft_bounce_count", "webhook_secrets.ses"]))
            #expect(try await f.store.settings.bounceDomain() == nil)   // nothing half-saved

            let forbidden = try await client.api(.put, "/api/v1/settings/bounces", token: f.userToken, json: ["domain": "b.example.com"])
            #expect(forbidden.status == .forbidden)

            let ok = try await client.api(.put, "/api/v1/settings/bounces", token: f.adminToken, json: [
                "domain": "Bounces.Example.com", "soft_bounce_count": 4, "soft_bounce_days": 10, "forward_replies": true,
                "webhook_secrets": ["ses": .string(Self.secret)],
            ])
            #expect(ok.status == .ok)
            #expect(!ok.text.contains(Self.secret))
            #expect(ok.json?.objectValue?["domain"] == "bounces.example.com")
            #expect(ok.json?.objectValue?["webhooks"]?.objectValue?["ses"]?.objectValue?["configured"] == true)
            #expect(ok.json?.objectValue?["webhooks"]?.objectValue?["postmark"]?.objectValue?["configured"] == false)
            #expect(try await f.store.settings.softBounceThreshold() == SoftBounceThreshold(count: 4, days: 10))

            let page = try await client.execute(uri: "/admin/mail", method: .get, headers: [.authorization: "Bearer \(f.adminToken)"])
            #expect(page.text.contains("bounces.example.com"))
            #expect(!page.text.contains(Self.secret))
        }
    }

    @Test func wrongOrMissingSecretsAreRefusedWithoutDetail() async throws {
        try await WebFixture.with { f, client in
            let body = #"{"RecordType":"Bounce","Type":"HardBounce","Email":"x@example.org","ID":1}"#
            // No secret configured: refused too.
            #expect(try await post(client, "/webhooks/postmark", body, basic: Self.secret).status == .unauthorized)
            try await f.store.settings.set(SettingsStore.webhookSecretKey("postmark"), to: Self.secret)
            let none = try await post(client, "/webhooks/postmark", body)
            #expect(none.status == .unauthorized)
            #expect(none.text.isEmpty)
            #expect(try await post(client, "/webhooks/postmark", body, basic: Self.secret + "x").status == .unauthorized)
            #expect(try await post(client, "/webhooks/postmark?secret=\(Self.secret)", body).status == .unauthorized)   // URIs are logged: not there
            // Another provider's secret does not open this one.
            try await f.store.settings.set(SettingsStore.webhookSecretKey("sendgrid"), to: "another-secret-of-16")
            #expect(try await post(client, "/webhooks/postmark", body, basic: "another-secret-of-16").status == .unauthorized)
            #expect(try await f.store.suppressions.suppressed(among: ["x@example.org"]).isEmpty)

            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[HTTPFields.Element.Name("X-Herald-Webhook-Secret")!] = Self.secret
            let accepted = try await client.execute(uri: "/webhooks/postmark", method: .post, headers: headers, body: ByteBuffer(string: body))
            #expect(accepted.status == .ok)
            #expect(try await f.store.suppressions.suppressed(among: ["x@example.org"]) == ["x@example.org"])
        }
    }

    @Test func eachProviderIsMappedAndRetriesCountOnce() async throws {
        try await WebFixture.with { f, client in
            for provider in MailSettings.providers {
                try await f.store.settings.set(SettingsStore.webhookSecretKey(provider), to: Self.secret)
            }
            let sesBounce = #"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","feedbackId":"fb-1","bouncedRecipients":[{"emailAddress":"ses@example.org","status":"5.1.1","action":"failed","diagnosticCode":"smtp; 550 5.1.1 unknown"}]},"mail":{"messageId":"ses-1","commonHeaders":{"messageId":"<herald.1.0.0123456789abcdef@example.com>"}}}"#
            let sns = JSONValue.object(["Type": "Notification", "MessageId": "sns-1", "Message": .string(sesBounce)])
            let snsText = String(decoding: try JSONEncoder().encode(sns), as: UTF8.self)
            #expect(try await post(client, "/webhooks/ses", snsText, basic: Self.secret).json?.objectValue?["recorded"] == 1)
            #expect(try await post(client, "/webhooks/ses", snsText, basic: Self.secret).json?.objectValue?["recorded"] == 0)   // SNS retried

            let complaint = #"{"notificationType":"Complaint","complaint":{"feedbackId":"fb-2","complainedRecipients":[{"emailAddress":"angry@example.org"}]},"mail":{"messageId":"ses-2"}}"#
            let snsComplaint = String(decoding: try JSONEncoder().encode(JSONValue.object(["Type": "Notification", "MessageId": "sns-2", "Message": .string(complaint)])), as: UTF8.self)
            #expect(try await post(client, "/webhooks/ses", snsComplaint, basic: Self.secret).status == .ok)

            let confirm = #"{"Type":"SubscriptionConfirmation","SubscribeURL":"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t"}"#
            #expect(try await post(client, "/webhooks/ses", confirm, basic: Self.secret).status == .ok)
            #expect(try await f.store.settings.value("webhooks.ses.subscribe_url")?.hasPrefix("https://sns.") == true)
            let unsubscribed = #"{"Type":"UnsubscribeConfirmation","SubscribeURL":"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=u"}"#
            #expect(try await post(client, "/webhooks/ses", unsubscribed, basic: Self.secret).json?.objectValue?["recorded"] == 0)
            #expect(try await f.store.settings.value("webhooks.ses.subscribe_url")?.hasSuffix("Token=t") == true)
            let elsewhere = #"{"Type":"SubscriptionConfirmation","SubscribeURL":"https://evil.example.com/confirm"}"#
            #expect(try await post(client, "/webhooks/ses", elsewhere, basic: Self.secret).status == .unprocessableContent)

            let sendgrid = #"[{"email":"sg@example.org","event":"bounce","type":"bounce","status":"5.1.1","reason":"550 5.1.1 no such user","sg_event_id":"e1","smtp-id":"<x@y>"},{"email":"soft@example.org","event":"deferred","response":"451 later","sg_event_id":"e2"},{"email":"o@example.org","event":"open","sg_event_id":"e3"}]"#
            #expect(try await post(client, "/webhooks/sendgrid", sendgrid, basic: Self.secret).json?.objectValue?["recorded"] == 2)

            let mailgun = #"{"signature":{},"event-data":{"id":"mg-1","event":"failed","severity":"permanent","recipient":"mg@example.org","delivery-status":{"code":550,"description":"mailbox unavailable"},"message":{"headers":{"message-id":"abc@example.com"}}}}"#
            #expect(try await post(client, "/webhooks/mailgun", mailgun, basic: Self.secret).json?.objectValue?["recorded"] == 1)

            let suppressed = try await f.store.suppressions.page()
            let reasons = Dictionary(uniqueKeysWithValues: suppressed.map { ($0.address, $0.reason) })
            #expect(reasons["ses@example.org"] == "hard_bounce")
            #expect(reasons["angry@example.org"] == "complaint")
            #expect(reasons["sg@example.org"] == "hard_bounce")
            #expect(reasons["mg@example.org"] == "hard_bounce")
            #expect(reasons["soft@example.org"] == nil)   // one soft bounce is below the threshold
            // Each event keeps its own part of a batch, not the whole post.
            let sgBounce = try #require(try await f.store.database.read { db in
                try await db.raw("SELECT raw FROM bounces WHERE address = 'sg@example.org'").first()?.decode(column: "raw", as: String?.self)
            })
            #expect(sgBounce.contains("\"sg_event_id\":\"e1\"") && !sgBounce.contains("soft@example.org"))

            let malformed = try await post(client, "/webhooks/sendgrid", #"{"not":"an array"}"#, basic: Self.secret)
            #expect(malformed.status == .unprocessableContent)
            #expect(try await post(client, "/webhooks/mailgun", "not json", basic: Self.secret).status == .badRequest)
        }
    }
}

@Suite struct BouncePageTests {
    @Test func aMassEmailsBouncesAndTheRawReportAreShownEscapedToItsOwnerOnly() async throws {
        try await WebFixture.with { f, client in
            let b = try await MassEmailAPITests().basics(f, client, token: f.adminToken)
            let created = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "Launch", "module": "contacts", "template_id": .number(Double(b.template)), "sender_id": .number(Double(b.sender)),
                "recipients": ["record_ids": [.number(Double(b.record))]], "schedule": ["send": "draft"],
            ])
            let massID = try #require(MassEmailAPITests().id(created))
            _ = try await f.store.massEmails.enqueue(massID, step: 0, recipients: [(b.record, "ann@example.com")], cursor: b.record,
                                                     skipped: [:], now: 0)
            let message = try #require(try await f.store.bounces.message(massEmail: massID, step: 0, address: "ann@example.com"))
            let recorded = try #require(try await f.store.bounces.record(BounceStore.Report(
                messageID: message.id, address: "ann@example.com", kind: .hard, status: "5.1.1", action: "failed",
                diagnostic: "550 <b>no</b> such user", source: "dsn", raw: "Subject: x\r\n\r\n<script>alert(1)</script>",
                fingerprint: "f1", receivedAt: 1_800_000_000)))

            let list = try await client.execute(uri: "/mass-emails/\(massID)/bounces", method: .get, headers: [.authorization: "Bearer \(f.adminToken)"])
            #expect(list.status == .ok)
            #expect(list.text.contains("ann@example.com") && list.text.contains("5.1.1"))
            #expect(list.text.contains("550 &lt;b&gt;no&lt;/b&gt; such user"))
            let raw = try await client.execute(uri: "/bounces/\(recorded.bounce.id)", method: .get, headers: [.authorization: "Bearer \(f.adminToken)"])
            #expect(raw.status == .ok)
            #expect(raw.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!raw.text.contains("<script>alert(1)"))
            let page = try await client.execute(uri: "/mass-emails/\(massID)", method: .get, headers: [.authorization: "Bearer \(f.adminToken)"])
            #expect(page.text.contains("/mass-emails/\(massID)/bounces"))

            // Another user's mass email is not there for a plain user.
            #expect(try await client.execute(uri: "/bounces/\(recorded.bounce.id)", method: .get,
                                             headers: [.authorization: "Bearer \(f.userToken)"]).status == .notFound)
            #expect(try await client.api(.get, "/api/v1/mass-emails/\(massID)/bounces", token: f.userToken).status == .notFound)
            let api = try await client.api(.get, "/api/v1/bounces/\(recorded.bounce.id)", token: f.adminToken)
            #expect(api.json?.objectValue?["raw"]?.stringValue?.contains("<script>") == true)   // JSON carries it as data
        }
    }
}
