/// The SMTP client protocol (RFC 5321, 3207, 4954, 2920) as a pure state machine.
///
/// It does no I/O. The channel handler feeds it events — connected, a reply, the TLS
/// handshake finished, a message to send, an error — and carries out the ``Action`` it
/// returns. Every path, including faults, is tested without sockets.
///
/// One connection carries many messages. With PIPELINING (RFC 2920 §3.1) MAIL, every RCPT
/// and DATA go out in one write and the replies are matched in order; without it one
/// command is sent per reply. A transaction that was opened but not completed is closed
/// with RSET before the next one; after the final "." no RSET is needed because RFC 5321
/// §4.1.1.4 clears the transaction state. So, with PIPELINING, the next message's MAIL,
/// RCPT and DATA may follow the data in the same write (RFC 2920 §3.1: the message content
/// may be the first "command" of a group): one round trip per message. At most two
/// messages are open at once, the one whose final reply is due and the one behind it.
public struct SMTPClientStateMachine: Sendable {
    /// What the handler must do next.
    public enum Action: Sendable, Hashable {
        /// Nothing; wait for the next event.
        case wait
        /// Write these commands in one flush.
        case send([SMTPCommand])
        /// Discard any bytes already read, put TLS in front, then call ``tlsEstablished()``.
        case startTLSHandshake
        /// Session set up; the connection can carry messages.
        case connectionReady(SMTPCapabilities, SessionSecurity)
        /// The current message is done; write `send` (RSET, when needed) and hand back the result.
        case messageFinished(DeliveryResult, send: [SMTPCommand])
        /// Close the connection for the given reason.
        case close(CloseReason)
    }

    /// Why and how to close.
    public struct CloseReason: Sendable, Hashable {
        /// Nil after a clean QUIT.
        public var error: MailError?
        /// Write QUIT before closing (the server is still talking to us).
        public var sendQuit: Bool
        /// The session never became ready: fail the connection attempt with ``error``.
        public var duringSetup: Bool
        /// The messages that were in flight, oldest first, with a result for every recipient.
        public var interruptedMessages: [DeliveryResult]
        /// The oldest message that was in flight.
        public var interruptedMessage: DeliveryResult? { interruptedMessages.first }
    }

    /// Whether a ready session is encrypted and, if not, why not; logged by the connection
    /// so that an operator sees what opportunistic TLS ended up doing.
    public enum SessionSecurity: Sendable, Hashable, CustomStringConvertible {
        /// TLS from the first byte (implicit) or after STARTTLS.
        case tls
        /// In clear because the configuration asked for no TLS.
        case plainAsConfigured
        /// In clear: opportunistic TLS, and the server's EHLO did not offer STARTTLS.
        case plainNotOffered
        /// In clear: opportunistic TLS, and the server refused STARTTLS with this reply.
        case plainRefused(SMTPReply)

        public var isEncrypted: Bool { self == .tls }

        public var description: String {
            switch self {
            case .tls: "encrypted with TLS"
            case .plainAsConfigured: "in clear, as configured (tls=none)"
            case .plainNotOffered: "in clear: the server does not offer STARTTLS"
            case .plainRefused(let reply): "in clear: the server refused STARTTLS (\(reply))"
            }
        }
    }

    /// Which RFC 5321 §4.5.3.2 timeout applies to the reply we wait for.
    public enum Wait: Sendable, Hashable {
        case greeting, mail, rcpt, dataInitiation, dataTermination
    }

    enum Step: Sendable, Hashable {
        case rset, mail, rcpt(Int), data, body, emptyBody
    }

    struct Transaction: Sendable {
        var envelope: Envelope
        var body: MessageBody
        /// RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8, as this message needs.
        var parameters: [String]
        var results: [RecipientResult?]
        var mailReply: SMTPReply?
        var mailAccepted = false
        var unsent: [Step]
        var inFlight: [Step]
        /// The caller wants its data not sent (``SMTPClientStateMachine/withdraw()``).
        var withdrawn = false

        var acceptedRecipientCount: Int {
            // Counted without making the array of them: this is asked for every message.
            results.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
        }
    }

    enum AuthStep: Sendable {
        case plain, loginUsername, loginPassword, xoauth2, xoauth2Error
    }

    enum State: Sendable {
        case initial
        case greeting
        case ehlo
        case helo
        case startTLS
        case tlsHandshake
        case auth(AuthStep)
        case idle
        case transaction(Transaction)
        case quitting(repliesToAbsorb: Int)
        case closed
    }

    private let configuration: Configuration
    private var state: State = .initial
    private var tlsActive: Bool
    /// Set when opportunistic TLS goes on in clear after a refused STARTTLS.
    private var startTLSRefusal: SMTPReply?
    private var capabilities = SMTPCapabilities()
    /// RSET replies still due while idle.
    private var resetRepliesDue = 0
    /// The message started behind the current one while its final reply is due; only in
    /// `.transaction`.
    private var pipelined: Transaction?

    /// The subset of ``SMTPClientConfiguration`` the protocol needs.
    public struct Configuration: Sendable {
        public var security: SMTPClientConfiguration.Security
        public var credentials: SMTPClientConfiguration.Credentials?
        public var allowsPlaintextAuthentication: Bool
        public var clientName: String

        public init(
            security: SMTPClientConfiguration.Security,
            credentials: SMTPClientConfiguration.Credentials? = nil,
            allowsPlaintextAuthentication: Bool = false,
            clientName: String = "localhost"
        ) {
            self.security = security
            self.credentials = credentials
            self.allowsPlaintextAuthentication = allowsPlaintextAuthentication
            self.clientName = clientName
        }

        public init(_ client: SMTPClientConfiguration) {
            self.init(
                security: client.security,
                credentials: client.credentials,
                allowsPlaintextAuthentication: client.allowsPlaintextAuthenticationOnLoopback && client.hostIsLoopback,
                clientName: client.clientName
            )
        }
    }

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.tlsActive = configuration.security == .implicitTLS
    }

    /// What the server announced in its last EHLO reply.
    public var serverCapabilities: SMTPCapabilities { capabilities }

    /// Whether the connection can take a message now.
    public var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    /// Whether ``sendMessage(_:body:)`` may be called now: when idle, or when the server
    /// pipelines, the current message's data is sent and only its final reply is due, and no
    /// other message is already waiting behind it.
    public var canStartMessage: Bool {
        switch state {
        case .idle:
            return true
        case .transaction(let current):
            return capabilities.pipelining && pipelined == nil && current.unsent.isEmpty && current.inFlight == [.body]
        default:
            return false
        }
    }

    /// Whether the connection is finished.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// The reply we wait for, for the handler's timer; nil when none is due.
    public var waitingFor: Wait? {
        switch state {
        case .initial, .closed: return nil
        case .tlsHandshake, .greeting, .ehlo, .helo, .startTLS, .auth, .quitting: return .greeting
        case .idle: return resetRepliesDue > 0 ? .mail : nil
        case .transaction(let transaction):
            switch transaction.inFlight.first {
            case .rset, .mail: return .mail
            case .rcpt: return .rcpt
            case .data: return .dataInitiation
            case .body, .emptyBody: return .dataTermination
            case nil: return nil
            }
        }
    }

    // MARK: - Events

    /// The TCP connection (and, for implicit TLS, the handshake) is up.
    public mutating func connected() -> Action {
        guard case .initial = state else { return .wait }
        state = .greeting
        return .wait
    }

    /// The TLS handshake after STARTTLS finished.
    public mutating func tlsEstablished() -> Action {
        guard case .tlsHandshake = state else { return .wait }
        tlsActive = true
        // RFC 3207 §4.2: forget everything learnt before TLS and say EHLO again.
        capabilities = SMTPCapabilities()
        state = .ehlo
        return .send([.ehlo(configuration.clientName)])
    }

    /// Start sending a message; only valid when ``canStartMessage``.
    public mutating func sendMessage(_ envelope: Envelope, body: MessageBody) -> Action {
        guard canStartMessage else {
            let error = MailError(.protocolViolation, "the connection is busy or closed")
            return .messageFinished(Self.result(for: envelope, transient: error), send: [])
        }
        if envelope.needsSMTPUTF8 && !capabilities.smtpUTF8 {
            let error = MailError(.messageRefusedLocally, "an address is not ASCII and the server does not offer SMTPUTF8 (RFC 6531)")
            return .messageFinished(Self.result(for: envelope, permanent: error), send: [])
        }
        if let limit = capabilities.maximumSize, limit > 0, body.messageSize > limit {
            let error = MailError(.messageRefusedLocally, "the message has \(body.messageSize) bytes; the server takes at most \(limit) (RFC 1870 SIZE)")
            return .messageFinished(Self.result(for: envelope, permanent: error), send: [])
        }
        var parameters: [String] = []
        if capabilities.maximumSize != nil { parameters.append("SIZE=\(body.messageSize)") }
        if body.hasEightBitData && capabilities.eightBitMIME { parameters.append("BODY=8BITMIME") }
        if envelope.needsSMTPUTF8 { parameters.append("SMTPUTF8") }

        var steps: [Step] = [.mail]
        steps.reserveCapacity(envelope.recipients.count + 2)
        for index in envelope.recipients.indices { steps.append(.rcpt(index)) }
        steps.append(.data)
        var transaction = Transaction(
            envelope: envelope,
            body: body,
            parameters: parameters,
            results: Array(repeating: nil, count: envelope.recipients.count),
            unsent: steps,
            inFlight: Array(repeating: .rset, count: resetRepliesDue)
        )
        resetRepliesDue = 0
        let commands = nextCommands(&transaction)
        if case .transaction = state {
            // Behind the current message's data: its replies come after that one's.
            pipelined = transaction
        } else {
            state = .transaction(transaction)
        }
        return commands.isEmpty ? .wait : .send(commands)
    }

    /// The caller wants no further message data to go out (its batch was cancelled): every
    /// message whose data has not started is withdrawn, nothing about it delivered. A
    /// message whose DATA is not yet sent ends with RSET; one whose DATA is already asked
    /// for (pipelined behind the data of the one before) ends the connection at the 354,
    /// since only the final "." commits a message and a connection lost before it aborts
    /// the transaction (RFC 5321 §4.1.1.4, §3.8). A message whose data has started
    /// finishes as usual.
    public mutating func withdraw() {
        guard case .transaction(var current) = state else { return }
        if Self.withdraw(&current) { state = .transaction(current) }
        if var next = pipelined, Self.withdraw(&next) { pipelined = next }
    }

    /// Whether the transaction was withdrawn now.
    private static func withdraw(_ transaction: inout Transaction) -> Bool {
        guard !transaction.withdrawn, !transaction.inFlight.contains(.body), !transaction.inFlight.contains(.emptyBody) else { return false }
        transaction.withdrawn = true
        // Ask for nothing more; what is in flight is answered and absorbed.
        transaction.unsent.removeAll()
        return true
    }

    /// Say QUIT and close once the server answers.
    public mutating func quit() -> Action {
        switch state {
        case .idle:
            state = .quitting(repliesToAbsorb: resetRepliesDue + 1)
            resetRepliesDue = 0
            return .send([.quit])
        case .closed, .quitting:
            return .wait
        default:
            return close(MailError(.shutDown, "the connection was closed by the client"), sendQuit: true)
        }
    }

    /// The connection failed, closed or timed out.
    public mutating func errorHappened(_ error: MailError) -> Action {
        if case .closed = state { return .wait }
        if case .quitting = state {
            state = .closed
            return .close(CloseReason(error: nil, sendQuit: false, duringSetup: false, interruptedMessages: []))
        }
        return close(error, sendQuit: false)
    }

    /// A complete reply arrived.
    public mutating func received(_ reply: SMTPReply) -> Action {
        // RFC 5321 §3.8: 421 may come at any time; the server is going away.
        if reply.code == 421, !isQuitting {
            return close(MailError(.serviceNotAvailable, "the server closed the session", reply: reply), sendQuit: false)
        }
        switch state {
        case .initial, .closed:
            return .wait
        case .tlsHandshake:
            // Anything here was sent before the handshake: RFC 3207 §5 says ignore it; we
            // take it as the attack it is (CVE-2011-0411) and hang up.
            return close(MailError(.protocolViolation, "the server sent data after its 220 to STARTTLS, before the TLS handshake"), sendQuit: false)
        case .greeting:
            guard reply.code == 220 else {
                return close(MailError(.serviceNotAvailable, "the server refused the connection in its greeting", reply: reply), sendQuit: true)
            }
            state = .ehlo
            return .send([.ehlo(configuration.clientName)])
        case .ehlo:
            return receivedEHLO(reply)
        case .helo:
            guard reply.isPositiveCompletion else {
                return close(MailError(.serviceNotAvailable, "the server refused both EHLO and HELO", reply: reply), sendQuit: true)
            }
            capabilities = SMTPCapabilities()
            return afterHello()
        case .startTLS:
            guard reply.code == 220 else {
                if configuration.security == .requiredStartTLS {
                    return close(MailError(.tlsNotAvailable, "the server refused STARTTLS", reply: reply), sendQuit: true)
                }
                // RFC 3207 §4: after a refusal the client may go on without TLS; RFC 7435 §1:
                // opportunistic security falls back to clear text when encryption is not to be had.
                startTLSRefusal = reply
                return authenticateOrReady()
            }
            state = .tlsHandshake
            return .startTLSHandshake
        case .auth(let step):
            return receivedAuth(reply, step: step)
        case .idle:
            if resetRepliesDue > 0 {
                resetRepliesDue -= 1
                return .wait
            }
            return close(MailError(.protocolViolation, "the server sent a reply nobody asked for", reply: reply), sendQuit: true)
        case .transaction(var transaction):
            state = .closed // placeholder while mutating; always replaced below
            let action = receivedInTransaction(reply, &transaction)
            if case .closed = state {
                if case .close = action {} else { state = .transaction(transaction) }
            }
            return action
        case .quitting(let remaining):
            if remaining <= 1 {
                state = .closed
                return .close(CloseReason(error: nil, sendQuit: false, duringSetup: false, interruptedMessages: []))
            }
            state = .quitting(repliesToAbsorb: remaining - 1)
            return .wait
        }
    }

    private var isQuitting: Bool {
        if case .quitting = state { return true }
        return false
    }

    // MARK: - Session setup

    private mutating func receivedEHLO(_ reply: SMTPReply) -> Action {
        guard reply.isPositiveCompletion else {
            // RFC 5321 §4.1.4: a server that does not know EHLO answers 500/502; try HELO,
            // unless we need an extension HELO cannot give.
            if reply.isPermanentFailure && !tlsActive && configuration.security != .requiredStartTLS && configuration.credentials == nil {
                state = .helo
                return .send([.helo(configuration.clientName)])
            }
            return close(MailError(.serviceNotAvailable, "the server refused EHLO", reply: reply), sendQuit: true)
        }
        capabilities = SMTPCapabilities(ehloReply: reply)
        return afterHello()
    }

    private mutating func afterHello() -> Action {
        if !tlsActive {
            switch configuration.security {
            case .requiredStartTLS:
                guard capabilities.startTLS else {
                    return close(MailError(.tlsNotAvailable, "TLS is required but the server does not offer STARTTLS"), sendQuit: true)
                }
                state = .startTLS
                return .send([.startTLS])
            case .opportunisticStartTLS where capabilities.startTLS:
                state = .startTLS
                return .send([.startTLS])
            default:
                break
            }
        }
        return authenticateOrReady()
    }

    private mutating func authenticateOrReady() -> Action {
        guard let credentials = configuration.credentials else { return ready() }
        guard tlsActive || configuration.allowsPlaintextAuthentication else {
            return close(MailError(
                .insecureAuthenticationRefused,
                "credentials are only sent over TLS, and this session is \(sessionSecurity)"
            ), sendQuit: true)
        }
        let offered = capabilities.authMechanisms
        switch credentials {
        case .oauth2(let username, let token):
            guard offered.contains("XOAUTH2") else { return authNotSupported() }
            state = .auth(.xoauth2)
            let initial = Base64.encode(Array("user=\(username)\u{1}auth=Bearer \(token)\u{1}\u{1}".utf8))
            return .send([.auth(mechanism: "XOAUTH2", initialResponse: initial)])
        case .password(let username, let password):
            if offered.contains("PLAIN") {
                state = .auth(.plain)
                // RFC 4616 §2: authzid NUL authcid NUL passwd.
                let initial = Base64.encode(Array("\u{0}\(username)\u{0}\(password)".utf8))
                return .send([.auth(mechanism: "PLAIN", initialResponse: initial)])
            }
            if offered.contains("LOGIN") {
                state = .auth(.loginUsername)
                return .send([.auth(mechanism: "LOGIN", initialResponse: nil)])
            }
            return authNotSupported()
        }
    }

    private mutating func authNotSupported() -> Action {
        let offered = capabilities.authMechanisms.isEmpty ? "none" : capabilities.authMechanisms.joined(separator: " ")
        return close(MailError(.authenticationNotSupported, "the server offers no usable AUTH mechanism (offered: \(offered))"), sendQuit: true)
    }

    private mutating func receivedAuth(_ reply: SMTPReply, step: AuthStep) -> Action {
        if reply.code == 235 { return ready() }
        guard let credentials = configuration.credentials else { return ready() }
        switch (step, reply.code) {
        case (.loginUsername, 334):
            state = .auth(.loginPassword)
            return .send([.authResponse(Base64.encode(Array(credentials.username.utf8)))])
        case (.loginPassword, 334):
            guard case .password(_, let password) = credentials else { break }
            state = .auth(.plain)
            return .send([.authResponse(Base64.encode(Array(password.utf8)))])
        case (.xoauth2, 334):
            // The 334 carries a JSON error; an empty line asks for the final failure reply.
            state = .auth(.xoauth2Error)
            return .send([.authResponse("")])
        default:
            break
        }
        return close(MailError(.authenticationFailed, "the server rejected the credentials for \(credentials.username)", reply: reply), sendQuit: true)
    }

    private mutating func ready() -> Action {
        state = .idle
        return .connectionReady(capabilities, sessionSecurity)
    }

    private var sessionSecurity: SessionSecurity {
        if tlsActive { return .tls }
        if let startTLSRefusal { return .plainRefused(startTLSRefusal) }
        return configuration.security == .none ? .plainAsConfigured : .plainNotOffered
    }

    // MARK: - Transactions

    private func nextCommands(_ transaction: inout Transaction) -> [SMTPCommand] {
        var commands: [SMTPCommand] = []
        // RFC 2920 §3.1: RSET, MAIL and RCPT may be grouped, DATA ends a group. Without
        // PIPELINING, one command waits for the reply to the one before it.
        while let step = transaction.unsent.first {
            if !capabilities.pipelining && !transaction.inFlight.isEmpty { break }
            transaction.unsent.removeFirst()
            transaction.inFlight.append(step)
            commands.append(command(for: step, transaction))
            if !capabilities.pipelining || step == .data { break }
        }
        return commands
    }

    private func command(for step: Step, _ transaction: Transaction) -> SMTPCommand {
        switch step {
        case .rset: .rset
        case .mail: .mailFrom(transaction.envelope.returnPath, parameters: transaction.parameters)
        case .rcpt(let index): .rcptTo(transaction.envelope.recipients[index])
        case .data: .data
        case .body: .messageBody(transaction.body.bytes)
        case .emptyBody: .messageBody(Self.emptyBody)
        }
    }

    private static let emptyBody = MessageBody(message: [UInt8]()).bytes

    private mutating func receivedInTransaction(_ reply: SMTPReply, _ transaction: inout Transaction) -> Action {
        guard !transaction.inFlight.isEmpty else {
            return close(MailError(.protocolViolation, "the server sent a reply nobody asked for", reply: reply), sendQuit: true, transaction: transaction)
        }
        let step = transaction.inFlight.removeFirst()
        switch step {
        case .rset:
            break
        case .mail:
            transaction.mailReply = reply
            transaction.mailAccepted = reply.isPositiveCompletion
            if !reply.isPositiveCompletion {
                // The sender was refused: every recipient shares that fate. Pipelined RCPT
                // and DATA replies are still coming and will be absorbed.
                for index in transaction.results.indices where transaction.results[index] == nil {
                    transaction.results[index] = Self.failure(transaction.envelope.recipients[index], reply)
                }
                transaction.unsent.removeAll()
            }
        case .rcpt(let index):
            if transaction.results[index] == nil && !reply.isPositiveCompletion {
                transaction.results[index] = Self.failure(transaction.envelope.recipients[index], reply)
            }
            if !transaction.mailAccepted, transaction.results[index] == nil {
                transaction.results[index] = Self.failure(transaction.envelope.recipients[index], transaction.mailReply ?? reply)
            }
            if transaction.acceptedRecipientCount == 0 && transaction.unsent == [.data] {
                // No recipient left: do not start DATA; close the open transaction with RSET.
                transaction.unsent.removeAll()
            }
        case .data:
            if reply.code == 354 && transaction.withdrawn {
                // The server waits for data that must not go out: QUIT would be read as
                // data, so the connection is dropped and the server discards the transaction.
                return close(Self.withdrawal, sendQuit: false, transaction: transaction)
            }
            if reply.code == 354 {
                if transaction.acceptedRecipientCount == 0 || !transaction.mailAccepted {
                    // RFC 2920 §3.1: DATA was pipelined and accepted though no recipient was;
                    // send an empty message that the server will refuse.
                    transaction.inFlight.append(.emptyBody)
                    return .send([command(for: .emptyBody, transaction)])
                }
                transaction.inFlight.append(.body)
                return .send([command(for: .body, transaction)])
            }
            for index in transaction.results.indices where transaction.results[index] == nil {
                transaction.results[index] = Self.failure(transaction.envelope.recipients[index], reply)
            }
        case .body:
            for index in transaction.results.indices where transaction.results[index] == nil {
                transaction.results[index] = reply.isPositiveCompletion
                    ? RecipientResult(recipient: transaction.envelope.recipients[index], status: .accepted, reply: reply)
                    : Self.failure(transaction.envelope.recipients[index], reply)
            }
            return finish(transaction, needsReset: false)
        case .emptyBody:
            return finish(transaction, needsReset: false)
        }
        if transaction.inFlight.isEmpty && transaction.unsent.isEmpty {
            // Ended before the data: RSET if the server opened a transaction (RFC 5321 §4.1.1.5).
            return finish(transaction, needsReset: transaction.mailAccepted)
        }
        let commands = nextCommands(&transaction)
        return commands.isEmpty ? .wait : .send(commands)
    }

    /// Why a withdrawn message was not sent: ``MailError/Code/notSent``, free to send again.
    static let withdrawal = MailError(.notSent, "withdrawn before its data was sent")

    private mutating func finish(_ transaction: Transaction, needsReset: Bool) -> Action {
        let result = DeliveryResult(recipients: transaction.results.enumerated().map { index, result in
            result ?? RecipientResult(
                recipient: transaction.envelope.recipients[index],
                status: .transientFailure,
                error: transaction.withdrawn ? Self.withdrawal : MailError(.protocolViolation, "the exchange ended without a reply for this recipient")
            )
        })
        if let next = pipelined {
            // needsReset is false here: the next message was only started after this one's data.
            pipelined = nil
            state = .transaction(next)
            return .messageFinished(result, send: [])
        }
        state = .idle
        if needsReset {
            resetRepliesDue += 1
            return .messageFinished(result, send: [.rset])
        }
        return .messageFinished(result, send: [])
    }

    private mutating func close(_ error: MailError, sendQuit: Bool, transaction: Transaction? = nil) -> Action {
        var interrupted: [DeliveryResult] = []
        var duringSetup = false
        switch state {
        case .transaction(let current):
            interrupted.append(Self.interruptedResult(transaction ?? current, error))
        case .closed:
            if let transaction { interrupted.append(Self.interruptedResult(transaction, error)) }
        case .idle, .quitting:
            break
        default:
            duringSetup = true
        }
        if let next = pipelined {
            interrupted.append(Self.interruptedResult(next, error))
            pipelined = nil
        }
        state = .closed
        return .close(CloseReason(error: error, sendQuit: sendQuit, duringSetup: duringSetup, interruptedMessages: interrupted))
    }

    private static func interruptedResult(_ transaction: Transaction, _ error: MailError) -> DeliveryResult {
        DeliveryResult(recipients: transaction.results.enumerated().map { index, result in
            result ?? RecipientResult(
                recipient: transaction.envelope.recipients[index],
                status: error.reply.map { $0.isPermanentFailure ? .permanentFailure : .transientFailure } ?? .transientFailure,
                reply: error.reply,
                error: error
            )
        }, deliveryUncertain: error.reply == nil && transaction.inFlight.first == .body)
    }

    private static func failure(_ recipient: String, _ reply: SMTPReply) -> RecipientResult {
        // Anything that is not 2yz or 5yz (4yz, or a stray 3yz) may work another time.
        RecipientResult(recipient: recipient, status: reply.isPermanentFailure ? .permanentFailure : .transientFailure, reply: reply)
    }

    static func result(for envelope: Envelope, transient error: MailError) -> DeliveryResult {
        DeliveryResult(recipients: envelope.recipients.map { RecipientResult(recipient: $0, status: .transientFailure, error: error) })
    }

    static func result(for envelope: Envelope, permanent error: MailError) -> DeliveryResult {
        DeliveryResult(recipients: envelope.recipients.map { RecipientResult(recipient: $0, status: .permanentFailure, error: error) })
    }
}
