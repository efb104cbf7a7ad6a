import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Testing

/// The mail settings' one way in for the settings page and the API.
@Suite struct MailSettingsTests {
    @Test(arguments: TestDatabase.kinds)
    func adminsOnlyCheckedWholeAndSecretsNeverShownBack(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind) { h in
            let settings = MailSettings(store: h.store, delivery: h.delivery)
            let user = try await h.store.users.create(email: "uma@example.com", name: "Uma", role: .user, passwordHash: "x", timeZone: "UTC")
            for refused in [
                { try await settings.setQuota(10, by: user) },
                { try await settings.saveTransport("", by: user) },
                { try await settings.saveBounces(MailSettings.BounceChanges(), by: user) },
                { _ = try await settings.bounces(for: user) },
                { _ = try await settings.deliverability(for: user) },
                { _ = try await settings.quota(for: user) },
                { try await settings.saveDeliverability(MailSettings.DeliverabilityChanges(), by: user) },
            ] as [() async throws -> Void] {
                let error = await #expect(throws: HeraldError.self) { try await refused() }
                #expect(error?.kind == .forbidden)
            }

            let tooMany = await #expect(throws: HeraldError.self) { try await settings.setQuota(0, by: h.admin) }
            #expect(tooMany?.problems.map(\.field) == ["daily_quota"])
            try await settings.setQuota(500, by: h.admin)
            #expect(try await settings.quota(for: h.admin).limit == 500)
            try await settings.setQuota(nil, by: h.admin)
            #expect(try await settings.quota(for: h.admin).limit == nil)

            // The harness's transport is set as if on the command line, which wins over the setting.
            let overridden = await #expect(throws: HeraldError.self) { try await settings.saveTransport("smtp://relay.example.org", by: h.admin) }
            #expect(overridden?.kind == .conflict)
            #expect(try await settings.transport(for: h.admin).editable == false)

            // Every problem at once, and nothing saved while any is left.
            var changes = MailSettings.BounceChanges()
            changes.softBounceCount = 0
            changes.softBounceDays = 400
            changes.forwardReplies = true
            changes.webhookSecrets = ["postmark": "short", "nosuch": "0123456789abcdef"]
            do {
                try await settings.saveBounces(changes, by: h.admin)
                Issue.record("bad bounce settings were saved")
            } catch let error as HeraldError {
                #expect(Set(error.problems.map(\.field)) == ["soft_bounce_count", "soft_bounce_days", "webhook_secrets.postmark",
                                                             "webhook_secrets.nosuch"])
            }
            #expect(try await settings.bounces(for: h.admin).forwardReplies == false, "nothing half-saved")

            changes = MailSettings.BounceChanges()
            changes.softBounceCount = 3
            changes.webhookSecrets = ["postmark": "s3cret-token-0123456789"]
            try await settings.saveBounces(changes, by: h.admin)
            let saved = try await settings.bounces(for: h.admin)
            #expect(saved.softBounce.count == 3)
            let postmark = try #require(saved.webhooks.first { $0.provider == "postmark" })
            #expect(postmark.configured && postmark.secretHint == "…6789")
        }
    }

    /// The deliverability settings, for Admin → Sending domains and the API: every problem at
    /// once with the caller's, and nothing saved while any is left.
    @Test(arguments: TestDatabase.kinds)
    func deliverabilityIsCheckedWholeBeforeAnythingIsSaved(kind: DatabaseKind) async throws {
        try await EngineHarness.with(kind) { h in
            let settings = MailSettings(store: h.store, delivery: h.delivery)
            let before = try await settings.deliverability(for: h.admin)
            var changes = MailSettings.DeliverabilityChanges()
            changes.complaintThreshold = 0
            changes.spamThreshold = 101
            changes.onlyAuthenticatedDomains = !before.onlyAuthenticatedDomains
            let refused = await #expect(throws: HeraldError.self) {
                try await settings.saveDeliverability(changes, earlier: [Problem(field: "form", reason: "read first")], by: h.admin)
            }
            #expect(refused?.problems.map(\.field) == ["form", "complaint_threshold", "spam_threshold"])
            #expect(try await settings.deliverability(for: h.admin) == before)

            changes.complaintThreshold = 0.5
            changes.spamThreshold = 6.5
            try await settings.saveDeliverability(changes, by: h.admin)
            var after = before
            (after.complaintThreshold, after.spamThreshold, after.onlyAuthenticatedDomains) = (0.5, 6.5, !before.onlyAuthenticatedDomains)
            #expect(try await settings.deliverability(for: h.admin) == after)
        }
    }
}
