import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Delivers over SMTP through an ``SMTPConnectionPool``: connections are kept open and
/// reused, each transaction is pipelined when the server allows it.
///
/// It is a `Service` (its `run()` runs the pool), so put it in the `ServiceGroup`.
public struct SMTPTransport: Transport, Service {
    public let pool: SMTPConnectionPool

    public init(
        configuration: SMTPClientConfiguration,
        poolConfiguration: SMTPPoolConfiguration = SMTPPoolConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mail.smtp", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.pool = SMTPConnectionPool(
            configuration: configuration, poolConfiguration: poolConfiguration,
            eventLoopGroup: eventLoopGroup, logger: logger
        )
    }

    public func run() async throws { try await pool.run() }

    public func shutdown() async { await pool.shutdown() }

    public func send(_ envelope: Envelope, message: [UInt8]) async throws(MailError) -> DeliveryResult {
        try await send(envelope, body: MessageBody(message: message))
    }

    /// Sends a message already prepared with ``MessageBody``.
    public func send(_ envelope: Envelope, body: MessageBody) async throws(MailError) -> DeliveryResult {
        var lease = try await pool.lease()
        var result = await lease.connection.send(envelope, body: body)
        lease.messages += 1
        if lease.reused, !lease.connection.isOpen, Self.failedBeforeData(result) {
            // A reused connection that the server had dropped or was closing (421): nothing
            // was delivered, so one retry on a fresh connection is safe.
            await pool.release(lease)
            lease = try await pool.lease()
            result = await lease.connection.send(envelope, body: body)
            lease.messages += 1
        }
        await pool.release(lease)
        return result
    }

    /// Messages handed to one connection before the first of them is answered: the next
    /// transaction starts on the event loop the moment the previous one ends.
    static let messagesInFlightPerConnection = 3

    public func send(
        _ messages: [OutgoingMessage],
        onResult: (@Sendable (Int, Result<DeliveryResult, MailError>) -> Void)?
    ) async -> [Result<DeliveryResult, MailError>] {
        guard !messages.isEmpty else { return [] }
        let workers = min(pool.poolConfiguration.maximumConnections, messages.count)
        let limit = pool.poolConfiguration.maximumMessagesPerConnection
        let cursor = Cursor(count: messages.count)
        return await withTaskGroup(of: [(Int, Result<DeliveryResult, MailError>)].self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var done: [(Int, Result<DeliveryResult, MailError>)] = []
                    while !Task.isCancelled, let first = await cursor.next() {
                        var lease: SMTPConnectionPool.Lease
                        do throws(MailError) {
                            lease = try await pool.lease()
                        } catch {
                            onResult?(first, .failure(error))
                            done.append((first, .failure(error)))
                            continue
                        }
                        let connection = lease.connection
                        var sent: [(Int, DeliveryResult)] = []
                        var index: Int? = first
                        await withTaskGroup(of: (Int, DeliveryResult).self) { inFlight in
                            var count = 0
                            while let current = index {
                                let message = messages[current]
                                inFlight.addTask { (current, await connection.send(message.envelope, body: MessageBody(message: message.message))) }
                                lease.messages += 1
                                count += 1
                                if count >= Self.messagesInFlightPerConnection, let result = await inFlight.next() {
                                    sent.append(result)
                                    Self.reportUnlessRetried(result, onResult)
                                    count -= 1
                                }
                                if lease.messages >= limit || !connection.isOpen || Task.isCancelled { break }
                                index = await cursor.next()
                            }
                            for await result in inFlight {
                                sent.append(result)
                                Self.reportUnlessRetried(result, onResult)
                            }
                        }
                        let connectionLost = !connection.isOpen
                        await pool.release(lease)
                        for (index, result) in sent {
                            guard Self.failedBeforeData(result) else {
                                done.append((index, .success(result)))  // reported already
                                continue
                            }
                            let final: Result<DeliveryResult, MailError>
                            if connectionLost {
                                // Not delivered (the connection went before the data): once more
                                // on a fresh connection.
                                let message = messages[index]
                                do throws(MailError) {
                                    final = .success(try await send(message.envelope, body: MessageBody(message: message.message)))
                                } catch {
                                    final = .failure(error)
                                }
                            } else {
                                final = .success(result)
                            }
                            onResult?(index, final)
                            done.append((index, final))
                        }
                    }
                    return done
                }
            }
            var results = [Result<DeliveryResult, MailError>?](repeating: nil, count: messages.count)
            for await batch in group {
                for (index, result) in batch { results[index] = result }
            }
            return results.enumerated().map { index, result in
                if let result { return result }
                let notSent = Result<DeliveryResult, MailError>.failure(MailError(.notSent, "cancelled before sending"))
                onResult?(index, notSent)
                return notSent
            }
        }
    }

    /// Reports a result the moment it arrives, except one that may yet be retried on a fresh
    /// connection (reported when the retry ends): a caller that records results as they come
    /// then loses at most the one message whose reply is outstanding on each connection.
    private static func reportUnlessRetried(
        _ result: (Int, DeliveryResult), _ onResult: (@Sendable (Int, Result<DeliveryResult, MailError>) -> Void)?
    ) {
        if !failedBeforeData(result.1) { onResult?(result.0, .success(result.1)) }
    }

    static func failedBeforeData(_ result: DeliveryResult) -> Bool {
        !result.deliveryUncertain && result.recipients.allSatisfy {
            $0.status == .transientFailure && $0.error != nil && ($0.reply == nil || $0.reply?.code == 421)
        }
    }

    actor Cursor {
        private var nextIndex = 0
        private let count: Int
        init(count: Int) { self.count = count }
        func next() -> Int? {
            guard nextIndex < count else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }
    }
}
