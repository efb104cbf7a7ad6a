import Foundation
import NIOCore
import Testing
@testable import Mail

/// Against real servers: Python's aiosmtpd (STARTTLS, implicit TLS, AUTH) and Postfix's
/// smtp-sink, each started on a free loopback port by the test.
@Suite(.serialized) struct PeerTests {
    struct Captured: Decodable {
        var mail_from: String
        var rcpt_tos: [String]
        var data: String
        var tls: Bool
        var auth: Bool?
    }

    struct Aiosmtpd {
        let process: PeerProcess
        let port: Int
        let out: String
        let certPEM: String?

        func captured() throws -> [Captured] {
            guard let text = try? String(contentsOfFile: out, encoding: .utf8) else { return [] }
            return try text.split(separator: "\n").map { try JSONDecoder().decode(Captured.self, from: Data($0.utf8)) }
        }
    }

    static func startAiosmtpd(
        tls: Bool = true, implicitTLS: Bool = false, auth: String? = "user:s3cret", mechanisms: [String] = [], reject: [String] = []
    ) async throws -> Aiosmtpd? {
        guard Peers.available(await Peers.hasPythonModule("aiosmtpd"), "python module aiosmtpd (pip install aiosmtpd)") else { return nil }
        let directory = Peers.temporaryDirectory()
        let port = Peers.freePort()
        var arguments = ["python3", Peers.directory + "/aiosmtpd_peer.py", "--port", String(port), "--out", directory + "/captured.jsonl"]
        var pem: String?
        if tls {
            let certificate = try await Peers.makeCertificate(in: directory)
            arguments += ["--cert", certificate.cert, "--key", certificate.key]
            pem = certificate.pem
        }
        if implicitTLS { arguments.append("--implicit-tls") }
        if let auth { arguments += ["--auth", auth] }
        for address in reject { arguments += ["--reject", address] }
        for mechanism in mechanisms { arguments += ["--mechanism", mechanism] }
        let process = try PeerProcess(arguments, logPath: directory + "/peer.log")
        try await process.waitUntilReady(marker: "READY")
        if implicitTLS { try await process.waitUntilReady(marker: nil, port: port) }
        return Aiosmtpd(process: process, port: port, out: directory + "/captured.jsonl", certPEM: pem)
    }

    static func sampleMessage() throws(MailError) -> [UInt8] {
        var message = MailMessage(from: MailAddress("news@example.com", name: "Névs"), to: [MailAddress("ann@example.org")], subject: "Peer test ✓")
        message.textBody = ".starts with a dot\n..two\n" + String(repeating: "long ", count: 500)
        message.htmlBody = "<p>hi</p>"
        return try message.render()
    }

    @Test func startTLSWithAuthAgainstAiosmtpd() async throws {
        guard let peer = try await Self.startAiosmtpd(reject: ["nobody@example.org"]) else { return }
        defer { peer.process.stop() }
        let url = "smtp://user:s3cret@localhost:\(peer.port)?tls=required"
        let transport = try TransportURL(url).makeTransport(trust: .certificatesPEM([peer.certPEM!]), timeouts: .all(.seconds(30)))
        let message = try Self.sampleMessage()
        let envelope = try Envelope(returnPath: "bounce+abc@example.com", recipients: ["ann@example.org", "nobody@example.org"])
        let result = try await transport.send(envelope, message: message)
        #expect(result.recipients.map(\.status) == [.accepted, .permanentFailure])
        #expect(result.recipients[1].code == 550)
        // Several messages over the same connection.
        let batch = (0..<5).map { OutgoingMessage(envelope: try! Envelope(returnPath: "bounce+\($0)@example.com", recipients: ["r\($0)@example.org"]), message: message) }
        let results = await transport.send(batch)
        #expect(results.allSatisfy { (try? $0.get())?.allAccepted == true })
        await transport.shutdown()

        let captured = try peer.captured()
        #expect(captured.count == 6)
        let first = try #require(captured.first)
        #expect(first.tls)
        #expect(first.auth == true)
        #expect(first.mail_from == "bounce+abc@example.com")
        #expect(first.rcpt_tos == ["ann@example.org"])
        // What arrived is byte for byte what we built (dot-stuffing undone, CRLF kept).
        #expect(Data(base64Encoded: first.data) == Data(message))
    }

    @Test func wrongPasswordIsAClearError() async throws {
        guard let peer = try await Self.startAiosmtpd() else { return }
        defer { peer.process.stop() }
        let transport = try TransportURL("smtp://user:wrong-pass@localhost:\(peer.port)").makeTransport(trust: .certificatesPEM([peer.certPEM!]))
        do throws(MailError) {
            _ = try await transport.send(try Envelope(returnPath: "a@example.com", recipients: ["b@example.org"]), message: try Self.sampleMessage())
            Issue.record("expected authentication failure")
        } catch {
            #expect(error.code == .authenticationFailed)
            #expect(!error.description.contains("wrong-pass"))
        }
        await transport.shutdown()
    }

    /// PLAIN is what aiosmtpd prefers and what the tests above use; LOGIN and XOAUTH2 are
    /// each tested here against a server that offers only that mechanism (the scripted server
    /// alone would test our idea of them).
    @Test(arguments: [("LOGIN", ""), ("XOAUTH2", "&auth=xoauth2")])
    func authMechanismAgainstAiosmtpd(mechanism: String, query: String) async throws {
        guard let peer = try await Self.startAiosmtpd(auth: "user:s3cret-token", mechanisms: [mechanism]) else { return }
        defer { peer.process.stop() }
        let trust = SMTPClientConfiguration.Trust.certificatesPEM([peer.certPEM!])
        let envelope = try Envelope(returnPath: "a@example.com", recipients: ["b@example.org"])
        let right = try TransportURL("smtp://user:s3cret-token@localhost:\(peer.port)?tls=required\(query)").makeTransport(trust: trust)
        let result = try await right.send(envelope, message: try Self.sampleMessage())
        #expect(result.allAccepted)
        await right.shutdown()

        // For XOAUTH2 a refusal is a 334 with a JSON error, our empty line, then the 535.
        let wrong = try TransportURL("smtp://user:wrong-token@localhost:\(peer.port)?tls=required\(query)").makeTransport(trust: trust)
        do throws(MailError) {
            _ = try await wrong.send(envelope, message: try Self.sampleMessage())
            Issue.record("expected authentication failure with \(mechanism)")
        } catch {
            #expect(error.code == .authenticationFailed)
            #expect(error.reply?.code == 535)
            #expect(!error.description.contains("wrong-token"))
        }
        await wrong.shutdown()

        let captured = try peer.captured()
        #expect(captured.count == 1)
        #expect(captured.first?.auth == true)
        #expect(captured.first?.tls == true)
    }

    @Test func untrustedCertificateIsRefused() async throws {
        guard let peer = try await Self.startAiosmtpd() else { return }
        defer { peer.process.stop() }
        let transport = try TransportURL("smtp://user:s3cret@localhost:\(peer.port)").makeTransport(trust: .systemDefault)
        do throws(MailError) {
            _ = try await transport.send(try Envelope(returnPath: "a@example.com", recipients: ["b@example.org"]), message: try Self.sampleMessage())
            Issue.record("expected TLS failure")
        } catch {
            #expect(error.code == .tlsHandshakeFailed)
        }
        await transport.shutdown()
    }

    @Test func requiredTLSNotOffered() async throws {
        guard let peer = try await Self.startAiosmtpd(tls: false, auth: nil) else { return }
        defer { peer.process.stop() }
        let transport = try TransportURL("smtp://localhost:\(peer.port)?tls=required").makeTransport()
        do throws(MailError) {
            _ = try await transport.send(try Envelope(returnPath: "a@example.com", recipients: ["b@example.org"]), message: try Self.sampleMessage())
            Issue.record("expected failure")
        } catch {
            #expect(error.code == .tlsNotAvailable)
        }
        // Opportunistic goes on in clear.
        let plain = try TransportURL("smtp://127.0.0.1:\(peer.port)?tls=opportunistic").makeTransport()
        let result = try await plain.send(try Envelope(returnPath: "a@example.com", recipients: ["b@example.org"]), message: try Self.sampleMessage())
        #expect(result.allAccepted)
        await transport.shutdown()
        await plain.shutdown()
        #expect(try peer.captured().first?.tls == false)
    }

    @Test func implicitTLSAgainstAiosmtpd() async throws {
        guard let peer = try await Self.startAiosmtpd(implicitTLS: true) else { return }
        defer { peer.process.stop() }
        let transport = try TransportURL("smtps://user:s3cret@localhost:\(peer.port)").makeTransport(trust: .certificatesPEM([peer.certPEM!]))
        let result = try await transport.send(try Envelope(returnPath: "a@example.com", recipients: ["b@example.org"]), message: try Self.sampleMessage())
        #expect(result.allAccepted)
        await transport.shutdown()
        #expect(try peer.captured().first?.tls == true)
    }

    @Test func smtpSinkWithPipelining() async throws {
        guard Peers.available(Peers.smtpSinkPath() != nil, "Postfix smtp-sink (apt-get install postfix)") else { return }
        let directory = Peers.temporaryDirectory()
        let port = Peers.freePort()
        // -u root: run as root without dropping to a user that may not exist; -c counts.
        let sink = try PeerProcess([Peers.smtpSinkPath()!, "-u", "root", "127.0.0.1:\(port)", "100"], logPath: directory + "/sink.log")
        defer { sink.stop() }
        try await sink.waitUntilReady(marker: nil, port: port)
        let transport = SMTPTransport(
            configuration: SMTPClientConfiguration(host: "127.0.0.1", port: port, security: .none, timeouts: .all(.seconds(30))),
            poolConfiguration: SMTPPoolConfiguration(maximumConnections: 4)
        )
        let message = try Self.sampleMessage()
        let messages = (0..<200).map { OutgoingMessage(envelope: try! Envelope(returnPath: "b@example.com", recipients: ["r\($0)@example.org", "s\($0)@example.org"]), message: message) }
        let results = await transport.send(messages)
        #expect(results.allSatisfy { (try? $0.get())?.allAccepted == true })
        let connection = try await transport.pool.lease()
        #expect(connection.connection.capabilities.pipelining)
        await transport.pool.release(connection)
        await transport.shutdown()
    }
}
