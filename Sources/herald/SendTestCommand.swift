import ArgumentParser
import Foundation
import HeraldCore
import HeraldDelivery
import HeraldStore
import Logging
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

    @Option(help: "The sender: an address, or a name and an address like 'Zoë Sender <zoe@example.com>' (also the envelope return path).")
    var from: String

    @Option(help: ArgumentHelp("""
        The database whose sending domains sign the message with DKIM when the From domain (or a parent) \
        is one of them. Default: HERALD_DATABASE, else herald.sqlite when it exists; without one the \
        message goes unsigned.
        """, valueName: "url"))
    var database: String?

    @Option(help: ArgumentHelp("""
        The file of the keys that seal the DKIM keys in that database (as `herald serve --secret-key-file`). \
        Default: HERALD_SECRET_KEY_FILE, else secret.key in the state folder.
        """, valueName: "path"))
    var secretKeyFile: String?

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
        let sender: MailAddress
        do {
            sender = try MailAddress(parsing: from, field: "--from")
        } catch {
            Self.fail(error.message)
        }
        var message = MailMessage(from: sender, to: to.map { MailAddress($0) }, subject: subject)
        message.textBody = "This is a test message sent by `herald send-test` through \(url) at \(Date()).\n"
        let signers = await Self.signers(for: sender.address, database: database, secretKeyFile: secretKeyFile)
        let bytes: [UInt8]
        let envelope: Envelope
        do {
            bytes = try DKIMSigner.sign(try message.render(), with: signers)
            envelope = try Envelope(returnPath: sender.address, recipients: to)
        } catch {
            Self.fail(error.message)
        }
        if let signer = signers.first {
            print("signed     DKIM d=\(signer.domain) s=\(signers.map(\.selector).joined(separator: ", s="))")
        } else {
            print("unsigned   \(sender.domain) has no DKIM key here (Admin → Sending domains, or give --database)")
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
            Self.fail("could not send through \(url): \(error.messageWithReply)" + (error.hint.map { "\n" + $0 } ?? ""))
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

    /// The DKIM signers of the sending domain that covers `address`, from the database given
    /// (or HERALD_DATABASE, or ./herald.sqlite when it exists); none without a database.
    static func signers(for address: String, database: String?, secretKeyFile: String?) async -> [DKIMSigner] {
        let environment = Environment.value("HERALD_DATABASE")
        guard let text = database ?? environment ?? (FileManager.default.fileExists(atPath: "herald.sqlite") ? "herald.sqlite" : nil) else {
            return []
        }
        var logger = Logger(label: "herald.send-test")
        logger.logLevel = .error
        do {
            let store = try await Store.open(try DatabaseLocation(parsing: text), logger: logger,
                                             keyring: try DatabaseOptions.keyring(file: secretKeyFile ?? Environment.value("HERALD_SECRET_KEY_FILE")))
            let keys = try await store.domains.signingKeys()
            await store.close()
            let byDomain = SendingDomains.signers(of: keys, logger: logger)
            return SendingDomain.signingDomain(for: address, among: Set(byDomain.keys)).flatMap { byDomain[$0] } ?? []
        } catch {
            fail("cannot read the DKIM keys from \(text): \(error)")
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("send-test: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
