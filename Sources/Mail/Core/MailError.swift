/// The one error type of the Mail library: a stable ``Code``, a human message that says
/// what was wrong and where, and context (host, port, command, …) for logs.
///
/// Passwords and other secrets never appear in a `MailError`: URLs are redacted before
/// they are put in the context, and AUTH commands are never quoted.
///
/// ```swift
/// do { _ = try await transport.send(envelope, message: bytes) }
/// catch let error as MailError where error.code == .authenticationFailed { … }
/// ```
public struct MailError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A transport URL could not be understood (unknown scheme, bad port, no host, …).
        public static let invalidURL = Code("invalidURL")
        /// A header name or value was refused (CR or LF in a value, a bad name, …).
        public static let invalidHeader = Code("invalidHeader")
        /// An email address was refused (no `@`, spaces, angle brackets, control characters).
        public static let invalidAddress = Code("invalidAddress")
        /// The TCP connection could not be made (refused, unknown host, unreachable).
        public static let connectionFailed = Code("connectionFailed")
        /// The peer closed the connection, or it was lost, before the exchange finished.
        public static let connectionClosed = Code("connectionClosed")
        /// The peer did not answer within the configured timeout (RFC 5321 §4.5.3.2).
        public static let timeout = Code("timeout")
        /// The peer sent something that is not SMTP (garbage, over-long or inconsistent lines).
        public static let protocolViolation = Code("protocolViolation")
        /// The server refused the session (greeting not 220, EHLO and HELO refused, 421).
        public static let serviceNotAvailable = Code("serviceNotAvailable")
        /// TLS was required but the server does not offer STARTTLS, or refused it.
        public static let tlsNotAvailable = Code("tlsNotAvailable")
        /// The TLS handshake failed (untrusted certificate, wrong host name, …).
        public static let tlsHandshakeFailed = Code("tlsHandshakeFailed")
        /// The server rejected the credentials (535 and friends).
        public static let authenticationFailed = Code("authenticationFailed")
        /// Credentials were given but the server offers no mechanism we support.
        public static let authenticationNotSupported = Code("authenticationNotSupported")
        /// Credentials would have been sent over an unencrypted connection; refused.
        public static let insecureAuthenticationRefused = Code("insecureAuthenticationRefused")
        /// The message needs an extension the server lacks (SMTPUTF8) or exceeds its SIZE.
        public static let messageRefusedLocally = Code("messageRefusedLocally")
        /// Writing to the outbox folder failed.
        public static let fileWriteFailed = Code("fileWriteFailed")
        /// A DKIM private key could not be read, or signing failed.
        public static let dkimKey = Code("dkimKey")
        /// A DNS lookup got no answer (no server answered, the answer could not be read).
        public static let dnsLookupFailed = Code("dnsLookupFailed")
        /// The transport or pool has been shut down.
        public static let shutDown = Code("shutDown")
        /// The batch was cancelled before this message was handed to a connection: nothing
        /// of it reached the server, so it can be sent later without risk of a duplicate.
        public static let notSent = Code("notSent")
    }

    public var code: Code
    /// What went wrong and where, for a person to read.
    public var message: String
    /// Extra facts for logs: `host`, `port`, `command`, `header`, … Never a secret.
    public var context: [String: String]
    /// The server's reply, when the failure came from one.
    public var reply: SMTPReply?
    /// What a person configuring a transport should check: given where the failure is
    /// known best, else the usual cause of ``code``; nil when there is none.
    public var hint: String?

    public init(_ code: Code, _ message: String, context: [String: String] = [:], reply: SMTPReply? = nil, hint: String? = nil) {
        self.code = code
        self.message = message
        self.context = context
        self.reply = reply
        self.hint = hint ?? Self.usualHint(for: code)
    }

    /// The message and the server's own words, for a person ("the server rejected the
    /// credentials for ann (the server said: 535 5.7.8 Authentication credentials invalid)").
    public var messageWithReply: String {
        message + (reply.map { " (the server said: \($0))" } ?? "")
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let reply { text += " (server said: \(reply))" }
        if !context.isEmpty {
            text += " [" + context.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "]"
        }
        return text
    }
}

extension MailError {
    /// The usual cause of a failure with this code, for a person configuring a transport.
    static func usualHint(for code: Code) -> String? {
        switch code {
        case .authenticationFailed: "The server rejected the user name or password."
        case .tlsHandshakeFailed: "Check that the port speaks TLS the way the URL says: smtps:// starts with TLS (port 465), smtp:// uses STARTTLS (587 or 25)."
        case .tlsNotAvailable: "The server does not offer STARTTLS; use smtps:// for port 465, or tls=opportunistic only on a trusted network."
        case .insecureAuthenticationRefused:
            "Use tls=required or smtps:// so that the password is encrypted. Only a relay on this machine (127.0.0.1, ::1 or localhost) may take it in clear, and only when the URL says so with cleartext_auth=loopback."
        case .connectionFailed: "Check the host name and port, and that the server is reachable from here."
        case .timeout: "The server did not answer in time; check the port (587 STARTTLS, 465 implicit TLS, 25 relay)."
        default: nil
        }
    }
}
