import Foundation
import HeraldCore
@testable import HeraldWeb
import HeraldDelivery
import HeraldStore
import Hummingbird
import NIOCore
import NIOEmbedded
import HummingbirdTesting
import Testing

@Suite struct EngagementWebTests {
    static let browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"

    /// A mass email to one contact whose message was sent an hour ago, with two tracked links.
    static func sentMessage(_ f: WebFixture) async throws -> (massEmail: Int64, message: Int64, record: Int64) {
        let store = f.store
        let contacts = try await store.modules.named("contacts")
        let record = try await store.records.create(in: contacts, RecordChanges([
            "last_name": .text("Lee"), "email": .text("ann@example.com"), "owner": .reference(f.admin.id),
        ]), owner: f.admin.id)
        let template = try await store.templates.create(in: contacts, name: "News", subject: "News", html: "<p>Hi</p>", text: nil, by: f.admin.id)
        let sender = try await store.senders.create(email: "news@example.com", name: "News", replyTo: nil)
        let m = try await store.massEmails.create(
            MassEmailDraft(name: "Tracked", recipients: .records([record.id]), templateID: template.id, senderID: sender.id, schedule: .now),
            in: contacts, owner: f.admin.id)
        _ = try await store.massEmails.startDue(now: WallClock.epochSeconds() + 1)
        _ = try await store.massEmails.enqueue(m.id, step: 0, recipients: [(record.id, "ann@example.com")], cursor: record.id,
                                               skipped: [:], now: 0)
        try await store.nodes.register("t", now: 1)
        let claimed = try #require(try await store.messages.claim(massEmail: m.id, node: "t", limit: 1, now: 1).first)
        try await store.messages.record([MessageOutcome(id: claimed.id, claim: 1, status: .sent, attempts: 1, code: 250,
                                                        sentAt: WallClock.epochSeconds() - 3600)], node: "t")
        try await store.engagement.saveLinks(["https://example.com/a?x=1&y=2", "https://example.com/b"], massEmail: m.id, step: 0)
        return (m.id, claimed.id, record.id)
    }

    func path(_ f: WebFixture, _ token: MessageToken) -> String {
        String(f.delivery.links.url(token).dropFirst("http://herald.test".count))
    }

    func get(_ client: some TestClientProtocol, _ uri: String, method: HTTPRequest.Method = .get, agent: String = browser,
             body: String? = nil, contentType: String = "application/x-www-form-urlencoded") async throws -> TestResponse {
        var headers: HTTPFields = [.userAgent: agent]
        if body != nil { headers[.contentType] = contentType }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    /// Live, the pixel is answered before the decoder (``TrackingFastPath``); called directly,
    /// by the router: the same answers either way.
    @Test(arguments: [true, false])
    func thePixelAndRedirectsAnswerAtOnceAndAreRecordedInBatches(live: Bool) async throws {
        try await WebFixture.with(live: live) { f, client in
            let (massEmail, message, _) = try await Self.sentMessage(f)
            let pixel = try await get(client, path(f, MessageToken(.open, message: message)))
            #expect(pixel.status == .ok)
            #expect(pixel.headers[.contentType] == "image/gif")
            #expect(pixel.headers[.cacheControl]?.contains("no-store") == true)
            #expect(Array(pixel.body.readableBytesView.prefix(6)) == Array("GIF89a".utf8))
            let click = try await get(client, path(f, MessageToken(.click(link: 1), message: message)))
            #expect(click.status == .found)
            #expect(click.headers[.location] == "https://example.com/b")
            let scanner = try await get(client, path(f, MessageToken(.click(link: 0), message: message)), method: .head)
            #expect(scanner.status == .found)
            #expect(scanner.headers[.location] == "https://example.com/a?x=1&y=2")
            #expect(try await get(client, path(f, MessageToken(.trap, message: message))).status == .ok)

            await f.delivery.engagement.flush()
            let json = try await client.api(.get, "/api/v1/mass-emails/\(massEmail)", token: f.adminToken).json
            let figures = try #require(json?.objectValue?["figures"]?.objectValue)
            #expect(figures["opened"] == .number(1))
            #expect(figures["clicked"] == .number(1))
            #expect(figures["machine_clicked"] == .number(0), "the person also clicked, so the recipient counts as a person's click")
            let messages = try await client.api(.get, "/api/v1/mass-emails/\(massEmail)/messages", token: f.adminToken).json
            let row = try #require(messages?.objectValue?["messages"]?.arrayValue?.first?.objectValue)
            #expect(row["opens"] == .number(1))
            #expect(row["clicks"] == .number(1))
            #expect(row["machine_clicks"] == .number(2), "the HEAD request and the hidden link")

            // The mass email's page shows the figures and the chart.
            let page = try await client.execute(uri: "/mass-emails/\(massEmail)", method: .get,
                                                headers: [.authorization: "Bearer \(f.adminToken)"])
            #expect(page.text.contains("<svg"))
            #expect(page.text.contains("id=\"engagement\""))
            // The summary names machines and soft bounces only when there are any.
            let summary = try await client.execute(uri: "/mass-emails?tab=sending", method: .get,
                                                   headers: [.authorization: "Bearer \(f.adminToken)"])
            #expect(summary.text.contains("Tracked"))
            #expect(!summary.text.contains("+0 machines") && !summary.text.contains("+0 soft"))
        }
    }

    @Test(arguments: [true, false])
    func forgedAlteredAndMisusedTokensGetABare404(live: Bool) async throws {
        try await WebFixture.with(live: live) { f, client in
            let (_, message, _) = try await Self.sentMessage(f)
            let good = f.delivery.links.signer.sign(MessageToken(.click(link: 0), message: message))
            var altered = Array(good)
            altered[3] = altered[3] == "a" ? "b" : "a"
            let other = MessageTokenSigner(secret: "somebody else's secret").sign(MessageToken(.click(link: 0), message: message))
            for uri in ["/t/c/\(String(altered))", "/t/c/\(other)", "/t/c/nonsense", "/t/o/\(good)", "/u/\(good)".replacingOccurrences(of: "/u/", with: "/t/t/"),
                        path(f, MessageToken(.click(link: 7), message: message))] {
                let response = try await get(client, uri)
                #expect(response.status == .notFound, "\(uri)")
                #expect(response.body.readableBytes == 0, "\(uri) says nothing")
                #expect(response.headers[.location] == nil)
            }
            await f.delivery.engagement.flush()
            #expect(try await f.store.messages.page(massEmail: 1).allSatisfy { $0.opens + $0.machineOpens + $0.clicks + $0.machineClicks == 0 })
        }
    }

    @Test func aGetNeverUnsubscribesThePageAndOneClickDo() async throws {
        try await WebFixture.with { f, client in
            let (massEmail, message, record) = try await Self.sentMessage(f)
            let uri = path(f, MessageToken(.unsubscribe, message: message))
            for _ in 0..<3 {
                let page = try await get(client, uri)
                #expect(page.status == .ok)
                #expect(page.text.contains("a•••@example.com"))
                #expect(page.text.contains("<form method=\"post\""))
            }
            #expect(try await f.store.suppressions.suppressed(among: ["ann@example.com"]).isEmpty)

            let oneClick = try await get(client, uri, method: .post, body: "List-Unsubscribe=One-Click")
            #expect(oneClick.status == .ok)
            #expect(oneClick.text == "Unsubscribed.\n")
            #expect(try await f.store.suppressions.suppressed(among: ["ann@example.com"]) == ["ann@example.com"])
            let contacts = try await f.store.modules.named("contacts")
            #expect(try await f.store.records.find(in: contacts, id: record, scope: .all)?["email_opt_out"] == .bool(true))
            // Again, from the page: still fine, still counted once.
            let again = try await get(client, uri, method: .post, body: "")
            #expect(again.status == .ok)
            #expect(again.text.contains("You are unsubscribed"))
            let json = try await client.api(.get, "/api/v1/mass-emails/\(massEmail)", token: f.adminToken).json
            #expect(json?.objectValue?["figures"]?.objectValue?["unsubscribed"] == .number(1))

            let bad = try await get(client, "/u/notatoken")
            #expect(bad.status == .notFound)
            #expect(bad.text.contains("This link does not work"))
        }
    }

    @Test func aBurstOfHitsLosesNone() async throws {
        try await WebFixture.with(live: true) { f, client in
            let (massEmail, message, _) = try await Self.sentMessage(f)
            let uri = path(f, MessageToken(.open, message: message))
            let burst = 3_000
            let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<burst {
                    group.addTask { try await get(client, uri).status == .ok }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(answered == burst)
            await f.delivery.engagement.flush()
            let row = try #require(try await f.store.messages.page(massEmail: massEmail).first)
            #expect(row.opens == burst)
        }
    }

    @Test func oneClickAlsoComesAsMultipart() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n"
        #expect(EngagementPages.isOneClick(body))
        #expect(EngagementPages.isOneClick("List-Unsubscribe=One-Click"))
        #expect(!EngagementPages.isOneClick(""))
    }

    /// The pixel is answered in the connection's pipeline: pipelined requests, some for the
    /// router, must still be answered in order, and `Connection: close` closes.
    @Test func pipelinedRequestsAreAnsweredInOrderAroundThePixel() async throws {
        try await WebFixture.with(live: true) { f, client in
            let (massEmail, message, _) = try await Self.sentMessage(f)
            let open = path(f, MessageToken(.open, message: message))
            let trap = path(f, MessageToken(.trap, message: message))
            let forged = "/t/o/" + MessageTokenSigner(secret: "another").sign(MessageToken(.open, message: message))
            let port = try #require(client.port)
            let requests = [
                "GET \(open) HTTP/1.1\r\nHost: x\r\nUser-Agent: \(Self.browser)\r\n\r\n",
                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                "HEAD \(open)?utm_source=mail HTTP/1.1\r\nHost: x\r\nUser-Agent: \(Self.browser)\r\n\r\n",
                "GET \(forged) HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET \(trap) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            ]
            let answer = try await Task.detached { try RawHTTP.exchange(port: port, send: requests.joined()) }.value
            let heads = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(heads == ["200", "200", "200", "404", "200"], "\(answer)")
            let gif = try #require(answer.range(of: "GIF89a"))
            let health = try #require(answer.range(of: "\"status\""))
            #expect(gif.lowerBound < health.lowerBound, "the pixel's answer comes before the router's")
            #expect(answer.components(separatedBy: "GIF89a").count == 2, "HEAD has no body")
            #expect(answer.lowercased().contains("content-length: 43"))
            #expect(answer.lowercased().contains("date: "))
            await f.delivery.engagement.flush()
            let row = try #require(try await f.store.messages.page(massEmail: massEmail).first)
            #expect(row.opens == 1)
            #expect(row.machineOpens == 1, "the HEAD request")
            #expect(row.machineClicks == 1, "the hidden link")
        }
    }

    /// The fast path without a socket: heads split anywhere across reads, answered in order,
    /// and at the first request it does not take, that request's bytes and all later ones go
    /// on to the decoder untouched and the fast path leaves the pipeline.
    @Test func theFastPathAnswersSplitHeadsAndHandsTheRestOn() async throws {
        try await WebFixture.with { f, _ in
            let (massEmail, message, _) = try await Self.sentMessage(f)
            let open = path(f, MessageToken(.open, message: message))
            let trap = path(f, MessageToken(.trap, message: message))
            let channel = EmbeddedChannel(handler: TrackingFastPath(signer: f.delivery.links.signer, recorder: f.delivery.engagement))
            let reads = ["GET \(open) HT", "TP/1.1\r\nUser-Agent: \(Self.browser)\r", "\n\r\nHEAD \(trap) HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hea",
                         "lthz HTTP/1.1\r\n\r\n", "GET \(open) HTTP/1.1\r\n\r\n"]
            var answered = ""
            for read in reads {
                try channel.writeInbound(ByteBuffer(string: read))
                while let out = try channel.readOutbound(as: ByteBuffer.self) { answered += String(buffer: out) }
            }
            let heads = answered.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(heads == ["200", "200"], "\(answered)")
            #expect(answered.contains("Content-Type: image/gif\r\n"))
            #expect(answered.contains("Connection: keep-alive\r\n"), "told the HTTP/1.0 client it may keep the connection")
            var passed = ""
            while let bytes = try channel.readInbound(as: ByteBuffer.self) { passed += String(buffer: bytes) }
            #expect(passed == "GET /healthz HTTP/1.1\r\n\r\nGET \(open) HTTP/1.1\r\n\r\n", "for the decoder, as they came")
            #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: TrackingFastPath.self) }
            _ = try channel.finish()
            await f.delivery.engagement.flush()
            let row = try #require(try await f.store.messages.page(massEmail: massEmail).first)
            #expect(row.opens == 1, "the GET; the last request went on to the router")
            #expect(row.machineClicks == 1, "the hidden link")
        }
    }

    /// `Connection: close` on a request the fast path takes: answered, then closed, and what
    /// came after it is not read.
    @Test func aRequestThatClosesEndsTheConnection() async throws {
        try await WebFixture.with(live: true) { f, client in
            let (massEmail, message, _) = try await Self.sentMessage(f)
            let open = path(f, MessageToken(.open, message: message))
            let port = try #require(client.port)
            let requests = "GET \(open) HTTP/1.1\r\n\r\nGET \(open) HTTP/1.0\r\n\r\nGET \(open) HTTP/1.1\r\n\r\n"
            let answer = try await Task.detached { try RawHTTP.exchange(port: port, send: requests) }.value
            #expect(answer.components(separatedBy: "GIF89a").count == 3, "two answers, the HTTP/1.0 request's last: \(answer)")
            #expect(answer.contains("Connection: close\r\n"), "the HTTP/1.0 client is told")
            await f.delivery.engagement.flush()
            let row = try #require(try await f.store.messages.page(massEmail: massEmail).first)
            #expect(row.opens + row.machineOpens == 2)
        }
    }

    @Test func theDateHeaderIsAnIMFFixdate() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(1_796_288_400) == "Thu, 03 Dec 2026 09:00:00 GMT")
    }
}

/// One blocking exchange over a plain socket, as a client that pipelines would: all requests
/// written at once, then everything read until the server closes (or 10 s pass).
enum RawHTTP {
    static func exchange(port: Int, send: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let bytes = Array(send.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { throw POSIXError(.EIO) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            received += buffer.prefix(n)
        }
        return String(decoding: received, as: UTF8.self)
    }
}
