import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// Set by the channel handler the moment it decides to close, so that
/// ``SMTPConnection/isOpen`` is false before the channel itself is closed (a TLS close
/// first waits for the server's close_notify).
final class ClosingFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// What ``SMTPConnection`` asks of its channel; written into the pipeline so that all
/// state stays on the channel's event loop.
enum SMTPClientRequest {
    case send(Envelope, MessageBody, EventLoopPromise<DeliveryResult>)
    /// Take messages from the feed, at most `limit`, calling `onResult` on the event loop as
    /// each ends; the promise gets the number taken once they have all ended.
    case sendFeed(MessageFeed, limit: Int, onResult: @Sendable (Int, DeliveryResult) -> Void, EventLoopPromise<Int>)
    case quit(EventLoopPromise<Void>)
}

/// Carries out ``SMTPClientStateMachine`` actions on a channel. It decides nothing itself.
///
/// Messages wait here, not in the caller's task: each starts on the event loop as soon as
/// the state machine can take it (for a pipelining server, in the same write as the data
/// of the one before), and replies read together are answered with one flush.
final class SMTPClientChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = SMTPClientRequest
    typealias OutboundOut = ByteBuffer

    /// Who is told when a started message ends.
    private enum Completion {
        case promise(EventLoopPromise<DeliveryResult>, Envelope)
        case feed(Int)
    }

    private struct Feed {
        let feed: MessageFeed
        var remaining: Int
        var taken = 0
        var inFlight = 0
        var drained = false
        let onResult: @Sendable (Int, DeliveryResult) -> Void
        let promise: EventLoopPromise<Int>
    }

    private var stateMachine: SMTPClientStateMachine
    private var parser = SMTPReplyParser()
    private let timeouts: SMTPClientConfiguration.Timeouts
    private let tlsContext: NIOSSLContext?
    private let trust: SMTPClientConfiguration.Trust
    private let serverHostname: String?
    private let readyPromise: EventLoopPromise<(SMTPCapabilities, SMTPClientStateMachine.SessionSecurity)>
    private let closing: ClosingFlag
    /// Started messages, oldest first; the state machine finishes them in this order.
    private var started = CircularBuffer<Completion>(initialCapacity: 2)
    /// Single messages handed over and not yet started.
    private var waiting = CircularBuffer<(Envelope, MessageBody, EventLoopPromise<DeliveryResult>)>()
    private var feed: Feed?
    private var quitPromise: EventLoopPromise<Void>?
    private var timer: Scheduled<Void>?
    private var timerFiresAt: NIODeadline?
    /// When the reply now awaited is overdue; the timer is moved only when it would fire
    /// too late, not on every reply.
    private var replyDeadline: NIODeadline?
    private var timerWait: SMTPClientStateMachine.Wait?
    private var logger: Logger
    private var startingTLS = false
    /// Inside a read or a request: writes wait for one flush at its end.
    private var batchingWrites = false
    private var needsFlush = false
    /// Command bytes not yet passed down the pipeline; see ``write(_:context:)``.
    private var unwritten: ByteBuffer?

    init(
        configuration: SMTPClientConfiguration,
        tlsContext: NIOSSLContext?,
        readyPromise: EventLoopPromise<(SMTPCapabilities, SMTPClientStateMachine.SessionSecurity)>,
        closing: ClosingFlag,
        logger: Logger
    ) {
        self.stateMachine = SMTPClientStateMachine(configuration: .init(configuration))
        self.timeouts = configuration.timeouts
        self.tlsContext = tlsContext
        self.trust = configuration.trust
        self.serverHostname = configuration.host.first?.isNumber == true || configuration.host.contains(":") ? nil : configuration.host
        self.readyPromise = readyPromise
        self.closing = closing
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
            mailError = Self.tlsFailure(error, trust: trust)
        } else {
            mailError = MailError(.connectionClosed, "the connection failed: \(SMTPConnection.describe(error))")
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
        batchingWrites = true
        do {
            while !startingTLS, let reply = try parser.next() {
                logger.trace("S: \(reply)")
                // Asked before every reply: the cancel may come from this very loop (a result
                // just reported stopped the batch) and the 354 of the next message be next.
                if let feed, feed.feed.isCancelled { stateMachine.withdraw() }
                perform(stateMachine.received(reply), context: context)
            }
        } catch {
            perform(stateMachine.errorHappened(error), context: context)
        }
        startWaitingMessages(context: context)
        flushBatchedWrites(context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        batchingWrites = true
        switch unwrapOutboundIn(data) {
        case .send(let envelope, let body, let resultPromise):
            if stateMachine.isClosed {
                resultPromise.succeed(Self.notSent(envelope))
            } else {
                waiting.append((envelope, body, resultPromise))
            }
        case .sendFeed(let messages, let limit, let onResult, let donePromise):
            if stateMachine.isClosed || feed != nil {
                donePromise.succeed(0)
            } else {
                feed = Feed(feed: messages, remaining: limit, onResult: onResult, promise: donePromise)
            }
        case .quit(let donePromise):
            quitPromise = donePromise
            perform(stateMachine.quit(), context: context)
            if stateMachine.isClosed { donePromise.succeed() }
        }
        startWaitingMessages(context: context)
        flushBatchedWrites(context: context)
        promise?.succeed()
    }

    /// Starts messages while the state machine can take them: a waiting single message
    /// first, then the next of the feed.
    private func startWaitingMessages(context: ChannelHandlerContext) {
        while stateMachine.canStartMessage {
            let envelope: Envelope, body: MessageBody, completion: Completion
            if let (nextEnvelope, nextBody, promise) = waiting.popFirst() {
                (envelope, body, completion) = (nextEnvelope, nextBody, .promise(promise, nextEnvelope))
            } else if var current = feed, !current.drained, current.remaining > 0, let index = current.feed.take() {
                current.remaining -= 1
                current.taken += 1
                current.inFlight += 1
                feed = current
                let message = current.feed.messages[index]
                (envelope, body, completion) = (message.envelope, MessageBody(message: message.message), .feed(index))
            } else {
                feed?.drained = true
                break
            }
            let action = stateMachine.sendMessage(envelope, body: body)
            if case .messageFinished(let result, let commands) = action {
                // Refused before a byte was sent (SIZE, SMTPUTF8).
                if !commands.isEmpty { write(commands, context: context) }
                complete(completion, result)
            } else {
                started.append(completion)
                perform(action, context: context)
            }
        }
        finishFeedIfDone()
    }

    private func complete(_ completion: Completion, _ result: DeliveryResult) {
        switch completion {
        case .promise(let promise, _):
            promise.succeed(result)
        case .feed(let index):
            feed?.inFlight -= 1
            feed?.onResult(index, result)
        }
    }

    private func finishFeedIfDone() {
        guard let current = feed, current.inFlight == 0, current.drained || current.remaining == 0 || stateMachine.isClosed else { return }
        feed = nil
        current.promise.succeed(current.taken)
    }

    /// Says what went wrong in a TLS handshake, and what to do, in the terms of the
    /// transport URL: the advice to add `ca=` only when it is not already there.
    static func tlsFailure(_ error: any Error, trust: SMTPClientConfiguration.Trust) -> MailError {
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            if case .certificatesPEM = trust {
                return MailError(
                    .tlsHandshakeFailed, "the server's certificate is not signed by the certificate given in ca= (CERTIFICATE_VERIFY_FAILED)",
                    hint: "Check that ca= names the server's own certificate or the CA that issued it; "
                        + "`openssl s_client -starttls smtp -connect host:port -showcerts` shows the chain the server presents."
                )
            }
            return MailError(
                .tlsHandshakeFailed, "the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED)",
                hint: "If the server uses a private or self-signed certificate, add ca=/path/to/ca.pem to the URL to trust it."
            )
        }
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname || extra == .serverHostnameImpossibleToMatch {
            return MailError(
                .tlsHandshakeFailed, "the server's certificate does not match the host name: \(text)",
                hint: "Put the host name the certificate was issued for in the URL, not an IP address or another name of the server."
            )
        }
        return MailError(.tlsHandshakeFailed, "TLS failed: \(text)")
    }

    private static func notSent(_ envelope: Envelope) -> DeliveryResult {
        // Never started, so nothing was delivered: safe for the caller to retry.
        SMTPClientStateMachine.result(for: envelope, transient: MailError(.connectionClosed, "the connection closed before this message was sent"))
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
        case .connectionReady(let capabilities, let security):
            readyPromise.succeed((capabilities, security))
        case .messageFinished(let result, let commands):
            if !commands.isEmpty { write(commands, context: context) }
            if let completion = started.popFirst() { complete(completion, result) }
        case .close(let reason):
            closing.set()
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
            // Closing before anyone hears of a result below, so that a caller who wakes on one
            // finds the connection closed and knows the failed messages may be sent again.
            flushWrites(context: context)
            context.close(promise: nil)
            var interrupted = reason.interruptedMessages[...]
            while let completion = started.popFirst() {
                let envelope = switch completion {
                case .promise(_, let envelope): envelope
                case .feed(let index): feed?.feed.messages[index].envelope
                }
                let result = interrupted.popFirst() ?? envelope.map(Self.notSent) ?? DeliveryResult(recipients: [])
                complete(completion, result)
            }
            for (envelope, _, promise) in waiting { promise.succeed(Self.notSent(envelope)) }
            waiting.removeAll()
            finishFeedIfDone()
            quitPromise?.succeed()
            quitPromise = nil
            return
        }
        updateTimer(context: context)
    }

    /// Writes the commands, flushed at once or, inside a read or a request, once at its end.
    ///
    /// A message's data goes down as a slice of its own buffer (never copied), except its
    /// final ".": that waits in ``unwritten`` and is joined by whatever commands follow in the
    /// same flush, which with PIPELINING are the next message's MAIL, RCPT and DATA. Each
    /// buffer passed down becomes one TLS record, and a server reads TLS a record at a time:
    /// Postfix's smtpd, finding its input empty right after the ".", sends "250 queued" at
    /// once, alone, then its replies to MAIL, RCPT and DATA in a second small segment, which
    /// Nagle's algorithm holds until our delayed ACK of the first (about 40 ms on Linux), so a
    /// message over STARTTLS took 45 ms. With the "." and the next commands in one record, all
    /// four replies leave in one segment, as they do in the clear, where this split costs
    /// nothing (the same two buffers go out in one writev).
    private func write(_ commands: [SMTPCommand], context: ChannelHandlerContext) {
        for command in commands {
            logger.trace("C: \(command)")
            guard case .messageBody(let body) = command else {
                if unwritten == nil { unwritten = context.channel.allocator.buffer(capacity: 256) }
                command.write(into: &unwritten!)
                continue
            }
            if let pending = unwritten.take() { context.write(wrapOutboundOut(pending), promise: nil) }
            // RFC 5321 §4.1.1.4: the data ends with CRLF "." CRLF; the last three bytes wait.
            let headLength = max(0, body.readableBytes - 3)
            if headLength > 0 {
                context.write(wrapOutboundOut(body.getSlice(at: body.readerIndex, length: headLength)!), promise: nil)
            }
            var tail = context.channel.allocator.buffer(capacity: 256)
            tail.writeImmutableBuffer(body.getSlice(at: body.readerIndex + headLength, length: body.readableBytes - headLength)!)
            unwritten = tail
        }
        if batchingWrites {
            needsFlush = true
        } else {
            flushWrites(context: context)
        }
    }

    private func flushBatchedWrites(context: ChannelHandlerContext) {
        batchingWrites = false
        if needsFlush { flushWrites(context: context) }
    }

    private func flushWrites(context: ChannelHandlerContext) {
        needsFlush = false
        if let pending = unwritten.take() { context.write(wrapOutboundOut(pending), promise: nil) }
        context.flush()
    }

    /// Keeps the RFC 5321 §4.5.3.2 timer for the reply now awaited. Every reply moves the
    /// deadline on, so it bounds the silence, not the whole exchange; the scheduled task is
    /// only replaced when it would fire too late, not on every reply.
    private func updateTimer(context: ChannelHandlerContext) {
        guard let wait = stateMachine.waitingFor else {
            cancelTimer()
            return
        }
        let deadline = NIODeadline.now() + timeout(for: wait)
        replyDeadline = deadline
        timerWait = wait
        if let firesAt = timerFiresAt, firesAt <= deadline { return }
        scheduleTimer(at: deadline, context: context)
    }

    private func timeout(for wait: SMTPClientStateMachine.Wait) -> TimeAmount {
        switch wait {
        case .greeting: timeouts.greeting
        case .mail: timeouts.mail
        case .rcpt: timeouts.rcpt
        case .dataInitiation: timeouts.dataInitiation
        case .dataTermination: timeouts.dataTermination
        }
    }

    private func scheduleTimer(at deadline: NIODeadline, context: ChannelHandlerContext) {
        timer?.cancel()
        timerFiresAt = deadline
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        timerFiresAt = nil
        guard let deadline = replyDeadline, let wait = timerWait else { return }
        if deadline > .now() {
            scheduleTimer(at: deadline, context: context)
            return
        }
        let amount = timeout(for: wait)
        let error = MailError(.timeout, "no reply from the server within \(amount.nanoseconds / 1_000_000) ms", context: ["waitingFor": "\(wait)"])
        perform(stateMachine.errorHappened(error), context: context)
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerFiresAt = nil
        replyDeadline = nil
    }
}
