/// The server side of SMTP as a pure state machine: the channel handler feeds it lines
/// and results of the application's hooks, and carries out the ``Action``s.
///
/// PIPELINING (RFC 2920) needs nothing special here: the handler feeds lines one by one
/// and holds back further lines while a hook (recipient check, message handler) runs, so
/// replies always come out in command order.
public struct SMTPServerStateMachine: Sendable {
    public enum Action: Sendable, Hashable {
        case wait
        /// Write this reply (one or more lines, each without CRLF).
        case reply(SMTPReply)
        /// Write the 220 reply, then put TLS in front and forget buffered input (RFC 3207 §4.2).
        case replyThenStartTLS(SMTPReply)
        /// Ask the application whether to take this recipient; then call ``recipientChecked(_:)``.
        case checkRecipient(String)
        /// Hand the message to the application; then call ``messageHandled(_:)``.
        case deliver(envelope: ReceivedEnvelope, data: [UInt8])
        /// Write the reply (if any) and close.
        case close(SMTPReply?)
    }

    public struct Configuration: Sendable {
        public var serverName: String
        public var maximumMessageSize: Int
        public var maximumRecipients: Int
        public var offersStartTLS: Bool

        public init(serverName: String, maximumMessageSize: Int = 25_000_000, maximumRecipients: Int = 100, offersStartTLS: Bool = false) {
            self.serverName = serverName
            self.maximumMessageSize = maximumMessageSize
            self.maximumRecipients = maximumRecipients
            self.offersStartTLS = offersStartTLS
        }
    }

    enum State: Sendable {
        case greeting
        case ready
        case mail
        case checking
        case data
        case delivering
        case tlsStarting
        case closed
    }

    private let configuration: Configuration
    private var state: State = .greeting
    private var greeted = false
    private var tlsActive: Bool
    private var reversePath = ""
    private var recipients: [String] = []
    private var data: [UInt8] = []
    private var dataTooLarge = false
    private var pendingRecipient = ""

    public init(configuration: Configuration, tlsActive: Bool = false) {
        self.configuration = configuration
        self.tlsActive = tlsActive
    }

    /// Waiting for the recipient check or the message handler (not for a TLS handshake,
    /// which needs to read): the connection reads nothing more meanwhile.
    public var isWaitingForHandler: Bool {
        switch state {
        case .checking, .delivering: true
        default: false
        }
    }

    /// Whether the handler should hold back further input (a hook is running, or TLS starting).
    public var isWaitingForApplication: Bool {
        switch state {
        case .checking, .delivering, .tlsStarting: true
        default: false
        }
    }

    /// Whether the next input line is message data.
    public var isReadingData: Bool {
        if case .data = state { return true }
        return false
    }

    public mutating func connected() -> Action {
        state = .ready
        return .reply(SMTPReply(code: 220, lines: ["\(configuration.serverName) ESMTP"]))
    }

    /// The handshake after STARTTLS finished.
    public mutating func tlsEstablished() {
        tlsActive = true
        // RFC 3207 §4.2: the server forgets the EHLO and any transaction.
        greeted = false
        resetTransaction()
        state = .ready
    }

    /// One line from the client, without its CRLF.
    public mutating func received(line: [UInt8]) -> Action {
        switch state {
        case .data:
            return receivedDataLine(line)
        case .closed, .checking, .delivering, .tlsStarting, .greeting:
            return .wait
        case .ready, .mail:
            break
        }
        guard line.count <= 2048 else {
            return .reply(SMTPReply(code: 500, enhancedCode: EnhancedStatusCode(statusClass: 5, subject: 5, detail: 2), lines: ["line too long"]))
        }
        let command: SMTPServerCommand
        do {
            command = try SMTPServerCommand.parse(Substring(String(decoding: line, as: UTF8.self)))
        } catch {
            return .reply(SMTPReply(code: 501, enhancedCode: EnhancedStatusCode(statusClass: 5, subject: 5, detail: 4), lines: [error.message]))
        }
        return received(command)
    }

    private mutating func received(_ command: SMTPServerCommand) -> Action {
        switch command {
        case .ehlo(let domain):
            greeted = true
            resetTransaction()
            var lines = ["\(configuration.serverName) greets \(domain)", "PIPELINING", "SIZE \(configuration.maximumMessageSize)", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8"]
            if configuration.offersStartTLS && !tlsActive { lines.append("STARTTLS") }
            return .reply(SMTPReply(code: 250, lines: lines))
        case .helo(let domain):
            greeted = true
            resetTransaction()
            return .reply(SMTPReply(code: 250, lines: ["\(configuration.serverName) greets \(domain)"]))
        case .startTLS:
            guard configuration.offersStartTLS, !tlsActive else {
                return .reply(SMTPReply(code: 502, enhancedCode: .init(statusClass: 5, subject: 5, detail: 1), lines: ["STARTTLS not available"]))
            }
            state = .tlsStarting
            return .replyThenStartTLS(SMTPReply(code: 220, enhancedCode: .init(statusClass: 2, subject: 0, detail: 0), lines: ["ready to start TLS"]))
        case .mailFrom(let path, let parameters):
            guard greeted else { return Self.badSequence("say EHLO first") }
            guard case .ready = state else { return Self.badSequence("nested MAIL command") }
            if let size = parameters["SIZE"].flatMap({ Int($0) }), size > configuration.maximumMessageSize {
                return .reply(SMTPReply(code: 552, enhancedCode: .init(statusClass: 5, subject: 3, detail: 4), lines: ["message too big"]))
            }
            reversePath = path
            state = .mail
            return .reply(SMTPReply(code: 250, enhancedCode: .init(statusClass: 2, subject: 1, detail: 0), lines: ["ok"]))
        case .rcptTo(let path, _):
            guard case .mail = state else { return Self.badSequence("need MAIL before RCPT") }
            guard recipients.count < configuration.maximumRecipients else {
                // RFC 5321 §4.5.3.1.8: 452 for too many recipients.
                return .reply(SMTPReply(code: 452, enhancedCode: .init(statusClass: 4, subject: 5, detail: 3), lines: ["too many recipients"]))
            }
            pendingRecipient = path
            state = .checking
            return .checkRecipient(path)
        case .data:
            guard case .mail = state, !recipients.isEmpty else {
                return .reply(SMTPReply(code: 554, enhancedCode: .init(statusClass: 5, subject: 5, detail: 1), lines: ["no valid recipients"]))
            }
            state = .data
            data = []
            dataTooLarge = false
            return .reply(SMTPReply(code: 354, lines: ["end data with <CR><LF>.<CR><LF>"]))
        case .rset:
            resetTransaction()
            state = .ready
            return .reply(SMTPReply(code: 250, enhancedCode: .init(statusClass: 2, subject: 0, detail: 0), lines: ["ok"]))
        case .noop:
            return .reply(SMTPReply(code: 250, enhancedCode: .init(statusClass: 2, subject: 0, detail: 0), lines: ["ok"]))
        case .quit:
            state = .closed
            return .close(SMTPReply(code: 221, enhancedCode: .init(statusClass: 2, subject: 0, detail: 0), lines: ["bye"]))
        case .vrfy:
            return .reply(SMTPReply(code: 252, enhancedCode: .init(statusClass: 2, subject: 5, detail: 2), lines: ["cannot verify"]))
        case .help:
            return .reply(SMTPReply(code: 214, lines: ["see RFC 5321"]))
        case .unknown:
            return .reply(SMTPReply(code: 500, enhancedCode: .init(statusClass: 5, subject: 5, detail: 1), lines: ["command not recognised"]))
        }
    }

    /// The application's answer for the recipient asked about.
    public mutating func recipientChecked(_ reply: SMTPReply?) -> Action {
        guard case .checking = state else { return .wait }
        state = .mail
        if let reply, !reply.isPositiveCompletion { return .reply(reply) }
        recipients.append(pendingRecipient)
        return .reply(reply ?? SMTPReply(code: 250, enhancedCode: .init(statusClass: 2, subject: 1, detail: 5), lines: ["ok"]))
    }

    /// The application's answer for the delivered message: nil for success.
    public mutating func messageHandled(_ failure: SMTPReply?) -> Action {
        guard case .delivering = state else { return .wait }
        resetTransaction()
        state = .ready
        return .reply(failure ?? SMTPReply(code: 250, enhancedCode: .init(statusClass: 2, subject: 0, detail: 0), lines: ["queued"]))
    }

    private mutating func receivedDataLine(_ line: [UInt8]) -> Action {
        if line == [UInt8(ascii: ".")] {
            // RFC 5321 §4.1.1.4: end of data; the transaction ends either way.
            if dataTooLarge {
                resetTransaction()
                state = .ready
                return .reply(SMTPReply(code: 552, enhancedCode: .init(statusClass: 5, subject: 3, detail: 4), lines: ["message exceeds \(configuration.maximumMessageSize) bytes"]))
            }
            state = .delivering
            let envelope = ReceivedEnvelope(reversePath: reversePath, recipients: recipients, tls: tlsActive)
            let message = data
            data = []
            return .deliver(envelope: envelope, data: message)
        }
        guard !dataTooLarge else { return .wait }
        // RFC 5321 §4.5.2: remove the stuffed dot.
        let content = line.first == UInt8(ascii: ".") ? line.dropFirst() : line[...]
        if data.count + content.count + 2 > configuration.maximumMessageSize {
            // Keep reading to the end so that the reply lines up (RFC 1870 §6.3).
            dataTooLarge = true
            data = []
            return .wait
        }
        data += content
        data += [13, 10]
        return .wait
    }

    private mutating func resetTransaction() {
        reversePath = ""
        recipients = []
        data = []
        dataTooLarge = false
        if case .mail = state { state = .ready }
    }

    private static func badSequence(_ text: String) -> Action {
        .reply(SMTPReply(code: 503, enhancedCode: .init(statusClass: 5, subject: 5, detail: 1), lines: [text]))
    }
}

/// Who a received message is from and for, as given in MAIL and RCPT.
public struct ReceivedEnvelope: Sendable, Hashable {
    /// MAIL FROM; empty for the null sender `<>` that bounces use.
    public var reversePath: String
    /// Accepted RCPT TO addresses, in order (Herald reads VERP tokens from them).
    public var recipients: [String]
    /// Whether the session was encrypted.
    public var tls: Bool
}
