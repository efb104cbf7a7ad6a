import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One SMTP session to one server, able to carry many messages one after another.
///
/// Usually reached through ``SMTPConnectionPool`` or ``SMTPTransport``; use it directly
/// when you want exactly one connection:
/// ```swift
/// let connection = try await SMTPConnection.connect(configuration: configuration, logger: logger)
/// let result = await connection.send(envelope, body: MessageBody(message: bytes))
/// await connection.close()
/// ```
public final class SMTPConnection: Sendable {
    /// What the server announced after the last EHLO (after STARTTLS, when used).
    public let capabilities: SMTPCapabilities
    /// Whether the session is encrypted, and if not, why not.
    public let security: SMTPClientStateMachine.SessionSecurity
    private let channel: any Channel
    private let closing: ClosingFlag

    private init(channel: any Channel, capabilities: SMTPCapabilities, security: SMTPClientStateMachine.SessionSecurity, closing: ClosingFlag) {
        self.channel = channel
        self.capabilities = capabilities
        self.security = security
        self.closing = closing
    }

    /// Whether the connection is still open (a server may close an idle session).
    public var isOpen: Bool { channel.isActive && !closing.isSet }

    /// Connects, reads the greeting, says EHLO, starts TLS and authenticates as configured.
    ///
    /// - Throws: ``MailError`` with ``MailError/Code/connectionFailed`` (refused, unknown
    ///   host), ``MailError/Code/tlsNotAvailable``, ``MailError/Code/tlsHandshakeFailed``,
    ///   ``MailError/Code/authenticationFailed``, ``MailError/Code/timeout``, …
    public static func connect(
        configuration: SMTPClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mail.smtp", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws(MailError) -> SMTPConnection {
        var logger = logger
        logger[metadataKey: "smtp.server"] = "\(configuration.host):\(configuration.port)"
        let context = ["host": configuration.host, "port": String(configuration.port)]
        let tlsContext: NIOSSLContext?
        if configuration.security != .none {
            do {
                tlsContext = try NIOSSLContext(configuration: configuration.makeTLSConfiguration())
            } catch let error as MailError {
                throw error
            } catch {
                throw MailError(.tlsHandshakeFailed, "TLS could not be configured: \(error)", context: context)
            }
        } else {
            tlsContext = nil
        }
        let eventLoop = eventLoopGroup.next()
        let readyPromise = eventLoop.makePromise(of: (SMTPCapabilities, SMTPClientStateMachine.SessionSecurity).self)
        let closing = ClosingFlag()
        let hostname = configuration.host.first?.isNumber == true || configuration.host.contains(":") ? nil : configuration.host
        let implicitTLS = configuration.security == .implicitTLS
        let handlerLogger = logger
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.timeouts.connect)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicitTLS, let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: hostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(SMTPClientChannelHandler(
                        configuration: configuration, tlsContext: tlsContext, readyPromise: readyPromise, closing: closing, logger: handlerLogger
                    ))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            readyPromise.fail(error)
            throw MailError(.connectionFailed, "could not connect to \(configuration.host):\(configuration.port): \(Self.describe(error))", context: context)
        }
        do {
            let (capabilities, security) = try await readyPromise.futureResult.get()
            logReady(security, configuration: configuration, logger: logger)
            return SMTPConnection(channel: channel, capabilities: capabilities, security: security, closing: closing)
        } catch var error as MailError {
            channel.close(promise: nil)
            error.context.merge(context) { current, _ in current }
            throw error
        } catch {
            channel.close(promise: nil)
            throw MailError(.connectionFailed, "\(error)", context: context)
        }
    }

    /// Sends one message. Never throws: every failure, including a lost connection or a
    /// timeout, is reported per recipient. After a transient failure caused by the
    /// connection, ``isOpen`` is false and the connection should be dropped.
    public func send(_ envelope: Envelope, body: MessageBody) async -> DeliveryResult {
        let promise = channel.eventLoop.makePromise(of: DeliveryResult.self)
        channel.writeAndFlush(SMTPClientRequest.send(envelope, body, promise)).whenFailure { error in
            promise.succeed(SMTPClientStateMachine.result(
                for: envelope, transient: MailError(.connectionClosed, "the connection is closed: \(error)")
            ))
        }
        let result = (try? await promise.futureResult.get()) ?? DeliveryResult(recipients: [])
        if result.recipients.count != envelope.recipients.count {
            return SMTPClientStateMachine.result(for: envelope, transient: MailError(.connectionClosed, "the connection closed"))
        }
        return result
    }

    /// Sends messages taken from `feed` until it is drained or `limit` were taken, each
    /// started on the event loop as soon as the connection can take it. `onResult` is called
    /// on the event loop with each message's index and result as it ends (do not block in
    /// it). Returns the number of messages taken, once all of them have ended.
    func send(_ feed: MessageFeed, limit: Int, onResult: @escaping @Sendable (Int, DeliveryResult) -> Void) async -> Int {
        let promise = channel.eventLoop.makePromise(of: Int.self)
        channel.writeAndFlush(SMTPClientRequest.sendFeed(feed, limit: limit, onResult: onResult, promise)).whenFailure { _ in
            promise.succeed(0)
        }
        return (try? await promise.futureResult.get()) ?? 0
    }

    /// Closes the connection at once, without QUIT, whatever it is in the middle of.
    public func abort() {
        channel.close(promise: nil)
    }

    /// Says QUIT, waits for the answer (at most 5 seconds: RFC 5321 §4.1.1.10 lets the
    /// client close once QUIT is sent, so a slow server does not hold a shutdown), and closes.
    public func close() async {
        guard channel.isActive else { return }
        let channel = self.channel
        channel.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(SMTPClientRequest.quit(promise)).whenFailure { _ in promise.succeed() }
        try? await promise.futureResult.get()
        try? await channel.close()
    }

    /// Says how the session is protected: at info level what opportunistic TLS decided
    /// (encrypted without a certificate check, or in clear and why), since nothing else
    /// tells an operator; at debug level the rest, which the URL already says.
    private static func logReady(_ security: SMTPClientStateMachine.SessionSecurity, configuration: SMTPClientConfiguration, logger: Logger) {
        switch (configuration.security, security) {
        case (.opportunisticStartTLS, .tls):
            logger.info("SMTP session encrypted with TLS (opportunistic: the certificate is not checked)")
        case (.opportunisticStartTLS, _):
            logger.info("SMTP session \(security) (opportunistic TLS)")
        case (_, .tls):
            let checked = configuration.trust == .insecureNoVerification ? "not checked" : "checked"
            logger.debug("SMTP session encrypted with TLS (the certificate is \(checked))")
        default:
            logger.debug("SMTP session \(security)")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let dns = error.dnsAAAAError ?? error.dnsAError { return "unknown host (\(dns))" }
            if let first = error.connectionErrors.first { return describe(first.error) }
            return "no address to connect to"
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case 111: return "connection refused"
            case 110: return "connection timed out"
            case 113, 101: return "host unreachable"
            case 104: return "connection reset by the server"
            case 32: return "connection closed by the server while writing"
            default: return "\(error)"
            }
        }
        if error is ChannelError, "\(error)".contains("connectTimeout") { return "connection timed out" }
        if let error = error as? SocketAddressError {
            if case .unknown(let host, _) = error { return "unknown host \(host)" }
        }
        return "\(error)"
    }
}
