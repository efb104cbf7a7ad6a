import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import ServiceLifecycle
import Synchronization

/// An SMTP listener that hands each received message to an async handler: for bounce and
/// reply intake.
///
/// ```swift
/// let server = SMTPServer(configuration: .init(port: 2525, serverName: "bounces.example.com"),
///                         acceptRecipient: { address in address.hasPrefix("bounce+") ? nil : SMTPReply(code: 550, lines: ["no such user"]) },
///                         handler: { message in try await store(message) })
/// // in a ServiceGroup, or: let port = try await server.start(); …; await server.stop()
/// ```
///
/// `acceptRecipient` returns nil to accept, or the reply to refuse with. When `handler`
/// throws, the client gets 451 and will try again later.
public final class SMTPServer: Service, Sendable {
    public typealias RecipientCheck = @Sendable (String) async -> SMTPReply?
    public typealias Handler = @Sendable (ReceivedMessage) async throws -> Void

    public let configuration: SMTPServerConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let acceptRecipient: RecipientCheck
    private let handler: Handler
    private let logger: Logger
    private let channel: NIOLockedChannel
    private let connections: ConnectionCounter
    private let handlerSlots: AsyncSlots

    public init(
        configuration: SMTPServerConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mail.smtp.server", factory: { _ in SwiftLogNoOpLogHandler() }),
        acceptRecipient: @escaping RecipientCheck = { _ in nil },
        handler: @escaping Handler
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.acceptRecipient = acceptRecipient
        self.handler = handler
        self.channel = NIOLockedChannel()
        self.connections = ConnectionCounter()
        self.handlerSlots = AsyncSlots(configuration.maximumConcurrentHandlers)
    }

    /// Binds and starts accepting; returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        let configuration = self.configuration
        let tlsContext = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        let acceptRecipient = self.acceptRecipient
        let handler = self.handler
        let logger = self.logger
        let connections = self.connections
        let slots = self.handlerSlots
        let server = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SMTPServerChannelHandler(
                        configuration: configuration, tlsContext: tlsContext,
                        acceptRecipient: acceptRecipient, handler: handler, logger: logger,
                        connections: connections, slots: slots
                    ))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        channel.set(server)
        return server.localAddress?.port ?? configuration.port
    }

    /// Stops accepting connections; sessions in progress finish on their own.
    public func stop() async {
        try? await channel.get()?.close()
    }

    /// Listens until graceful shutdown.
    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        await stop()
    }
}

/// The bound server channel, set once by `start()` and read by `stop()`.
private final class NIOLockedChannel: Sendable {
    private let box = Mutex<(any Channel)?>(nil)
    func set(_ channel: any Channel) { box.withLock { $0 = channel } }
    func get() -> (any Channel)? { box.withLock { $0 } }
}

/// Carries out ``SMTPServerStateMachine`` actions for one client connection.
final class SMTPServerChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var machine: SMTPServerStateMachine
    private var buffer = ByteBuffer()
    private let configuration: SMTPServerConfiguration
    private let tlsContext: NIOSSLContext?
    private let acceptRecipient: SMTPServer.RecipientCheck
    private let handler: SMTPServer.Handler
    private let logger: Logger
    private var idleTimer: Scheduled<Void>?
    private var sessionTimer: Scheduled<Void>?
    private var remoteAddress: String?
    private let connections: ConnectionCounter
    private let slots: AsyncSlots
    /// The address counted in `connections`, once counted.
    private var counted: String?

    init(configuration: SMTPServerConfiguration, tlsContext: NIOSSLContext?, acceptRecipient: @escaping SMTPServer.RecipientCheck,
         handler: @escaping SMTPServer.Handler, logger: Logger, connections: ConnectionCounter, slots: AsyncSlots) {
        self.connections = connections
        self.slots = slots
        self.configuration = configuration
        self.tlsContext = tlsContext
        self.acceptRecipient = acceptRecipient
        self.handler = handler
        self.logger = logger
        self.machine = SMTPServerStateMachine(configuration: .init(
            serverName: configuration.serverName,
            maximumMessageSize: configuration.maximumMessageSize,
            maximumRecipients: configuration.maximumRecipients,
            offersStartTLS: tlsContext != nil
        ))
    }

    func channelActive(context: ChannelHandlerContext) {
        remoteAddress = context.remoteAddress?.description
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        guard connections.open(address, total: configuration.maximumConnections, perAddress: configuration.maximumConnectionsPerAddress) else {
            // RFC 5321 §3.8: 421 and close; the client tries again later.
            logger.info("SMTP connection refused: too many at once", metadata: ["address": "\(address)"])
            perform(.close(SMTPReply(code: 421, enhancedCode: .init(statusClass: 4, subject: 7, detail: 0), lines: ["too many connections, try again later"])),
                    context: context)
            context.fireChannelActive()
            return
        }
        counted = address
        perform(machine.connected(), context: context)
        armIdleTimer(context: context)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        sessionTimer = context.eventLoop.scheduleTask(in: configuration.sessionTimeout) {
            let (handler, context) = loopBound.value
            // Not while a message is being handled: closing then, after the data and before
            // the reply, would make the client send it again. It ends once answered.
            if handler.paused { handler.sessionExpired = true } else { handler.endSession(context: context) }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        sessionTimer?.cancel()
        if let counted { connections.close(counted) }
        counted = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        processLines(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("SMTP server connection error: \(error)")
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            machine.tlsEstablished()
            processLines(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func processLines(context: ChannelHandlerContext) {
        while context.channel.isActive, !machine.isWaitingForApplication {
            let view = buffer.readableBytesView
            guard let newline = view.firstIndex(of: 10) else {
                if view.count > configuration.maximumLineLength {
                    perform(.close(SMTPReply(code: 500, enhancedCode: .init(statusClass: 5, subject: 5, detail: 2), lines: ["line too long"])), context: context)
                }
                return
            }
            var line = Array(view[view.startIndex..<newline])
            buffer.moveReaderIndex(forwardBy: newline - view.startIndex + 1)
            if line.last == 13 { line.removeLast() }
            // A whole line is progress; bytes alone are not.
            armIdleTimer(context: context)
            perform(machine.received(line: line), context: context)
        }
        buffer.discardReadBytes()
        // While the application works on a recipient or a message, read nothing more: a client
        // that keeps sending then fills its own socket buffer, not our memory.
        pauseReading(machine.isWaitingForHandler && context.channel.isActive, context: context)
    }

    private var paused = false
    /// The session deadline passed while a handler ran: end it after the answer.
    private var sessionExpired = false

    private func endSession(context: ChannelHandlerContext) {
        perform(.close(SMTPReply(code: 421, enhancedCode: .init(statusClass: 4, subject: 4, detail: 2), lines: ["session too long, closing"])),
                context: context)
    }

    private func pauseReading(_ pause: Bool, context: ChannelHandlerContext) {
        guard pause != paused else { return }
        paused = pause
        context.channel.setOption(ChannelOptions.autoRead, value: !pause).whenComplete { _ in }
        if pause {
            // The application's time is ours, not the client's idleness.
            idleTimer?.cancel()
        } else {
            armIdleTimer(context: context)
            context.read()
        }
    }

    private func perform(_ action: SMTPServerStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .wait:
            break
        case .reply(let reply):
            write(reply, context: context)
        case .replyThenStartTLS(let reply):
            write(reply, context: context)
            // RFC 3207 §4.2 / CVE-2011-0411: commands pipelined behind STARTTLS are dropped.
            buffer.clear()
            if let tlsContext {
                do {
                    try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext), position: .first)
                } catch {
                    context.close(promise: nil)
                }
            }
        case .checkRecipient(let address):
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let check = acceptRecipient
            let eventLoop = context.eventLoop
            Task {
                let reply = await check(address)
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.perform(handler.machine.recipientChecked(reply), context: context)
                    if handler.sessionExpired { return handler.endSession(context: context) }
                    handler.pauseReading(false, context: context)
                    handler.processLines(context: context)
                }
            }
        case .deliver(let envelope, let data):
            let message = ReceivedMessage(envelope: envelope, data: data, remoteAddress: remoteAddress)
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let handler = self.handler
            let eventLoop = context.eventLoop
            let logger = self.logger
            let slots = self.slots
            Task {
                var failure: SMTPReply?
                await slots.acquire()
                do {
                    try await handler(message)
                } catch {
                    logger.warning("SMTP server handler failed: \(error)")
                    failure = SMTPReply(code: 451, enhancedCode: .init(statusClass: 4, subject: 3, detail: 0), lines: ["local error, try again later"])
                }
                await slots.release()
                eventLoop.execute {
                    let (channelHandler, context) = loopBound.value
                    channelHandler.perform(channelHandler.machine.messageHandled(failure), context: context)
                    if channelHandler.sessionExpired { return channelHandler.endSession(context: context) }
                    channelHandler.pauseReading(false, context: context)
                    channelHandler.processLines(context: context)
                }
            }
        case .close(let reply):
            if let reply { write(reply, context: context) }
            idleTimer?.cancel()
            sessionTimer?.cancel()
            context.close(promise: nil)
        }
    }

    private func write(_ reply: SMTPReply, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var out = context.channel.allocator.buffer(capacity: 64)
        for (index, line) in reply.lines.enumerated() {
            let separator = index == reply.lines.count - 1 ? " " : "-"
            out.writeString("\(reply.code)\(separator)")
            if index == 0, let enhanced = reply.enhancedCode { out.writeString("\(enhanced) ") }
            out.writeString(line)
            out.writeString("\r\n")
        }
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    private func armIdleTimer(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: configuration.idleTimeout) {
            let (handler, context) = loopBound.value
            handler.perform(.close(SMTPReply(code: 421, enhancedCode: .init(statusClass: 4, subject: 4, detail: 2), lines: ["idle too long, closing"])), context: context)
        }
    }
}
