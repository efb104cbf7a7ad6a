import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Testing
@testable import Mail

private func line(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct ServerStateMachineTests {
    func machine(maxSize: Int = 1000, tls: Bool = false) -> SMTPServerStateMachine {
        var m = SMTPServerStateMachine(configuration: .init(serverName: "mx.test", maximumMessageSize: maxSize, maximumRecipients: 2, offersStartTLS: tls))
        _ = m.connected()
        return m
    }

    @Test func fullTransaction() {
        var m = machine()
        guard case .reply(let ehlo) = m.received(line: line("EHLO client.test")) else { Issue.record(); return }
        #expect(ehlo.lines.contains("PIPELINING"))
        #expect(ehlo.lines.contains("SIZE 1000"))
        #expect(!ehlo.lines.contains("STARTTLS"))
        #expect(m.received(line: line("MAIL FROM:<> SIZE=10")) == .reply(SMTPReply(code: 250, enhancedCode: .init(statusClass: 2, subject: 1, detail: 0), lines: ["ok"])))
        #expect(m.received(line: line("RCPT TO:<bounce+abc@example.com>")) == .checkRecipient("bounce+abc@example.com"))
        #expect(m.isWaitingForApplication)
        guard case .reply(let accepted) = m.recipientChecked(nil) else { Issue.record(); return }
        #expect(accepted.code == 250)
        #expect(m.received(line: line("RCPT TO:<nobody@example.com>")) == .checkRecipient("nobody@example.com"))
        guard case .reply(let refused) = m.recipientChecked(SMTPReply(code: 550, lines: ["no"])) else { Issue.record(); return }
        #expect(refused.code == 550)
        guard case .reply(let go) = m.received(line: line("DATA")) else { Issue.record(); return }
        #expect(go.code == 354)
        #expect(m.received(line: line("Subject: x")) == .wait)
        #expect(m.received(line: line("")) == .wait)
        #expect(m.received(line: line("..dot")) == .wait)
        guard case .deliver(let envelope, let data) = m.received(line: line(".")) else { Issue.record(); return }
        #expect(envelope == ReceivedEnvelope(reversePath: "", recipients: ["bounce+abc@example.com"], tls: false))
        #expect(String(decoding: data, as: UTF8.self) == "Subject: x\r\n\r\n.dot\r\n")
        guard case .reply(let queued) = m.messageHandled(nil) else { Issue.record(); return }
        #expect(queued.code == 250)
        guard case .close(let bye) = m.received(line: line("QUIT")) else { Issue.record(); return }
        #expect(bye?.code == 221)
    }

    @Test func badSequences() {
        var m = machine()
        #expect(code(m.received(line: line("MAIL FROM:<a@b.c>"))) == 503)
        _ = m.received(line: line("HELO c"))
        #expect(code(m.received(line: line("RCPT TO:<a@b.c>"))) == 503)
        #expect(code(m.received(line: line("DATA"))) == 554)
        #expect(code(m.received(line: line("MAIL FROM:a@b.c"))) == 501)
        #expect(code(m.received(line: line("EHLO"))) == 501)
        #expect(code(m.received(line: line("BDAT 10"))) == 500)
        #expect(code(m.received(line: line("STARTTLS"))) == 502)
        #expect(code(m.received(line: Array(repeating: 65, count: 5000))) == 500)
        #expect(code(m.received(line: line("NOOP"))) == 250)
        #expect(code(m.received(line: line("VRFY x"))) == 252)
    }

    @Test func sizeLimits() {
        var m = machine(maxSize: 100)
        _ = m.received(line: line("EHLO c"))
        #expect(code(m.received(line: line("MAIL FROM:<a@b.c> SIZE=101"))) == 552)
        _ = m.received(line: line("MAIL FROM:<a@b.c>"))
        _ = m.received(line: line("RCPT TO:<x@y.z>"))
        _ = m.recipientChecked(nil)
        _ = m.received(line: line("DATA"))
        for _ in 0..<10 { #expect(m.received(line: Array(repeating: 65, count: 50)) == .wait) }
        #expect(code(m.received(line: line("."))) == 552)
        // The transaction is over; a new one can start.
        #expect(code(m.received(line: line("MAIL FROM:<a@b.c>"))) == 250)
    }

    @Test func tooManyRecipients() {
        var m = machine()
        _ = m.received(line: line("EHLO c"))
        _ = m.received(line: line("MAIL FROM:<a@b.c>"))
        for index in 0..<2 {
            _ = m.received(line: line("RCPT TO:<r\(index)@y.z>"))
            _ = m.recipientChecked(nil)
        }
        #expect(code(m.received(line: line("RCPT TO:<r9@y.z>"))) == 452)
    }

    @Test func startTLSResetsTheSession() {
        var m = machine(tls: true)
        guard case .reply(let ehlo) = m.received(line: line("EHLO c")) else { Issue.record(); return }
        #expect(ehlo.lines.contains("STARTTLS"))
        guard case .replyThenStartTLS(let ready) = m.received(line: line("STARTTLS")) else { Issue.record(); return }
        #expect(ready.code == 220)
        #expect(m.received(line: line("MAIL FROM:<a@b.c>")) == .wait) // held back during the handshake
        m.tlsEstablished()
        #expect(code(m.received(line: line("MAIL FROM:<a@b.c>"))) == 503) // must EHLO again
        guard case .reply(let again) = m.received(line: line("EHLO c")) else { Issue.record(); return }
        #expect(!again.lines.contains("STARTTLS"))
    }

    @Test func commandParser() throws {
        #expect(try SMTPServerCommand.parse("mail from: <a@b.c> BODY=8BITMIME size=5") == .mailFrom("a@b.c", parameters: ["BODY": "8BITMIME", "SIZE": "5"]))
        #expect(try SMTPServerCommand.parse("RCPT TO:<@relay.x:user@host.y>") == .rcptTo("user@host.y", parameters: [:]))
        #expect(try SMTPServerCommand.parse("RCPT TO:<Postmaster>") == .rcptTo("Postmaster", parameters: [:]))
        #expect(try SMTPServerCommand.parse("MAIL FROM:<>") == .mailFrom("", parameters: [:]))
        // Found by scripts/mail-fuzz.sh: a parameter that is only "=" crashed the parser.
        #expect(try SMTPServerCommand.parse("MAIL FROM:<a@b.c> = SIZE=") == .mailFrom("a@b.c", parameters: ["": "", "SIZE": ""]))
        #expect(throws: MailError.self) { try SMTPServerCommand.parse("RCPT TO:<>") }
        #expect(throws: MailError.self) { try SMTPServerCommand.parse("RCPT TO:<a b@c>") }
        #expect(throws: MailError.self) { try SMTPServerCommand.parse("RCPT TO:<nodomain>") }
        #expect(throws: MailError.self) { try SMTPServerCommand.parse("MAIL TO:<a@b>") }
    }

    func code(_ action: SMTPServerStateMachine.Action) -> Int? {
        switch action {
        case .reply(let reply), .replyThenStartTLS(let reply): reply.code
        case .close(let reply): reply?.code
        default: nil
        }
    }
}

/// The listener, exercised by our own client and by Python's smtplib.
@Suite struct ServerTests {
    final class Inbox: Sendable {
        let messages = NIOLockedValueBox<[ReceivedMessage]>([])
        var all: [ReceivedMessage] { messages.withLockedValue { $0 } }
    }

    func startServer(_ configuration: SMTPServerConfiguration, failing: Bool = false) async throws -> (SMTPServer, Int, Inbox) {
        let inbox = Inbox()
        let server = SMTPServer(
            configuration: configuration,
            acceptRecipient: { address in address.hasPrefix("bounce+") ? nil : SMTPReply(code: 550, enhancedCode: .init(statusClass: 5, subject: 1, detail: 1), lines: ["no such user"]) },
            handler: { message in
                if failing { throw MailError(.fileWriteFailed, "disk full") }
                inbox.messages.withLockedValue { $0.append(message) }
            }
        )
        let port = try await server.start()
        return (server, port, inbox)
    }

    @Test func ourClientPipelinesIntoOurServer() async throws {
        let (server, port, inbox) = try await startServer(SMTPServerConfiguration(port: 0, serverName: "bounces.test"))
        let transport = SMTPTransport(configuration: SMTPClientConfiguration(host: "127.0.0.1", port: port, security: .none, timeouts: .all(.seconds(30))))
        let message = Array("Subject: bounce\r\n\r\n.line with dot\r\nbody\r\n".utf8)
        let result = try await transport.send(try Envelope(returnPath: "", recipients: ["bounce+t1@example.com", "other@example.com", "bounce+t2@example.com"]), message: message)
        #expect(result.recipients.map(\.status) == [.accepted, .permanentFailure, .accepted], "\(result.recipients)")
        #expect(result.recipients[1].enhancedCode == EnhancedStatusCode(statusClass: 5, subject: 1, detail: 1))
        let batch = (0..<20).map { OutgoingMessage(envelope: try! Envelope(returnPath: "x@y.z", recipients: ["bounce+\($0)@example.com"]), message: message) }
        let results = await transport.send(batch)
        #expect(results.allSatisfy { (try? $0.get())?.allAccepted == true })
        await transport.shutdown()
        await server.stop()
        #expect(inbox.all.count == 21)
        #expect(inbox.all.first?.data == message)
        #expect(inbox.all.first?.envelope.recipients == ["bounce+t1@example.com", "bounce+t2@example.com"])
    }

    @Test func handlerFailureIsTransient() async throws {
        let (server, port, _) = try await startServer(SMTPServerConfiguration(port: 0), failing: true)
        let transport = SMTPTransport(configuration: SMTPClientConfiguration(host: "127.0.0.1", port: port, security: .none))
        let result = try await transport.send(try Envelope(returnPath: "", recipients: ["bounce+1@example.com"]), message: Array("x".utf8))
        #expect(result.recipients.first?.status == .transientFailure)
        #expect(result.recipients.first?.code == 451)
        await transport.shutdown()
        await server.stop()
    }

    @Test func startTLSBetweenOurClientAndServer() async throws {
        let certificate = try await Peers.makeCertificate(in: Peers.temporaryDirectory())
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate.cert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificate.key, format: .pem))
        )
        let (server, port, inbox) = try await startServer(SMTPServerConfiguration(port: 0, tls: tls))
        let transport = SMTPTransport(configuration: SMTPClientConfiguration(host: "localhost", port: port, security: .requiredStartTLS, trust: .certificatesPEM([certificate.pem])))
        let result = try await transport.send(try Envelope(returnPath: "", recipients: ["bounce+1@example.com"]), message: Array("Subject: s\r\n\r\nb\r\n".utf8))
        #expect(result.allAccepted)
        await transport.shutdown()
        await server.stop()
        #expect(inbox.all.first?.envelope.tls == true)
    }

    @Test func silentClientIsDisconnected() async throws {
        let (server, port, _) = try await startServer(SMTPServerConfiguration(port: 0, idleTimeout: .milliseconds(200)))
        let replies = NIOLockedValueBox<[String]>([])
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(replies: replies)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.closeFuture.get()   // the server hangs up; this would hang otherwise
        #expect(replies.withLockedValue { $0.joined() }.contains("421"))
        await server.stop()
    }

    @Test func pythonSmtplibSendsToOurServer() async throws {
        guard Peers.available(await Peers.hasPythonModule("smtplib"), "python3") else { return }
        let (server, port, inbox) = try await startServer(SMTPServerConfiguration(port: 0, maximumMessageSize: 5000))
        let script = """
        import smtplib, sys
        s = smtplib.SMTP("127.0.0.1", \(port), timeout=5)
        s.ehlo("py.test")
        r = s.sendmail("", ["bounce+py@example.com", "nope@example.com"], b"Subject: py\\r\\n\\r\\n.dot\\r\\n")
        print("refused", list(r.keys()))
        try:
            s.sendmail("a@b.c", ["bounce+big@example.com"], b"x" * 6000)
        except smtplib.SMTPSenderRefused as e:
            print("big", e.smtp_code)
        except smtplib.SMTPDataError as e:
            print("big", e.smtp_code)
        s.quit()
        """
        let output = try await Peers.run(["python3", "-c", script])
        await server.stop()
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("refused ['nope@example.com']"))
        #expect(output.stdout.contains("big 552"))
        #expect(inbox.all.count == 1)
        #expect(inbox.all.first.map { String(decoding: $0.data, as: UTF8.self) } == "Subject: py\r\n\r\n.dot\r\n")
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let replies: NIOLockedValueBox<[String]>
        init(replies: NIOLockedValueBox<[String]>) { self.replies = replies }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = String(buffer: unwrapInboundIn(data))
            replies.withLockedValue { $0.append(text) }
        }
    }
}
