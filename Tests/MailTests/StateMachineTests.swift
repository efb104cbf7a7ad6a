import NIOCore
import Testing
@testable import Mail

private func reply(_ code: Int, _ lines: String...) -> SMTPReply {
    SMTPReply(code: code, lines: lines.isEmpty ? [""] : lines)
}

private let ehloAll = SMTPReply(code: 250, lines: ["mx.test", "PIPELINING", "SIZE 100000", "8BITMIME", "STARTTLS", "AUTH PLAIN LOGIN XOAUTH2"])
private let ehloPlain = SMTPReply(code: 250, lines: ["mx.test", "SIZE"])

typealias Machine = SMTPClientStateMachine

private func machine(
    _ security: SMTPClientConfiguration.Security = .none,
    credentials: SMTPClientConfiguration.Credentials? = nil,
    allowPlain: Bool = false,
    ehlo: SMTPReply = ehloAll
) -> Machine {
    var machine = Machine(configuration: .init(security: security, credentials: credentials, allowsPlaintextAuthentication: allowPlain, clientName: "client.test"))
    #expect(machine.connected() == .wait)
    #expect(machine.received(reply(220, "hi")) == .send([.ehlo("client.test")]))
    if security == .none && credentials == nil {
        guard case .connectionReady = machine.received(ehlo) else {
            Issue.record("not ready")
            return machine
        }
    }
    return machine
}

private func envelope(_ recipients: String...) -> Envelope {
    try! Envelope(returnPath: "bounce+t1@sender.test", recipients: recipients)
}

private let body = MessageBody(message: Array("Subject: x\r\n\r\nhello\r\n".utf8))

/// A machine whose message to a@x.test has its data on the wire, its final reply due.
private func dataOnTheWire() -> Machine {
    var m = machine()
    _ = m.sendMessage(envelope("a@x.test"), body: body)
    _ = m.received(reply(250))
    _ = m.received(reply(250))
    #expect(m.received(reply(354)) == .send([.messageBody(body.bytes)]))
    return m
}

@Suite struct StateMachineSetupTests {
    @Test func greetingRefused() {
        var m = Machine(configuration: .init(security: .none))
        _ = m.connected()
        guard case .close(let reason) = m.received(reply(554, "go away")) else { Issue.record(); return }
        #expect(reason.duringSetup)
        #expect(reason.error?.code == .serviceNotAvailable)
        #expect(reason.sendQuit)
    }

    @Test func greeting421ClosesWithoutQuit() {
        var m = Machine(configuration: .init(security: .none))
        _ = m.connected()
        guard case .close(let reason) = m.received(reply(421, "busy")) else { Issue.record(); return }
        #expect(!reason.sendQuit)
        #expect(reason.error?.reply?.code == 421)
    }

    @Test func heloFallback() {
        var m = Machine(configuration: .init(security: .none, clientName: "c"))
        _ = m.connected()
        _ = m.received(reply(220))
        #expect(m.received(reply(502, "EHLO not implemented")) == .send([.helo("c")]))
        guard case .connectionReady(let capabilities, .plainAsConfigured) = m.received(reply(250, "ok")) else { Issue.record(); return }
        #expect(!capabilities.pipelining)
    }

    @Test func noHeloFallbackWhenTLSIsRequired() {
        var m = Machine(configuration: .init(security: .requiredStartTLS))
        _ = m.connected()
        _ = m.received(reply(220))
        guard case .close(let reason) = m.received(reply(500, "what")) else { Issue.record(); return }
        #expect(reason.error?.code == .serviceNotAvailable)
    }

    @Test func startTLSSequence() {
        var m = machine(.requiredStartTLS)
        #expect(m.received(ehloAll) == .send([.startTLS]))
        #expect(m.received(reply(220, "go ahead")) == .startTLSHandshake)
        #expect(m.tlsEstablished() == .send([.ehlo("client.test")]))
        guard case .connectionReady(_, .tls) = m.received(ehloAll) else { Issue.record(); return }
    }

    @Test func repliesBeforeHandshakeAreAnAttack() {
        var m = machine(.requiredStartTLS)
        _ = m.received(ehloAll)
        _ = m.received(reply(220))
        guard case .close(let reason) = m.received(reply(250, "injected")) else { Issue.record(); return }
        #expect(reason.error?.code == .protocolViolation)
    }

    @Test func requiredTLSNotOffered() {
        var m = machine(.requiredStartTLS)
        guard case .close(let reason) = m.received(ehloPlain) else { Issue.record(); return }
        #expect(reason.error?.code == .tlsNotAvailable)
        #expect(reason.duringSetup)
    }

    @Test func requiredTLSRefused() {
        var m = machine(.requiredStartTLS)
        _ = m.received(ehloAll)
        guard case .close(let reason) = m.received(reply(454, "4.7.0 TLS not available")) else { Issue.record(); return }
        #expect(reason.error?.code == .tlsNotAvailable)
    }

    /// RFC 7435: encrypt when offered, go on in clear otherwise, and say which happened.
    @Test func opportunisticTLSGoesOnWhenRefusedOrAbsentAndSaysSo() {
        var m = machine(.opportunisticStartTLS)
        _ = m.received(ehloAll)
        #expect(m.received(reply(454, "4.7.0 TLS not available")) == .connectionReady(
            SMTPCapabilities(ehloReply: ehloAll), .plainRefused(reply(454, "4.7.0 TLS not available"))
        ))
        var n = machine(.opportunisticStartTLS)
        #expect(n.received(ehloPlain) == .connectionReady(SMTPCapabilities(ehloReply: ehloPlain), .plainNotOffered))
        var o = machine(.opportunisticStartTLS)
        #expect(o.received(ehloAll) == .send([.startTLS]))
        #expect(o.received(reply(220, "go ahead")) == .startTLSHandshake)
        #expect(o.tlsEstablished() == .send([.ehlo("client.test")]))
        #expect(o.received(ehloAll) == .connectionReady(SMTPCapabilities(ehloReply: ehloAll), .tls))
    }

    @Test func authPlainAfterTLS() {
        var m = machine(.requiredStartTLS, credentials: .password(username: "user", password: "pass"))
        _ = m.received(ehloAll)
        _ = m.received(reply(220))
        _ = m.tlsEstablished()
        #expect(m.received(ehloAll) == .send([.auth(mechanism: "PLAIN", initialResponse: "AHVzZXIAcGFzcw==")]))
        guard case .connectionReady = m.received(reply(235, "2.7.0 ok")) else { Issue.record(); return }
    }

    @Test func authLogin() {
        var m = machine(.implicitTLS, credentials: .password(username: "user", password: "pass"))
        let ehlo = SMTPReply(code: 250, lines: ["mx", "AUTH LOGIN"])
        #expect(m.received(ehlo) == .send([.auth(mechanism: "LOGIN", initialResponse: nil)]))
        #expect(m.received(reply(334, "VXNlcm5hbWU6")) == .send([.authResponse("dXNlcg==")]))
        #expect(m.received(reply(334, "UGFzc3dvcmQ6")) == .send([.authResponse("cGFzcw==")]))
        guard case .connectionReady = m.received(reply(235)) else { Issue.record(); return }
    }

    @Test func authXOAUTH2Failure() {
        var m = machine(.implicitTLS, credentials: .oauth2(username: "u@x", accessToken: "tok"))
        guard case .send(let commands) = m.received(ehloAll), case .auth(mechanism: "XOAUTH2", _)? = commands.first else { Issue.record(); return }
        #expect(m.received(reply(334, "eyJzdGF0dXMiOiI0MDEifQ==")) == .send([.authResponse("")]))
        guard case .close(let reason) = m.received(reply(535, "5.7.8 bad")) else { Issue.record(); return }
        #expect(reason.error?.code == .authenticationFailed)
        #expect(!(reason.error?.description.contains("tok") ?? true))
    }

    @Test func wrongPassword() {
        var m = machine(.implicitTLS, credentials: .password(username: "user", password: "hunter2"))
        _ = m.received(ehloAll)
        guard case .close(let reason) = m.received(reply(535, "5.7.8 Authentication credentials invalid")) else { Issue.record(); return }
        #expect(reason.error?.code == .authenticationFailed)
        #expect(reason.duringSetup)
        #expect(!"\(reason)".contains("hunter2"))
    }

    @Test func noAuthInClear() {
        var m = machine(.opportunisticStartTLS, credentials: .password(username: "u", password: "p"))
        guard case .close(let reason) = m.received(ehloPlain) else { Issue.record(); return }
        #expect(reason.error?.code == .insecureAuthenticationRefused)
        #expect(reason.error?.message == "credentials are only sent over TLS, and this session is in clear: the server does not offer STARTTLS")
        // The advice names the URL setting that allows it, and where it is allowed.
        #expect(reason.error?.hint?.contains("cleartext_auth=loopback") == true)
    }

    @Test func authInClearWhenAllowed() {
        var m = machine(.none, credentials: .password(username: "u", password: "p"), allowPlain: true)
        guard case .send(let commands) = m.received(ehloAll), case .auth(mechanism: "PLAIN", _)? = commands.first else { Issue.record(); return }
    }

    @Test func noUsableMechanism() {
        var m = machine(.implicitTLS, credentials: .password(username: "u", password: "p"))
        guard case .close(let reason) = m.received(SMTPReply(code: 250, lines: ["mx", "AUTH CRAM-MD5"])) else { Issue.record(); return }
        #expect(reason.error?.code == .authenticationNotSupported)
    }

    @Test func timeoutsFollowTheStep() {
        var m = Machine(configuration: .init(security: .none))
        #expect(m.waitingFor == nil)
        _ = m.connected()
        #expect(m.waitingFor == .greeting)
        _ = m.received(reply(220))
        _ = m.received(SMTPReply(code: 250, lines: ["mx"]))
        #expect(m.waitingFor == nil)
        _ = m.sendMessage(envelope("a@x.test"), body: body)
        #expect(m.waitingFor == .mail)
        _ = m.received(reply(250))
        #expect(m.waitingFor == .rcpt)
        _ = m.received(reply(250))
        #expect(m.waitingFor == .dataInitiation)
        _ = m.received(reply(354))
        #expect(m.waitingFor == .dataTermination)
    }
}

@Suite struct StateMachineTransactionTests {
    @Test func pipelinedGroupThenBody() {
        var m = machine()
        let action = m.sendMessage(envelope("a@x.test", "b@x.test"), body: body)
        #expect(action == .send([.mailFrom("bounce+t1@sender.test", parameters: ["SIZE=\(body.messageSize)"]), .rcptTo("a@x.test"), .rcptTo("b@x.test"), .data]))
        #expect(m.received(reply(250)) == .wait)
        #expect(m.received(reply(250)) == .wait)
        #expect(m.received(reply(550, "5.1.1 no such user")) == .wait)
        #expect(m.received(reply(354)) == .send([.messageBody(body.bytes)]))
        guard case .messageFinished(let result, let commands) = m.received(reply(250, "2.0.0 queued as 1")) else { Issue.record(); return }
        #expect(commands.isEmpty)
        #expect(result.recipients.map(\.status) == [.accepted, .permanentFailure])
        #expect(result.recipients[0].text == "2.0.0 queued as 1")
        #expect(result.recipients[1].enhancedCode == nil)
        #expect(result.recipients[1].code == 550)
        #expect(m.isIdle)
    }

    @Test func oneCommandAtATimeWithoutPipelining() {
        var m = machine(ehlo: ehloPlain)
        #expect(m.sendMessage(envelope("a@x.test", "b@x.test"), body: body) == .send([.mailFrom("bounce+t1@sender.test", parameters: ["SIZE=\(body.messageSize)"])]))
        #expect(m.received(reply(250)) == .send([.rcptTo("a@x.test")]))
        #expect(m.received(reply(451, "4.3.0 try later")) == .send([.rcptTo("b@x.test")]))
        #expect(m.received(reply(250)) == .send([.data]))
        #expect(m.received(reply(354)) == .send([.messageBody(body.bytes)]))
        guard case .messageFinished(let result, _) = m.received(reply(250)) else { Issue.record(); return }
        #expect(result.recipients.map(\.status) == [.transientFailure, .accepted])
    }

    @Test func allRecipientsRefusedWithoutPipeliningSkipsDataAndResets() {
        var m = machine(ehlo: ehloPlain)
        _ = m.sendMessage(envelope("a@x.test"), body: body)
        _ = m.received(reply(250))
        guard case .messageFinished(let result, let commands) = m.received(reply(550)) else { Issue.record(); return }
        #expect(commands == [.rset])
        #expect(result.recipients[0].status == .permanentFailure)
        // The RSET reply is absorbed; the next message waits for it without pipelining.
        #expect(m.waitingFor == .mail)
        #expect(m.sendMessage(envelope("c@x.test"), body: body) == .wait)
        #expect(m.received(reply(250, "reset")) == .send([.mailFrom("bounce+t1@sender.test", parameters: ["SIZE=\(body.messageSize)"])]))
    }

    @Test func pipelinedResetGoesInFrontOfTheNextGroup() {
        var m = machine()
        _ = m.sendMessage(envelope("a@x.test"), body: body)
        _ = m.received(reply(250))
        _ = m.received(reply(550))
        guard case .messageFinished(_, let commands) = m.received(reply(554, "no valid recipients")) else { Issue.record(); return }
        #expect(commands == [.rset])
        guard case .send(let group) = m.sendMessage(envelope("b@x.test"), body: body) else { Issue.record(); return }
        #expect(group.count == 3)
        #expect(m.received(reply(250, "reset ok")) == .wait)
        #expect(m.received(reply(250)) == .wait)
        #expect(m.received(reply(250)) == .wait)
        #expect(m.received(reply(354)) == .send([.messageBody(body.bytes)]))
    }

    @Test func pipelinedDataAcceptedWithoutRecipientsSendsEmptyMessage() {
        var m = machine()
        _ = m.sendMessage(envelope("a@x.test"), body: body)
        _ = m.received(reply(250))
        _ = m.received(reply(550))
        guard case .send(let commands) = m.received(reply(354)), case .messageBody(let empty)? = commands.first else { Issue.record(); return }
        #expect(String(buffer: empty) == ".\r\n")
        guard case .messageFinished(let result, let commands) = m.received(reply(554)) else { Issue.record(); return }
        #expect(commands.isEmpty)
        #expect(result.recipients[0].code == 550)
    }

    @Test func mailFromRefused() {
        var m = machine()
        _ = m.sendMessage(envelope("a@x.test", "b@x.test"), body: body)
        _ = m.received(reply(553, "5.1.8 bad sender"))
        _ = m.received(reply(503, "need MAIL"))
        _ = m.received(reply(503, "need MAIL"))
        guard case .messageFinished(let result, let commands) = m.received(reply(503, "need MAIL")) else { Issue.record(); return }
        #expect(commands.isEmpty)
        #expect(result.recipients.allSatisfy { $0.code == 553 && $0.status == .permanentFailure })
    }

    @Test func refusedAfterData() {
        var m = machine()
        _ = m.sendMessage(envelope("a@x.test", "b@x.test"), body: body)
        _ = m.received(reply(250))
        _ = m.received(reply(250))
        _ = m.received(reply(250))
        _ = m.received(reply(354))
        guard case .messageFinished(let result, let commands) = m.received(reply(552, "5.3.4 too big")) else { Issue.record(); return }
        #expect(commands.isEmpty)
        #expect(result.recipients.allSatisfy { $0.status == .permanentFailure && $0.code == 552 })
    }

    @Test func dataRefused() {
        var m = machine()
        _ = m.sendMessage(envelope("a@x.test"), body: body)
        _ = m.received(reply(250))
        _ = m.received(reply(250))
        guard case .messageFinished(let result, let commands) = m.received(reply(451, "later")) else { Issue.record(); return }
        #expect(commands == [.rset])
        #expect(result.recipients[0].status == .transientFailure)
    }

    @Test func closedMidDataGivesTransientUncertainResults() {
        var m = machine()
        _ = m.sendMessage(envelope("a@x.test", "b@x.test"), body: body)
        _ = m.received(reply(250))
        _ = m.received(reply(550))
        _ = m.received(reply(250))
        _ = m.received(reply(354))
        guard case .close(let reason) = m.errorHappened(MailError(.connectionClosed, "gone")) else { Issue.record(); return }
        let result = try! #require(reason.interruptedMessage)
        #expect(result.recipients.map(\.status) == [.permanentFailure, .transientFailure])
        #expect(result.deliveryUncertain)
        #expect(!reason.duringSetup)
    }

    @Test func fourTwentyOneMidTransaction() {
        var m = machine()
        _ = m.sendMessage(envelope("a@x.test"), body: body)
        guard case .close(let reason) = m.received(reply(421, "4.3.2 shutting down")) else { Issue.record(); return }
        #expect(reason.interruptedMessage?.recipients.first?.code == 421)
        #expect(reason.interruptedMessage?.recipients.first?.status == .transientFailure)
        #expect(reason.interruptedMessage?.deliveryUncertain == false)
    }

    @Test func localRefusals() {
        var m = machine()
        let big = MessageBody(message: [UInt8](repeating: 65, count: 200_000))
        guard case .messageFinished(let result, _) = m.sendMessage(envelope("a@x.test"), body: big) else { Issue.record(); return }
        #expect(result.recipients[0].status == .permanentFailure)
        #expect(result.recipients[0].error?.code == .messageRefusedLocally)
        guard case .messageFinished(let utf8, _) = m.sendMessage(envelope("ünï@x.test"), body: body) else { Issue.record(); return }
        #expect(utf8.recipients[0].error?.code == .messageRefusedLocally)
    }

    @Test func eightBitAndUTF8Parameters() {
        var m = machine(ehlo: SMTPReply(code: 250, lines: ["mx", "8BITMIME", "SMTPUTF8"]))
        guard case .send(let commands) = m.sendMessage(envelope("ünï@x.test"), body: MessageBody(message: Array("é".utf8))) else { Issue.record(); return }
        #expect(commands.first == .mailFrom("bounce+t1@sender.test", parameters: ["BODY=8BITMIME", "SMTPUTF8"]))
    }

    @Test func unsolicitedReplyWhenIdle() {
        var m = machine()
        guard case .close(let reason) = m.received(reply(250)) else { Issue.record(); return }
        #expect(reason.error?.code == .protocolViolation)
        var n = machine()
        guard case .close(let timeout) = n.received(reply(421, "idle timeout")) else { Issue.record(); return }
        #expect(timeout.interruptedMessage == nil)
    }

    @Test func quit() {
        var m = machine()
        #expect(m.quit() == .send([.quit]))
        guard case .close(let reason) = m.received(reply(221, "bye")) else { Issue.record(); return }
        #expect(reason.error == nil)
        #expect(m.isClosed)
    }

    @Test func nextMessageRidesWithTheData() {
        // RFC 2920 §3.1: the data may be the first "command" of a group, so the next MAIL,
        // RCPT and DATA go out in the same write; its replies follow the data's.
        var m = machine()
        #expect(m.canStartMessage)
        _ = m.sendMessage(envelope("a@x.test"), body: body)
        #expect(!m.canStartMessage)
        _ = m.received(reply(250))
        _ = m.received(reply(250))
        #expect(m.received(reply(354)) == .send([.messageBody(body.bytes)]))
        #expect(m.canStartMessage)
        #expect(m.sendMessage(envelope("b@x.test"), body: body) == .send([.mailFrom("bounce+t1@sender.test", parameters: ["SIZE=\(body.messageSize)"]), .rcptTo("b@x.test"), .data]))
        #expect(!m.canStartMessage)
        #expect(m.waitingFor == .dataTermination)
        guard case .messageFinished(let first, let commands) = m.received(reply(250, "first queued")) else { Issue.record(); return }
        #expect(commands.isEmpty)
        #expect(first.recipients.map(\.recipient) == ["a@x.test"])
        #expect(first.allAccepted)
        #expect(m.waitingFor == .mail)
        #expect(m.received(reply(250)) == .wait)
        #expect(m.received(reply(550, "5.1.1 no such user")) == .wait)
        guard case .messageFinished(let second, let reset) = m.received(reply(554, "no valid recipients")) else { Issue.record(); return }
        #expect(reset == [.rset])
        #expect(second.recipients.map(\.status) == [.permanentFailure])
        #expect(second.recipients[0].code == 550)
    }

    @Test func secondMessageWaitsForTheFirstsDataWithoutPipelining() {
        var m = machine(ehlo: ehloPlain)
        _ = m.sendMessage(envelope("a@x.test"), body: body)
        _ = m.received(reply(250))
        _ = m.received(reply(250))
        #expect(m.received(reply(354)) == .send([.messageBody(body.bytes)]))
        #expect(!m.canStartMessage)
        guard case .messageFinished = m.sendMessage(envelope("b@x.test"), body: body) else { Issue.record(); return }
    }

    @Test func closedWithAMessageBehindTheData() {
        var m = dataOnTheWire()
        _ = m.sendMessage(envelope("b@x.test", "c@x.test"), body: body)
        guard case .close(let reason) = m.received(reply(421, "4.3.2 going down")) else { Issue.record(); return }
        #expect(reason.interruptedMessages.count == 2)
        #expect(reason.interruptedMessages.map { $0.recipients.map(\.recipient) } == [["a@x.test"], ["b@x.test", "c@x.test"]])
        // The one behind never reached its data: nothing delivered, safe to send again.
        let behind = reason.interruptedMessages[1]
        #expect(behind.recipients.allSatisfy { $0.status == .transientFailure && $0.code == 421 })
        #expect(!behind.deliveryUncertain)
        #expect(SMTPTransport.failedBeforeData(behind))
        #expect(m.isClosed)
    }

    /// The batch is cancelled while the next message's DATA is already asked for, behind the
    /// data of the one before: that one finishes, the next one's data never goes out.
    @Test func aWithdrawnMessageBehindTheDataEndsTheConnectionAtThe354() {
        var m = dataOnTheWire()
        _ = m.sendMessage(envelope("b@x.test"), body: body)
        m.withdraw()
        guard case .messageFinished(let first, _) = m.received(reply(250, "first queued")) else { Issue.record(); return }
        #expect(first.allAccepted)
        #expect(m.received(reply(250)) == .wait)
        #expect(m.received(reply(250)) == .wait)
        guard case .close(let reason) = m.received(reply(354)) else { Issue.record(); return }
        // QUIT now would be taken as the message's data.
        #expect(!reason.sendQuit)
        #expect(reason.error?.code == .notSent)
        let withdrawn = try! #require(reason.interruptedMessages.first)
        #expect(reason.interruptedMessages.count == 1)
        #expect(withdrawn.recipients.map(\.status) == [.transientFailure])
        #expect(withdrawn.recipients[0].error?.code == .notSent)
        #expect(!withdrawn.deliveryUncertain)
        #expect(m.isClosed)
    }

    /// Withdrawn while DATA is not yet sent (no PIPELINING): no DATA, no further RCPT, and
    /// RSET ends the transaction the server opened; the connection stays usable.
    @Test func aWithdrawnMessageBeforeItsDataEndsWithReset() {
        var m = machine(ehlo: ehloPlain)
        _ = m.sendMessage(envelope("a@x.test", "b@x.test"), body: body)
        m.withdraw()
        guard case .messageFinished(let result, let commands) = m.received(reply(250)) else { Issue.record(); return }
        #expect(commands == [.rset])
        #expect(result.recipients.map(\.status) == [.transientFailure, .transientFailure])
        #expect(result.recipients.allSatisfy { $0.error?.code == .notSent && $0.reply == nil })
        #expect(!result.deliveryUncertain)
        #expect(m.received(reply(250, "reset")) == .wait)
        #expect(m.isIdle)
    }

    /// What the server already refused keeps its answer; a DATA refused needs no close.
    @Test func aWithdrawnMessageTheServerRefusedKeepsItsAnswers() {
        var m = machine()
        _ = m.sendMessage(envelope("a@x.test"), body: body)
        m.withdraw()
        _ = m.received(reply(250))
        _ = m.received(reply(550, "5.1.1 no such user"))
        guard case .messageFinished(let result, let commands) = m.received(reply(554, "no valid recipients")) else { Issue.record(); return }
        #expect(commands == [.rset])
        #expect(result.recipients[0].status == .permanentFailure)
        #expect(result.recipients[0].code == 550)
    }

    /// A message whose data has started is past withdrawing: its reply still counts.
    @Test func aMessageWhoseDataStartedIsNotWithdrawn() {
        var m = dataOnTheWire()
        m.withdraw()
        guard case .messageFinished(let result, _) = m.received(reply(250, "queued")) else { Issue.record(); return }
        #expect(result.allAccepted)
        #expect(m.isIdle)
    }

    @Test func manyMessagesOnOneConnection() {
        var m = machine()
        for index in 0..<5 {
            guard case .send = m.sendMessage(envelope("r\(index)@x.test"), body: body) else { Issue.record(); return }
            _ = m.received(reply(250))
            _ = m.received(reply(250))
            _ = m.received(reply(354))
            guard case .messageFinished(let result, let commands) = m.received(reply(250)), commands.isEmpty else { Issue.record(); return }
            #expect(result.allAccepted)
        }
    }
}
