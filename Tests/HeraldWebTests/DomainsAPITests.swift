import ChildProcess
import Foundation
import HeraldCore
import HeraldStore
@testable import HeraldWeb
import HummingbirdTesting
import Mail
import Testing

/// `/api/v1/domains` and what sending domains change elsewhere in the API, with DNS answered
/// by dnsmasq on loopback.
@Suite(.serialized) struct DomainsAPITests {
    /// dnsmasq answering for example.com, with `records` (dnsmasq options); nil (a skip, or a
    /// failure when peers are required) when it is not installed.
    final class DNSServer: Sendable {
        let process: ChildProcess
        let port: Int
        /// dnsmasq's own words (why it could not bind, say), quoted when it does not answer.
        let logPath: String

        init?(port: Int, _ records: [String]) throws {
            let path = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"].first { FileManager.default.isExecutableFile(atPath: $0) }
            guard let path else {
                if ProcessInfo.processInfo.environment["HERALD_REQUIRE_PEERS"] == "1" { Issue.record("dnsmasq is missing") }
                return nil
            }
            self.port = port
            logPath = FileManager.default.temporaryDirectory.appendingPathComponent("herald-dnsmasq-\(UUID().uuidString).log").path
            process = try ChildProcess([path, "--no-daemon", "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                                        "--no-hosts", "--user=root", "--local=/example.com/"] + records, output: .file(logPath), error: .file(logPath))
        }

        /// A port for the server that the check is told before dnsmasq starts: below Linux's
        /// ephemeral range (32768–60999), where no other test's connection or port-0 server
        /// can take it in between (a random port inside that range once did, and dnsmasq
        /// exited on a busy CI run), and free for UDP and TCP now.
        static func port() -> Int {
            for _ in 0..<100 {
                let port = Int.random(in: 20_000...32_000)
                if [SOCK_DGRAM, SOCK_STREAM].allSatisfy({ canBind(port, type: Int32($0.rawValue)) }) { return port }
            }
            return Int.random(in: 20_000...32_000)
        }

        private static func canBind(_ port: Int, type: Int32) -> Bool {
            let fd = socket(AF_INET, type, 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
        }

        /// Waits until the server answers `name`'s TXT records (30 s at most, as long as
        /// dnsmasq runs): a loaded machine may take long to start it, and the check then
        /// failed on a server not listening yet.
        func answering(_ name: String) async throws {
            let resolver = try DNSResolver(server: "127.0.0.1:\(port)")
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline && process.isRunning {
                if let answer = try? await resolver.txt(name), !answer.records.isEmpty { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            let said = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            Issue.record("dnsmasq on port \(port) did not answer for \(name) (\(process.isRunning ? "30 s" : "it exited")): \(said)")
        }

        func stop() {
            process.send(SIGKILL)
            process.wait()
            try? FileManager.default.removeItem(atPath: logPath)
        }
    }

    static func object(_ response: TestResponse) -> [String: JSONValue] { response.json?.objectValue ?? [:] }

    @Test func addCheckRotateAndDelete() async throws {
        // The DNS server starts once the keys are made, on the port the check was told.
        let port = DNSServer.port()
        try await WebFixture.with(dnsServer: "127.0.0.1:\(port)") { f, client in
            let created = try await client.api(.post, "/api/v1/domains", token: f.adminToken, json: ["domain": "Example.com", "ed25519": true])
            #expect(created.status == .created)
            #expect(!created.text.contains("PRIVATE KEY"))
            let domain = Self.object(created)
            #expect(domain["domain"]?.stringValue == "example.com")
            #expect(domain["keys"]?.arrayValue?.count == 2)
            #expect(domain["records"]?.arrayValue?.compactMap { $0.objectValue?["purpose"]?.stringValue } == ["dkim", "dkim", "spf", "dmarc"])

            // Refused: a second time (409), a bad name (422), a user who is no admin (403).
            #expect(try await client.api(.post, "/api/v1/domains", token: f.adminToken, json: ["domain": "example.com"]).status == .conflict)
            let bad = try await client.api(.post, "/api/v1/domains", token: f.adminToken, json: ["domain": "not a domain"])
            #expect(bad.status == .unprocessableContent && bad.problemFields == ["domain"])
            #expect(try await client.api(.get, "/api/v1/domains", token: f.userToken).status == .forbidden)
            #expect(try await client.api(.post, "/api/v1/domains", token: f.userToken, json: ["domain": "example.org"]).status == .forbidden)

            // An unsigned sender is warned about; once its domain's keys are found in DNS, not.
            let sender = try await f.store.senders.create(email: "news@example.com", name: "News", replyTo: nil)
            func senderWarnings() async throws -> [JSONValue] {
                let senders = try await client.api(.get, "/api/v1/senders", token: f.userToken)
                return Self.object(senders)["senders"]?.arrayValue?.first { $0.objectValue?["id"] == .number(Double(sender.id)) }?
                    .objectValue?["warnings"]?.arrayValue ?? []
            }
            #expect(try await senderWarnings().first?.stringValue?.contains("not found in DNS yet") == true)

            let keys = domain["keys"]?.arrayValue?.compactMap(\.objectValue) ?? []
            let rsa = keys.first { $0["algorithm"]?.stringValue == "rsa-sha256" }
            guard let dns = try DNSServer(port: port, [
                "--txt-record=\(rsa?["record_name"]?.stringValue ?? ""),\(rsa?["record_value"]?.stringValue ?? "")",
                "--txt-record=example.com,v=spf1 mx ~all",
                "--txt-record=_dmarc.example.com,v=DMARC1; p=quarantine",
            ]) else { return }
            defer { dns.stop() }
            try await dns.answering("example.com")
            guard case .number(let rawID)? = domain["id"] else { Issue.record("no id"); return }
            let id = Int(rawID)
            let checked = try await client.api(.post, "/api/v1/domains/\(id)/check", token: f.adminToken, json: [:])
            #expect(checked.status == .ok)
            let verdicts = Self.object(checked)["checks"]?.arrayValue?.compactMap { check -> String? in
                guard let c = check.objectValue else { return nil }
                return "\(c["record"]?.objectValue?["purpose"]?.stringValue ?? "")=\(c["verdict"]?.stringValue ?? "")"
            }
            // The Ed25519 key is not published; SPF does not name the relay; DMARC is there.
            #expect(verdicts == ["dkim=found", "dkim=missing", "spf=wrong", "dmarc=found"])
            #expect(Self.object(checked)["domain"]?.objectValue?["verified"] == .bool(false))

            // "Only send from authenticated domains": a mass email from the unverified sender is refused.
            _ = try await f.store.settings.setOnlyAuthenticatedDomains(true)
            let contacts = try await f.store.modules.named("contacts")
            let template = try await f.store.templates.create(in: contacts, name: "T", subject: "Hi", html: "<p>Hi</p>", text: nil, by: f.admin.id)
            let view = try await f.store.views.create(in: contacts, name: "All", criteria: .everything, by: f.admin.id)
            let refused = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "Launch", "module": "contacts", "template_id": .number(Double(template.id)), "sender_id": .number(Double(sender.id)),
                "recipients": ["view_id": .number(Double(view.id))], "schedule": ["send": "now"],
            ])
            #expect(refused.status == .unprocessableContent && refused.problemFields == ["sender_id"])
            #expect(refused.text.contains("only from authenticated domains"))
            // A draft may still be saved, and says what stands in its way.
            let draft = try await client.api(.post, "/api/v1/mass-emails", token: f.adminToken, json: [
                "name": "Launch", "module": "contacts", "template_id": .number(Double(template.id)), "sender_id": .number(Double(sender.id)),
                "recipients": ["view_id": .number(Double(view.id))], "schedule": ["send": "draft"],
            ])
            #expect(draft.status == .created)
            #expect(Self.object(draft)["warnings"]?.arrayValue?.first?.stringValue?.contains("news@example.com") == true)

            // Rotation: new keys sign; the old ones stay listed as retiring.
            #expect(try await client.api(.post, "/api/v1/domains/\(id)/rotate", token: f.adminToken, json: ["keep_old_days": 0]).status
                    == .unprocessableContent)
            let rotated = try await client.api(.post, "/api/v1/domains/\(id)/rotate", token: f.adminToken, json: ["keep_old_days": 7])
            let states = Self.object(rotated)["keys"]?.arrayValue?.compactMap { $0.objectValue?["state"]?.stringValue }
            #expect(states == ["active", "active", "retiring", "retiring"])
            #expect(try await client.api(.delete, "/api/v1/domains/\(id)", token: f.adminToken).status == .noContent)
            #expect(try await client.api(.get, "/api/v1/domains/\(id)", token: f.adminToken).status == .notFound)
        }
    }

    /// The page's form says why a domain added twice is refused, at its field (it said only
    /// "Not saved.").
    @Test func theFormSaysADomainIsAddedAlready() async throws {
        try await WebFixture.with { f, client in
            let admin = try await AccountManagementTests().logIn(client, f.admin.email, f.adminPassword)
            let first = try await AccountManagementTests().post(client, "/admin/domains", admin, [("domain", "example.com")])
            #expect(first.status == .seeOther)
            let again = try await AccountManagementTests().post(client, "/admin/domains", admin, [("domain", "EXAMPLE.com")])
            #expect(again.status == .conflict)
            #expect(again.text.contains(#"<p class="field-error" id="e-domain">example.com is a sending domain already</p>"#))
            // Removed, the page says so.
            let id = try #require(first.headers[.location]?.split(separator: "/").last.flatMap { Int64($0) })
            let removed = try await AccountManagementTests().post(client, "/admin/domains/\(id)/delete", admin, [])
            #expect(removed.headers[.location] == "/admin/domains")
            let list = try await AccountManagementTests().followed(client, removed, cookie: admin.cookie).text
            #expect(list.contains("The domain was removed; its senders&#39; mail is no longer signed with its keys."))
        }
    }

    @Test func deliverabilitySettings() async throws {
        try await WebFixture.with { f, client in
            let path = "/api/v1/settings/deliverability"
            let initial = Self.object(try await client.api(.get, path, token: f.adminToken))
            let spam: [String: JSONValue] = ["spam_threshold": .number(5), "refuse_over_spam_threshold": .bool(false)]
            #expect(initial == ["only_authenticated_domains": .bool(false), "complaint_threshold": .number(0.3)].merging(spam) { a, _ in a })
            let changed = try await client.api(.put, path, token: f.adminToken, json: ["only_authenticated_domains": true, "complaint_threshold": 0.5])
            #expect(Self.object(changed) == ["only_authenticated_domains": .bool(true), "complaint_threshold": .number(0.5)].merging(spam) { a, _ in a })
            // One bad field changes nothing, and says which.
            let bad = try await client.api(.put, path, token: f.adminToken, json: ["only_authenticated_domains": false, "complaint_threshold": 0])
            #expect(bad.status == .unprocessableContent && bad.problemFields == ["complaint_threshold"])
            let typo = try await client.api(.put, path, token: f.adminToken, json: ["complaint_threshold": "high"])
            #expect(typo.status == .unprocessableContent && typo.problemFields == ["complaint_threshold"])
            let both = try await client.api(.put, path, token: f.adminToken, json: ["complaint_threshold": 101, "spam_threshold": -1])
            #expect(both.status == .unprocessableContent && both.problemFields == ["complaint_threshold", "spam_threshold"], "every problem at once")
            #expect(Self.object(try await client.api(.get, path, token: f.adminToken))
                    == ["only_authenticated_domains": .bool(true), "complaint_threshold": .number(0.5)].merging(spam) { a, _ in a })
            #expect(try await client.api(.put, path, token: f.userToken, json: ["complaint_threshold": 1]).status == .forbidden)
        }
    }
}
