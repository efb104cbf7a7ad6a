import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import Mail

/// Faults from an in-process scripted server: each ends in the right per-recipient
/// result, quickly, without hanging.
@Suite struct FaultTests {
    static let message = Array("From: a@example.com\r\nTo: b@example.org\r\nSubject: t\r\n\r\nhello\r\n.dot\r\n".utf8)
    let envelope = try! Envelope(returnPath: "bounce+1@example.com", recipients: ["ok@example.org", "gone@example.org", "later@example.org"])

    /// - Parameter timeout: the client's reply timeout; long by default, so that on a loaded
    ///   machine a test of some other fault never sees a timeout first.
    func send(_ script: ScriptedServer.Script, timeout: TimeAmount = .seconds(30)) async throws -> (Result<DeliveryResult, MailError>, ScriptedServer) {
        let server = try await ScriptedServer(script)
        let transport = SMTPTransport(configuration: server.configuration(timeouts: timeout))
        let result: Result<DeliveryResult, MailError>
        do {
            result = .success(try await transport.send(envelope, message: Self.message))
        } catch {
            result = .failure(error)
        }
        await transport.shutdown()
        await server.stop()
        return (result, server)
    }

    @Test func greeting421() async throws {
        var script = ScriptedServer.Script()
        script.greeting = .reply("421 4.3.2 too busy")
        let (result, _) = try await send(script)
        guard case .failure(let error) = result else { Issue.record("expected failure"); return }
        #expect(error.code == .serviceNotAvailable)
        #expect(error.reply?.code == 421)
        #expect(error.context["port"] != nil)
    }

    @Test func mixedRecipientResults() async throws {
        var script = ScriptedServer.Script()
        script.rcpt = { command in
            if command.contains("gone@") { return .reply("550 5.1.1 no such user") }
            if command.contains("later@") { return .reply("451 4.7.1 greylisted") }
            return .reply("250 2.1.5 ok")
        }
        let (result, server) = try await send(script)
        let delivery = try result.get()
        #expect(delivery.recipients.map(\.status) == [.accepted, .permanentFailure, .transientFailure])
        #expect(delivery.recipients[1].enhancedCode == EnhancedStatusCode(statusClass: 5, subject: 1, detail: 1))
        #expect(delivery.recipients[2].code == 451)
        #expect(delivery.recipients[0].text == "queued")
        #expect(server.commands.contains("MAIL FROM:<bounce+1@example.com> SIZE=\(MessageBody(message: Self.message).messageSize)"))
        // RFC 2920: MAIL, the three RCPTs and DATA went out in one write.
        #expect(server.maximumCommandsPerRead >= 5)
    }

    @Test func rcpt450ForAll() async throws {
        var script = ScriptedServer.Script()
        script.rcpt = { _ in .reply("450 4.2.1 mailbox busy") }
        let delivery = try await send(script).0.get()
        #expect(delivery.recipients.allSatisfy { $0.status == .transientFailure && $0.code == 450 })
    }

    @Test func rejectedAfterData() async throws {
        var script = ScriptedServer.Script()
        script.endOfData = { _ in .reply("552 5.3.4 message too big") }
        let delivery = try await send(script).0.get()
        #expect(delivery.recipients.allSatisfy { $0.status == .permanentFailure && $0.code == 552 })
    }

    @Test func disconnectMidData() async throws {
        var script = ScriptedServer.Script()
        script.closeAfterDataBytes = 10
        let delivery = try await send(script).0.get()
        #expect(delivery.recipients.allSatisfy { $0.status == .transientFailure && $0.error?.code == .connectionClosed },
                "\(delivery.recipients.map { ($0.status, $0.error?.code) })")
    }

    @Test func serverStopsAnswering() async throws {
        var script = ScriptedServer.Script()
        script.rcpt = { _ in .silence }
        script.data = .silence
        let clock = ContinuousClock()
        let start = clock.now
        let delivery = try await send(script, timeout: .milliseconds(300)).0.get()
        // Not a speed check: the bound only catches a hang (the default would be 5 minutes).
        #expect(clock.now - start < .seconds(60))
        #expect(delivery.recipients.allSatisfy { $0.status == .transientFailure && $0.error?.code == .timeout })
    }

    @Test func silentAtGreeting() async throws {
        var script = ScriptedServer.Script()
        script.greeting = .silence
        guard case .failure(let error) = try await send(script, timeout: .milliseconds(300)).0 else { Issue.record(); return }
        #expect(error.code == .timeout)
    }

    @Test func garbageReply() async throws {
        var script = ScriptedServer.Script()
        script.rcpt = { _ in .reply("HTTP/1.1 200 OK") }
        let delivery = try await send(script).0.get()
        #expect(delivery.recipients.allSatisfy { $0.status == .transientFailure && $0.error?.code == .protocolViolation })
    }

    @Test func overLongReplyLine() async throws {
        var script = ScriptedServer.Script()
        script.mail = { _ in .raw(Array(("250 " + String(repeating: "x", count: 100_000)).utf8)) }
        let delivery = try await send(script).0.get()
        #expect(delivery.recipients.allSatisfy { $0.status == .transientFailure && $0.error?.code == .protocolViolation })
    }

    @Test func reconnectAfter421OnAnIdleConnection() async throws {
        var script = ScriptedServer.Script()
        script.afterMessages = (1, .reply("421 4.4.2 idle too long"))
        let server = try await ScriptedServer(script)
        let transport = SMTPTransport(configuration: server.configuration())
        let first = try await transport.send(envelope, message: Self.message)
        try await Task.sleep(for: .milliseconds(100))
        let second = try await transport.send(envelope, message: Self.message)
        #expect(first.allAccepted)
        #expect(second.allAccepted)
        #expect(server.connections == 2)
        await transport.shutdown()
        await server.stop()
    }

    @Test func batchOverPooledConnectionsWithoutPipelining() async throws {
        var script = ScriptedServer.Script()
        script.ehlo = "250 scripted"
        let server = try await ScriptedServer(script)
        let transport = SMTPTransport(configuration: server.configuration(), poolConfiguration: .init(maximumConnections: 2, maximumMessagesPerConnection: 3))
        let messages = (0..<10).map { OutgoingMessage(envelope: try! Envelope(returnPath: "b@example.com", recipients: ["r\($0)@example.org"]), message: Self.message) }
        let results = await transport.send(messages)
        #expect(results.count == 10)
        for (index, result) in results.enumerated() {
            #expect((try? result.get())?.recipients.first?.recipient == "r\(index)@example.org")
            #expect((try? result.get())?.allAccepted == true)
        }
        #expect(server.connections >= 4) // at most 3 messages per connection
        #expect(await transport.pool.openConnections <= 2)
        await transport.shutdown()
        #expect(await transport.pool.openConnections == 0)
        await server.stop()
    }

    /// The end of a shutdown's grace: a server that never answers the final "." holds a
    /// connection in its transaction; abandoning the pool closes it at once, and the message
    /// comes back uncertain, not after the reply timeout. (One message: the scripted server
    /// would answer the commands pipelined after the "." and so answer out of turn.)
    @Test func abandoningThePoolClosesAConnectionInATransaction() async throws {
        var script = ScriptedServer.Script()
        let dataEnded = NIOLockedValueBox(false)
        script.endOfData = { _ in
            dataEnded.withLockedValue { $0 = true }
            return .silence
        }
        let server = try await ScriptedServer(script)
        let transport = SMTPTransport(configuration: server.configuration(timeouts: .seconds(120)),
                                      poolConfiguration: .init(maximumConnections: 1))
        let messages = (0..<1).map { OutgoingMessage(envelope: try! Envelope(returnPath: "b@example.com", recipients: ["r\($0)@example.org"]), message: Self.message) }
        let sending = Task { await transport.send(messages) }
        // Bounded: the first message's data is out within a few seconds on any machine.
        for _ in 0..<200 where !dataEnded.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(dataEnded.withLockedValue { $0 }, "the first message's data never arrived")
        let clock = ContinuousClock()
        let start = clock.now
        await transport.abandon()
        let results = await sending.value
        // Not a speed check: the bound only catches waiting for the 120 s reply timeout.
        #expect(clock.now - start < .seconds(60))
        #expect(results.count == 1)
        #expect((try? results[0].get())?.deliveryUncertain == true, "\(results[0])")
        #expect((try? results[0].get())?.allAccepted == false)
        #expect(await transport.pool.openConnections == 0)
        await server.stop()
    }

    @Test func bytesInjectedAfterSTARTTLSAreDiscarded() async throws {
        // CVE-2011-0411: a reply smuggled in after "220" must not be read as the answer to
        // the EHLO that follows the handshake. We drop it, so the failure is the handshake
        // (this server speaks no TLS), not a protocol violation from the injected reply.
        var script = ScriptedServer.Script()
        script.ehlo = "250-scripted\r\n250 STARTTLS"
        script.startTLS = .raw(Array("220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n".utf8))
        let server = try await ScriptedServer(script)
        var configuration = server.configuration(timeouts: .seconds(2))
        configuration.security = .requiredStartTLS
        configuration.trust = .insecureNoVerification
        do {
            _ = try await SMTPConnection.connect(configuration: configuration)
            Issue.record("expected failure")
        } catch {
            #expect(error.code == .tlsHandshakeFailed || error.code == .connectionClosed || error.code == .timeout)
            #expect(error.code != .protocolViolation)
        }
        await server.stop()
    }

    @Test func connectionRefused() async throws {
        let port = Peers.freePort()
        let transport = SMTPTransport(configuration: SMTPClientConfiguration(host: "127.0.0.1", port: port, security: .none))
        do {
            _ = try await transport.send(envelope, message: Self.message)
            Issue.record("expected failure")
        } catch {
            #expect(error.code == .connectionFailed)
            #expect(error.message.contains("refused"))
        }
        await transport.shutdown()
    }

    /// Against a server that is down, a batch costs one connection attempt per worker, not
    /// one per message: each worker fails one message with the reason and stops, and the
    /// rest come back notSent (never seen by a server, free to send later).
    @Test func aBatchAgainstARefusingServerTriesOneConnectionPerWorker() async throws {
        let port = Peers.freePort()
        let transport = SMTPTransport(configuration: SMTPClientConfiguration(host: "127.0.0.1", port: port, security: .none),
                                      poolConfiguration: SMTPPoolConfiguration(maximumConnections: 4))
        let messages = (0..<50).map {
            OutgoingMessage(id: Int64(1000 + $0), envelope: try! Envelope(returnPath: "b@example.com", recipients: ["r\($0)@example.org"]),
                            message: Self.message)
        }
        let reported = NIOLockedValueBox<[Int64: MailError.Code]>([:])
        let results = await transport.send(messages) { id, result in
            if case .failure(let error) = result { reported.withLockedValue { $0[id] = error.code } }
        }
        await transport.shutdown()
        let codes = results.map { result -> MailError.Code? in if case .failure(let error) = result { error.code } else { nil } }
        #expect(codes.filter { $0 == .connectionFailed }.count == 4)
        #expect(codes.filter { $0 == .notSent }.count == 46)
        // Each result was reported under its message's own id.
        #expect(reported.withLockedValue { $0 }.count == 50)
        #expect(Set(reported.withLockedValue { $0 }.keys) == Set(messages.map(\.id)))
    }
}
