import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// What ``SMTPConnection`` asks of its channel; written into the pipeline so that all
/// state stays on the channel's event loop.
enum SMTPClientRequest {
    case send(Envelope, MessageBody, EventLoopPromise<DeliveryResult>)
    case quit(EventLoopPromise<Void>)
}

/// Carries out ``SMTPClientStateMachine`` actions on a channel. It decides nothing itself.
final class SMTPClientChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = SMTPClientRequest
    typealias OutboundOut = ByteBuffer

    private var stateMachine: SMTPClientStateMachine
    private var parser = SMTPReplyParser()
    private let timeouts: SMTPClientConfiguration.Timeouts
    private let tlsContext: NIOSSLContext?
    private let serverHostname: String?
    private let readyPromise: EventLoopPromise<SMTPCapabilities>
    private var messagePromise: EventLoopPromise<DeliveryResult>?
    /// Messages handed over while another is in flight; each starts on the event loop as
    /// soon as the one before it finishes, with no hop back to the caller's task.
    private var queued: [(Envelope, MessageBody, EventLoopPromise<DeliveryResult>)] = []
    private var quitPromise: EventLoopPromise<Void>?
    private var timer: Scheduled<Void>?
    private var timerWait: SMTPClientStateMachine.Wait?
    private var logger: Logger
    private var startingTLS = false

    init(
        configuration: SMTPClientConfiguration,
        tlsContext: NIOSSLContext?,
        readyPromise: EventLoopPromise<SMTPCapabilities>,
        logger: Logger
    ) {
        self.stateMachine = SMTPClientStateMachine(configuration: .init(configuration))
        self.timeouts = configuration.timeouts
        self.tlsContext = tlsContext
        self.serverHostname = configuration.host.first?.isNumber == true || configuration.host.contains(":") ? nil : configuration.host
        self.readyPromise = readyPromise
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { perform(stateMachine.connected(), context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(stateMachine.connected(), context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(stateMachine.errorHappened(MailError(.connectionClosed, "the server closed the connection")), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let mailError: MailError
        if let error = error as? MailError {
            mailError = error
        } else if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            let text = "\(error)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                mailError = MailError(.tlsHandshakeFailed, "the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED)")
            } else if error is NIOSSLExtraError {
                mailError = MailError(.tlsHandshakeFailed, "the server's certificate does not match the host name: \(text)")
            } else {
                mailError = MailError(.tlsHandshakeFailed, "TLS failed: \(text)")
            }
        } else {
            mailError = MailError(.connectionClosed, "the connection failed: \(error)")
        }
        perform(stateMachine.errorHappened(mailError), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent, startingTLS {
            startingTLS = false
            perform(stateMachine.tlsEstablished(), context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parser.append(unwrapInboundIn(data).readableBytesView)
        do {
            while !startingTLS, let reply = try parser.next() {
                logger.trace("S: \(reply)")
                perform(stateMachine.received(reply), context: context)
            }
        } catch {
            perform(stateMachine.errorHappened(error), context: context)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .send(let envelope, let body, let resultPromise):
            guard messagePromise == nil else {
                queued.append((envelope, body, resultPromise))
                break
            }
            messagePromise = resultPromise
            perform(stateMachine.sendMessage(envelope, body: body), context: context)
        case .quit(let donePromise):
            quitPromise = donePromise
            perform(stateMachine.quit(), context: context)
            if stateMachine.isClosed { donePromise.succeed() }
        }
        promise?.succeed()
    }

    private func perform(_ action: SMTPClientStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .wait:
            break
        case .send(let commands):
            write(commands, context: context)
        case .startTLSHandshake:
            guard let tlsContext else {
                perform(stateMachine.errorHappened(MailError(.tlsHandshakeFailed, "no TLS configuration")), context: context)
                return
            }
            // RFC 3207 §5: whatever was read before the handshake is not trusted.
            parser.discardBufferedBytes()
            startingTLS = true
            do {
                let handler = try NIOSSLClientHandler(context: tlsContext, serverHostname: serverHostname)
                try context.pipeline.syncOperations.addHandler(handler, position: .first)
            } catch {
                perform(stateMachine.errorHappened(MailError(.tlsHandshakeFailed, "TLS could not start: \(error)")), context: context)
                return
            }
        case .connectionReady(let capabilities):
            readyPromise.succeed(capabilities)
        case .messageFinished(let result, let commands):
            if !commands.isEmpty { write(commands, context: context) }
            let promise = messagePromise
            messagePromise = nil
            promise?.succeed(result)
            if !queued.isEmpty, stateMachine.isIdle {
                let (envelope, body, next) = queued.removeFirst()
                messagePromise = next
                perform(stateMachine.sendMessage(envelope, body: body), context: context)
                return
            }
        case .close(let reason):
            cancelTimer()
            if reason.sendQuit, context.channel.isActive {
                write([.quit], context: context)
            }
            if let error = reason.error {
                logger.debug("SMTP connection closing: \(error)")
                readyPromise.fail(error)
            } else {
                readyPromise.fail(MailError(.connectionClosed, "the connection was closed"))
            }
            if let promise = messagePromise {
                messagePromise = nil
                promise.succeed(reason.interruptedMessage ?? DeliveryResult(recipients: []))
            }
            // Never started, so nothing was delivered: safe for the caller to retry.
            let notSent = MailError(.connectionClosed, "the connection closed before this message was sent")
            for (envelope, _, promise) in queued {
                promise.succeed(SMTPClientStateMachine.result(for: envelope, transient: notSent))
            }
            queued.removeAll()
            quitPromise?.succeed()
            quitPromise = nil
            context.close(promise: nil)
            return
        }
        updateTimer(context: context)
    }

    private func write(_ commands: [SMTPCommand], context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 256)
        for command in commands {
            logger.trace("C: \(command)")
            command.write(into: &buffer)
        }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// Arms the RFC 5321 §4.5.3.2 timer for the reply now awaited; re-armed on every reply,
    /// so it bounds the silence, not the whole exchange.
    private func updateTimer(context: ChannelHandlerContext) {
        cancelTimer()
        guard let wait = stateMachine.waitingFor else { return }
        let amount: TimeAmount = switch wait {
        case .greeting: timeouts.greeting
        case .mail: timeouts.mail
        case .rcpt: timeouts.rcpt
        case .dataInitiation: timeouts.dataInitiation
        case .dataTermination: timeouts.dataTermination
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timerWait = wait
        timer = context.eventLoop.scheduleTask(in: amount) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            let error = MailError(.timeout, "no reply from the server within \(amount.nanoseconds / 1_000_000) ms", context: ["waitingFor": "\(wait)"])
            handler.perform(handler.stateMachine.errorHappened(error), context: context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }
}
