import NIOCore
import NIOSSL

/// How one SMTP connection is made and how long it waits.
public struct SMTPClientConfiguration: Sendable {
    /// How the connection is encrypted.
    public enum Security: String, Sendable, Hashable {
        /// Plain TCP; STARTTLS is not used even if offered.
        case none
        /// STARTTLS when the server offers it, without checking the certificate; plain when
        /// the server does not offer it or refuses it (RFC 7435 opportunistic security, as
        /// Postfix's `may`). ``Trust`` is not used: encryption against passive listeners,
        /// no authentication of the server.
        case opportunisticStartTLS = "opportunistic"
        /// STARTTLS, and fail when the server does not offer it or refuses it.
        case requiredStartTLS = "required"
        /// TLS from the first byte, as on port 465 (RFC 8314 §3.3).
        case implicitTLS = "implicit"
    }

    /// Which certificates to trust. There is no silent default that trusts everything:
    /// ``insecureNoVerification`` has to be named.
    public enum Trust: Sendable, Hashable {
        /// The system's root certificates, with host name checks.
        case systemDefault
        /// Only these PEM certificates (a private CA, or a test's self-signed certificate).
        case certificatesPEM([String])
        /// No verification at all. For tests only; never for real delivery.
        case insecureNoVerification
    }

    /// Credentials for SMTP AUTH (RFC 4954).
    public enum Credentials: Sendable, Hashable, CustomStringConvertible {
        /// PLAIN or LOGIN, whichever the server offers (PLAIN first).
        case password(username: String, password: String)
        /// XOAUTH2 with a bearer token.
        case oauth2(username: String, accessToken: String)

        public var username: String {
            switch self {
            case .password(let username, _), .oauth2(let username, _): username
            }
        }

        public var description: String { "credentials(\(username), <redacted>)" }
    }

    /// The per-command timeouts of RFC 5321 §4.5.3.2, each configurable.
    public struct Timeouts: Sendable, Hashable {
        /// TCP connect (and TLS handshake); not in the RFC, which leaves it to the system.
        public var connect: TimeAmount = .seconds(30)
        /// §4.5.3.2.1 initial 220 message: 5 minutes. Also used for EHLO, STARTTLS, AUTH.
        public var greeting: TimeAmount = .minutes(5)
        /// §4.5.3.2.2 MAIL: 5 minutes.
        public var mail: TimeAmount = .minutes(5)
        /// §4.5.3.2.3 RCPT: 5 minutes.
        public var rcpt: TimeAmount = .minutes(5)
        /// §4.5.3.2.4 DATA initiation: 2 minutes.
        public var dataInitiation: TimeAmount = .minutes(2)
        /// §4.5.3.2.5 data block: 3 minutes (we write the whole message at once).
        public var dataBlock: TimeAmount = .minutes(3)
        /// §4.5.3.2.6 DATA termination: 10 minutes.
        public var dataTermination: TimeAmount = .minutes(10)

        public init() {}

        /// Every timeout set to the same value; handy in tests.
        public static func all(_ value: TimeAmount) -> Timeouts {
            var timeouts = Timeouts()
            timeouts.connect = value
            timeouts.greeting = value
            timeouts.mail = value
            timeouts.rcpt = value
            timeouts.dataInitiation = value
            timeouts.dataBlock = value
            timeouts.dataTermination = value
            return timeouts
        }
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var trust: Trust
    public var credentials: Credentials?
    /// Allow AUTH without TLS, but only when `host` is a loopback address (a local relay).
    /// Elsewhere credentials are never sent in clear.
    public var allowsPlaintextAuthenticationOnLoopback: Bool
    /// The name we give in EHLO/HELO (RFC 5321 §4.1.1.1: our fully-qualified domain name).
    public var clientName: String
    public var timeouts: Timeouts

    public init(
        host: String,
        port: Int,
        security: Security = .requiredStartTLS,
        trust: Trust = .systemDefault,
        credentials: Credentials? = nil,
        allowsPlaintextAuthenticationOnLoopback: Bool = false,
        clientName: String = "localhost",
        timeouts: Timeouts = Timeouts()
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.trust = trust
        self.credentials = credentials
        self.allowsPlaintextAuthenticationOnLoopback = allowsPlaintextAuthenticationOnLoopback
        self.clientName = clientName
        self.timeouts = timeouts
    }

    var hostIsLoopback: Bool { Self.isLoopback(host) }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    func makeTLSConfiguration() throws(MailError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if security == .opportunisticStartTLS {
            // RFC 7435 §1: opportunistic security encrypts without authenticating. Checking the
            // certificate would turn a session that can be encrypted into a failure, where
            // going on unverified is strictly better than going on in clear.
            tls.certificateVerification = .none
            return tls
        }
        switch trust {
        case .systemDefault:
            break
        case .certificatesPEM(let pems):
            do {
                let certificates = try pems.flatMap { try NIOSSLCertificate.fromPEMBytes(Array($0.utf8)) }
                tls.trustRoots = .certificates(certificates)
            } catch {
                throw MailError(.tlsHandshakeFailed, "the trusted certificate PEM could not be read: \(error)")
            }
        case .insecureNoVerification:
            tls.certificateVerification = .none
        }
        return tls
    }
}
