import Foundation
import Logging
import NIOCore
import Testing
@testable import Mail

/// A private Postfix started by `scripts/postfix-relay.sh` for one suite: STARTTLS with AUTH
/// against Cyrus SASL, a LOGIN-only port, implicit TLS and a port without TLS.
struct PostfixRelay: Sendable {
    let submission: Int
    let login: Int
    let smtps: Int
    let plain: Int
    let user: String
    let password: String
    let caPEM: String
    let caPath: String
    let logPath: String
    let directory: String

    @TaskLocal static var current: PostfixRelay?

    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/postfix-relay.sh").path

    /// Nil (a skip, or a failure when peers are required) when Postfix cannot run here.
    static func start() async throws -> PostfixRelay? {
        let present = FileManager.default.isExecutableFile(atPath: "/usr/sbin/postfix")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/saslpasswd2") && getuid() == 0
        guard Peers.available(present, "Postfix with Cyrus SASL, run as root (apt-get install postfix sasl2-bin libsasl2-modules)") else {
            return nil
        }
        let directory = Peers.temporaryDirectory()
        let output = try await Peers.run(["bash", script, "start", directory])
        guard output.status == 0, let line = output.stdout.split(separator: "\n").last else {
            throw PeerError("postfix-relay.sh failed: \(output.stderr)")
        }
        var values: [String: String] = [:]
        for pair in line.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        func port(_ name: String) throws -> Int {
            guard let value = values[name].flatMap(Int.init) else { throw PeerError("no \(name) port in '\(line)'") }
            return value
        }
        let caPath = values["ca"] ?? ""
        return PostfixRelay(
            submission: try port("submission"), login: try port("login"), smtps: try port("smtps"), plain: try port("plain"),
            user: values["user"] ?? "", password: values["password"] ?? "",
            caPEM: try String(contentsOfFile: caPath, encoding: .utf8), caPath: caPath,
            logPath: values["log"] ?? "", directory: directory
        )
    }

    func stop() async {
        _ = try? await Peers.run(["bash", Self.script, "stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Postfix's log so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits (at most 10 s) until the log has a line containing every one of `parts`, and
    /// returns it: postlogd writes a moment after the fact.
    func logLine(containing parts: String...) async throws -> String? {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let line = log.split(separator: "\n").last(where: { line in parts.allSatisfy { line.contains($0) } }) {
                return String(line)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    func url(_ scheme: String = "smtp", port: Int, query: String = "", password: String? = nil) -> String {
        let secret = (password ?? self.password).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return "\(scheme)://\(user):\(secret)@localhost:\(port)" + (query.isEmpty ? "" : "?\(query)")
    }
}

/// Runs a suite inside one private Postfix, stopped when the suite ends.
struct WithPostfixRelay: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard let relay = try await PostfixRelay.start() else { return }
        do {
            try await PostfixRelay.$current.withValue(relay) { try await function() }
        } catch {
            await relay.stop()
            throw error
        }
        await relay.stop()
    }
}

/// Interoperability with a real relay: Postfix 3.7's smtpd with STARTTLS, implicit TLS and
/// Cyrus SASL, as on any port 587.
@Suite(.serialized, WithPostfixRelay()) struct PostfixRelayTests {
    var relay: PostfixRelay { PostfixRelay.current! }

    static func message(_ subject: String, to recipient: String = "ann@example.org") throws -> [UInt8] {
        var message = MailMessage(from: MailAddress("news@example.com", name: "Névs"), to: [MailAddress(recipient)], subject: subject)
        message.textBody = ".a line that starts with a dot\n" + String(repeating: "long line ", count: 300)
        message.htmlBody = "<p>Hello</p>"
        return try message.render()
    }

    static let envelope = try! Envelope(returnPath: "news@example.com", recipients: ["ann@example.org"])

    func connect(_ url: String, trust: SMTPClientConfiguration.Trust? = nil) async throws(MailError) -> SMTPConnection {
        try await SMTPConnection.connect(configuration: try TransportURL(url).clientConfiguration(trust: trust))
    }

    @Test func requiredSTARTTLSWithAuthPlain() async throws {
        let connection = try await connect(relay.url(port: relay.submission, query: "tls=required"), trust: .certificatesPEM([relay.caPEM]))
        #expect(connection.security == .tls)
        let result = await connection.send(Self.envelope, body: MessageBody(message: try Self.message("STARTTLS and PLAIN")))
        await connection.close()
        #expect(result.allAccepted, "\(result)")
        #expect(try await relay.logLine(containing: "sasl_method=PLAIN", "sasl_username=\(relay.user)") != nil)
        #expect(try await relay.logLine(containing: "TLS connection established", "TLSv1.3") != nil)
    }

    @Test func authLoginWhenThatIsAllTheServerOffers() async throws {
        let transport = try TransportURL(relay.url(port: relay.login, query: "ca=\(relay.caPath)")).makeTransport()
        let result = try await transport.send(Self.envelope, message: try Self.message("LOGIN"))
        await transport.shutdown()
        #expect(result.allAccepted, "\(result)")
        #expect(try await relay.logLine(containing: "sasl_method=LOGIN", "sasl_username=\(relay.user)") != nil)
    }

    /// RFC 7435: opportunistic TLS encrypts with a certificate nobody vouches for, and goes
    /// on in clear where STARTTLS is not offered; the connection says which happened.
    @Test func opportunisticTLSEncryptsWithoutCheckingAndFallsBackOnlyWhenNotOffered() async throws {
        let encrypted = try await connect(relay.url(port: relay.submission, query: "tls=opportunistic"))
        #expect(encrypted.security == .tls)
        let result = await encrypted.send(Self.envelope, body: MessageBody(message: try Self.message("opportunistic")))
        await encrypted.close()
        #expect(result.allAccepted, "\(result)")

        let plain = try await connect("smtp://localhost:\(relay.plain)?tls=opportunistic")
        #expect(plain.security == .plainNotOffered)
        let plainResult = await plain.send(Self.envelope, body: MessageBody(message: try Self.message("opportunistic, not offered")))
        await plain.close()
        #expect(plainResult.allAccepted, "\(plainResult)")

        // Credentials never go in clear, opportunistic or not, and the error says how it could.
        do throws(MailError) {
            _ = try await connect(relay.url(port: relay.plain, query: "tls=opportunistic"))
            Issue.record("credentials were sent in clear")
        } catch {
            #expect(error.code == .insecureAuthenticationRefused)
            #expect(error.message == "credentials are only sent over TLS, and this session is in clear: the server does not offer STARTTLS")
            #expect(error.hint?.contains("cleartext_auth=loopback") == true)
        }
    }

    @Test func implicitTLS() async throws {
        let connection = try await connect(relay.url("smtps", port: relay.smtps), trust: .certificatesPEM([relay.caPEM]))
        #expect(connection.security == .tls)
        let result = await connection.send(Self.envelope, body: MessageBody(message: try Self.message("implicit TLS")))
        await connection.close()
        #expect(result.allAccepted, "\(result)")
    }

    @Test func aWrongPasswordIsAClearError() async throws {
        do throws(MailError) {
            _ = try await connect(relay.url(port: relay.submission, query: "tls=required", password: "not-the-password"),
                                  trust: .certificatesPEM([relay.caPEM]))
            Issue.record("a wrong password was accepted")
        } catch {
            #expect(error.code == .authenticationFailed)
            #expect(error.message == "the server rejected the credentials for \(relay.user)")
            #expect(error.reply?.code == 535)
            #expect(!error.description.contains("not-the-password"))
            // What the pages and send-test say: the server's own words too.
            #expect(error.messageWithReply.hasPrefix("the server rejected the credentials for \(relay.user) (the server said: 535"))
        }
    }

    @Test func anUntrustedCertificateIsAClearErrorThatFitsTheURL() async throws {
        do throws(MailError) {
            _ = try await connect(relay.url(port: relay.submission, query: "tls=required"))
            Issue.record("a self-signed certificate was trusted")
        } catch {
            #expect(error.code == .tlsHandshakeFailed)
            #expect(error.message == "the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED)")
            #expect(error.hint?.contains("add ca=") == true)
        }
        // With ca= naming another certificate, the advice is to check ca=, not to add it.
        let other = try await Peers.makeCertificate(in: Peers.temporaryDirectory())
        do throws(MailError) {
            _ = try await connect(relay.url(port: relay.submission, query: "ca=\(other.cert)"))
            Issue.record("a certificate not signed by ca= was trusted")
        } catch {
            #expect(error.code == .tlsHandshakeFailed)
            #expect(error.message.contains("not signed by the certificate given in ca="))
            #expect(error.hint?.contains("add ca=") == false)
        }
    }

    /// RFC 2920 over TLS: 100 messages on one connection, each one's MAIL, RCPT and DATA
    /// riding with the data of the one before; Postfix sees them all, on one session, and
    /// finds nothing improper in the pipelining.
    @Test func pipeliningAHundredMessagesOverOneTLSConnection() async throws {
        let configuration = try TransportURL(relay.url(port: relay.submission, query: "tls=required"))
            .clientConfiguration(trust: .certificatesPEM([relay.caPEM]))
        let transport = SMTPTransport(
            configuration: configuration,
            poolConfiguration: SMTPPoolConfiguration(maximumConnections: 1, maximumMessagesPerConnection: 1000)
        )
        let body = try Self.message("pipelined")
        let batch = (0..<100).map { index in
            OutgoingMessage(envelope: try! Envelope(returnPath: "news@example.com", recipients: ["r\(index)@example.org"]), message: body)
        }
        let results = await transport.send(batch, onResult: nil)
        await transport.shutdown()
        #expect(results.count == 100)
        #expect(results.allSatisfy { (try? $0.get())?.allAccepted == true })
        let session = try await relay.logLine(containing: "disconnect from", "mail=100", "rcpt=100", "data=100")
        #expect(session != nil, "no session of 100 messages in the log:\n\(relay.log.suffix(3000))")
        #expect(session?.contains("starttls=1") == true)
        #expect(session?.contains("auth=1") == true)
        #expect(!relay.log.contains("improper command pipelining"))
    }
}
