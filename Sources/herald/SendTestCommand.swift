import ArgumentParser
import Foundation
import Mail

/// `herald send-test`: sends one message through a transport URL so that a user can check
/// a mail configuration in one line, with a plain answer when it is wrong.
struct SendTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test",
        abstract: "Send one test message through a transport, to check a mail configuration.",
        discussion: """
        Examples:
          herald send-test --transport 'smtp://user:password@mail.example.com:587' --from me@example.com --to you@example.org
          herald send-test --transport 'smtps://user:password@mail.example.com' --from me@example.com --to you@example.org
          herald send-test --transport 'smtp://relay.internal:25?tls=none' --from me@example.com --to you@example.org
          herald send-test --transport file:///tmp/outbox --from me@example.com --to you@example.org
        Add ca=/path/to/ca.pem to the URL's query to trust a private or self-signed certificate.
        tls=opportunistic encrypts when the server offers STARTTLS but checks no certificate, and
        goes on in clear when it does not; tls=required (the default with a password) checks it.
        Credentials never go in clear, but to a relay on this machine with cleartext_auth=loopback.
        """
    )

    @Option(help: "smtp://[user:password@]host[:port][?tls=required|opportunistic|none][&ca=file], smtps://…, or file:///folder")
    var transport: String

    @Option(help: "The sender address (also the envelope return path).")
    var from: String

    @Option(help: "A recipient address; repeat for several.")
    var to: [String]

    @Option(help: "The subject line.")
    var subject: String = "Herald test message"

    @Option(help: "Seconds to wait for each step of the SMTP exchange.")
    var timeout: Int = 30

    mutating func run() async throws {
        let url: TransportURL
        do {
            url = try TransportURL(transport)
        } catch {
            Self.fail(error.message)
        }
        var message = MailMessage(from: MailAddress(from), to: to.map { MailAddress($0) }, subject: subject)
        message.textBody = "This is a test message sent by `herald send-test` through \(url) at \(Date()).\n"
        let bytes: [UInt8]
        let envelope: Envelope
        do {
            bytes = try message.render()
            envelope = try Envelope(returnPath: from, recipients: to)
        } catch {
            Self.fail(error.message)
        }
        var timeouts = SMTPClientConfiguration.Timeouts.all(.seconds(Int64(max(1, timeout))))
        timeouts.connect = .seconds(Int64(max(1, min(timeout, 30))))
        let made: any Transport
        do {
            made = try url.makeTransport(timeouts: timeouts)
        } catch {
            Self.fail(error.message)
        }
        let result: DeliveryResult
        do {
            result = try await made.send(envelope, message: bytes)
        } catch {
            await made.shutdown()
            // The server's own words (say "535 5.7.8 Authentication credentials invalid") help most.
            let said = error.reply.map { " (the server said: \($0))" } ?? ""
            Self.fail("could not send through \(url): \(error.message)\(said)" + (error.hint.map { "\n" + $0 } ?? ""))
        }
        await made.shutdown()
        var failed = false
        for recipient in result.recipients {
            switch recipient.status {
            case .accepted:
                print("accepted  \(recipient.recipient)  \(recipient.reply.map { "\($0)" } ?? "")")
            case .transientFailure:
                failed = true
                print("deferred  \(recipient.recipient)  \(recipient.reply.map { "\($0)" } ?? recipient.text)  (temporary; try again later)")
            case .permanentFailure:
                failed = true
                print("refused   \(recipient.recipient)  \(recipient.reply.map { "\($0)" } ?? recipient.text)")
            }
        }
        if failed { throw ExitCode(1) }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("send-test: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
