import Foundation
import Testing
@testable import Mail

@Suite struct TransportURLTests {
    @Test func smtpURLs() throws {
        let url = try TransportURL("smtp://me%40example.com:p%3Ass@mail.example.com:2525?tls=opportunistic&helo=client.example.com")
        #expect(url.kind == .smtp(.opportunisticStartTLS))
        #expect(url.host == "mail.example.com")
        #expect(url.port == 2525)
        #expect(url.credentials == .password(username: "me@example.com", password: "p:ss"))
        #expect(!url.description.contains("p%3Ass"))
        #expect(url.description == "smtp://me%40example.com:***@mail.example.com:2525?tls=opportunistic&helo=client.example.com")
        #expect(try url.clientConfiguration().clientName == "client.example.com")

        #expect(try TransportURL("smtp://relay.example.com").kind == .smtp(.opportunisticStartTLS))
        #expect(try TransportURL("smtp://relay.example.com").port == 587)
        #expect(try TransportURL("smtp://u:p@relay.example.com").kind == .smtp(.requiredStartTLS))
        #expect(try TransportURL("SMTPS://u:p@relay.example.com").kind == .smtp(.implicitTLS))
        #expect(try TransportURL("smtps://relay.example.com").port == 465)
        #expect(try TransportURL("smtp://localhost:25?tls=none").kind == .smtp(.none))
        #expect(try TransportURL("smtp://u:tok@x.example?auth=xoauth2").credentials == .oauth2(username: "u", accessToken: "tok"))
        #expect(try TransportURL("file:///var/outbox").kind == .file(path: "/var/outbox"))
    }

    @Test func clearErrors() {
        func message(_ url: String) -> String {
            do {
                _ = try TransportURL(url)
                return "no error"
            } catch {
                #expect(error.code == .invalidURL)
                #expect(!error.description.contains("hunter2"))
                return error.message
            }
        }
        #expect(message("imap://u:hunter2@host").contains("unknown scheme 'imap'"))
        #expect(message("smtp://u:hunter2@:25").contains("no host"))
        #expect(message("smtp://u:hunter2@host:70000").contains("port 70000"))
        #expect(message("smtp://u:hunter2@host:abc").contains("not a URL"))
        #expect(message("smtp://host?tls=maybe").contains("tls=maybe"))
        #expect(message("smtps://host?tls=none").contains("smtps://"))
        #expect(message("file://relative/path").contains("absolute path"))
        #expect(message("just words").contains("not a URL") || message("just words").contains("unknown scheme"))
        #expect(message("smtp://host?tls=opportunistic&ca=/etc/ca.pem").contains("use tls=required"))
        #expect(message("smtp://u:hunter2@mail.example.com?tls=none&cleartext_auth=loopback").contains("only for a relay on this machine"))
        #expect(message("smtp://u:hunter2@127.0.0.1?tls=none&cleartext_auth=yes").contains("the only value is loopback"))
    }

    /// `tls=opportunistic` encrypts without checking (RFC 7435); `ca=` asks for a check, so
    /// without `tls=` it means `required`.
    @Test func opportunisticChecksNoCertificateAndCAMeansRequired() throws {
        let opportunistic = try TransportURL("smtp://relay.example.com?tls=opportunistic").clientConfiguration()
        #expect(try opportunistic.makeTLSConfiguration().certificateVerification == .none)
        let required = try TransportURL("smtp://relay.example.com?tls=required").clientConfiguration()
        #expect(try required.makeTLSConfiguration().certificateVerification == .fullVerification)
        #expect(try TransportURL("smtp://relay.example.com?ca=/etc/ca.pem").kind == .smtp(.requiredStartTLS))
    }

    @Test func cleartextAuthenticationOnlyToALoopbackRelayAndOnlyWhenAsked() throws {
        let asked = try TransportURL("smtp://u:p@127.0.0.1:25?tls=none&cleartext_auth=loopback").clientConfiguration()
        #expect(SMTPClientStateMachine.Configuration(asked).allowsPlaintextAuthentication)
        let notAsked = try TransportURL("smtp://u:p@127.0.0.1:25?tls=none").clientConfiguration()
        #expect(!SMTPClientStateMachine.Configuration(notAsked).allowsPlaintextAuthentication)
    }

    /// "Add ca=" is advice only for someone who has not; with ca= the advice is to check it.
    @Test func certificateErrorsAdviseInTheTermsOfTheURL() {
        struct VerifyFailed: Error, CustomStringConvertible {
            var description: String { "handshakeFailed(CERTIFICATE_VERIFY_FAILED)" }
        }
        let withoutCA = SMTPClientChannelHandler.tlsFailure(VerifyFailed(), trust: .systemDefault)
        #expect(withoutCA.message == "the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED)")
        #expect(withoutCA.hint?.contains("add ca=") == true)
        let withCA = SMTPClientChannelHandler.tlsFailure(VerifyFailed(), trust: .certificatesPEM(["…"]))
        #expect(withCA.message.contains("not signed by the certificate given in ca="))
        #expect(withCA.hint?.contains("add ca=") == false)
        #expect(withCA.hint?.contains("Check that ca= names") == true)
    }

    @Test func redaction() {
        #expect(TransportURL.redact("smtp://user:secret@host:25") == "smtp://user:***@host:25")
        #expect(TransportURL.redact("smtp://user:se@cret@host") == "smtp://user:***@host")
        // Unencoded /, ?, # and @ in a password (a path with an @ reads the same: hide more, not less).
        #expect(TransportURL.redact("smtp://user:pa/ss@host:587") == "smtp://user:***@host:587")
        #expect(TransportURL.redact("smtp://user:p?a#s@s@host") == "smtp://user:***@host")
        #expect(TransportURL.redact("smtps://u:x/y?z@relay.example.com/?tls=1") == "smtps://u:***@relay.example.com/?tls=1")
        #expect(TransportURL.redact("smtp://host:25/x@y") == "smtp://host:***@y")
        #expect(TransportURL.redact("file:///var/mail/a@b") == "file:///var/mail/a@b")
        // Nothing like a host after any @: everything before the last one is hidden.
        #expect(TransportURL.redact("smtp://u:s3cret@smtp,example.com") == "smtp://***@smtp,example.com")
        #expect(TransportURL.redact("smtp://u:s3cret@") == "smtp://***@")
        #expect(TransportURL.redact("smtp://user@host") == "smtp://user@host")
    }

    @Test func fileTransportWritesAtomically() async throws {
        let directory = Peers.temporaryDirectory() + "/outbox"
        let transport = try TransportURL("file://" + directory).makeTransport()
        let envelope = try Envelope(returnPath: "bounce+1@example.com", recipients: ["ann@example.org", "bob@example.org"])
        var message = MailMessage(from: MailAddress("a@example.com"), to: [MailAddress("ann@example.org")], subject: "Outbox")
        message.textBody = "hi"
        let bytes = try message.render()
        let result = try await transport.send(envelope, message: bytes)
        #expect(result.allAccepted)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(files.count == 1)
        #expect(files[0].hasSuffix(".eml"))
        #expect(!files[0].hasPrefix("."))
        let written = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + files[0]))
        let text = String(decoding: written, as: UTF8.self)
        #expect(text.hasPrefix("Return-Path: <bounce+1@example.com>\r\nX-Envelope-To: ann@example.org, bob@example.org\r\n"))
        #expect(text.hasSuffix(String(decoding: bytes, as: UTF8.self)))
        // The same message again (a retry after a crash) replaces its file: still one copy.
        _ = try await transport.send(envelope, message: bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == files)
        #expect(files[0] == FileTransport.fileName(try #require(FileTransport.messageID(in: bytes))) + ".eml")
    }

    @Test func unwritableOutbox() async throws {
        let transport = FileTransport(directory: "/proc/no-such-outbox")
        do {
            _ = try await transport.send(try Envelope(returnPath: "a@example.com", recipients: ["b@example.org"]), message: [65])
            Issue.record("expected failure")
        } catch {
            #expect(error.code == .fileWriteFailed)
        }
    }
}
