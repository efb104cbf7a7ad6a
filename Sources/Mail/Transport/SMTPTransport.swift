import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

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

    public func abandon() async { await pool.abandon() }

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

    /// Sends the batch over up to ``SMTPPoolConfiguration/maximumConnections`` pooled
    /// connections; see ``Transport/send(_:onResult:)`` for the contract.
    ///
    /// `onResult` is called on a connection's event loop thread, the moment the server's
    /// final reply is read: pass the result on (an `AsyncStream`, a lock-protected buffer)
    /// rather than block there, or that connection stalls.
    public func send(
        _ messages: [OutgoingMessage],
        onResult: (@Sendable (Int64, Result<DeliveryResult, MailError>) -> Void)?
    ) async -> [Result<DeliveryResult, MailError>] {
        guard !messages.isEmpty else { return [] }
        let feed = MessageFeed(messages)
        let results = BatchResults(messages, report: onResult)
        let workers = min(pool.poolConfiguration.maximumConnections, messages.count)
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<workers {
                    group.addTask { await carry(feed, into: results) }
                }
            }
        } onCancel: {
            feed.cancel()
        }
        return results.finish()
    }

    /// One worker of a batch: leases a connection and lets it take messages from the feed
    /// until the feed is drained or the connection has carried its share.
    private func carry(_ feed: MessageFeed, into results: BatchResults) async {
        let limit = pool.poolConfiguration.maximumMessagesPerConnection
        while !feed.isDrained {
            var lease: SMTPConnectionPool.Lease
            do throws(MailError) {
                lease = try await pool.lease()
            } catch {
                // No connection (refused, timed out, TLS failed, unknown host): this worker
                // stops after failing one message with the reason, rather than trying a new
                // connection for every message of the batch against a server that is down.
                // Other workers go on; what nobody takes comes back as notSent.
                if let index = feed.take() { results.record(index, .failure(error)) }
                return
            }
            let connection = lease.connection
            let heldBack = HeldBack()
            lease.messages += await connection.send(feed, limit: limit - lease.messages) { index, result in
                if Self.failedBeforeData(result) {
                    heldBack.append((index, result))
                } else {
                    results.record(index, .success(result))
                }
            }
            let connectionLost = !connection.isOpen
            await pool.release(lease)
            for (index, result) in heldBack.all {
                if let withdrawn = Self.withdrawal(result) {
                    // The caller cancelled while its data was yet to go: as if never taken.
                    results.record(index, .failure(withdrawn))
                    continue
                }
                // Not delivered (the connection went before the data): once more on a fresh
                // connection, unless the caller cancelled, who wants nothing more sent.
                guard connectionLost, !Task.isCancelled else {
                    results.record(index, .success(result))
                    continue
                }
                let message = feed.messages[index]
                do throws(MailError) {
                    results.record(index, .success(try await send(message.envelope, body: MessageBody(message: message.message))))
                } catch {
                    results.record(index, .failure(error))
                }
            }
        }
    }

    /// Results that may yet be retried on a fresh connection, reported when the retry ends:
    /// a caller that records results as they come then loses at most the messages whose
    /// replies were outstanding when a connection dropped.
    final class HeldBack: Sendable {
        private let results = Mutex<[(Int, DeliveryResult)]>([])
        func append(_ result: (Int, DeliveryResult)) { results.withLock { $0.append(result) } }
        var all: [(Int, DeliveryResult)] { results.withLock { $0 } }
    }

    /// The error of a message withdrawn before its data (``SMTPClientStateMachine/withdraw()``),
    /// or nil. Recipients the server refused before the withdrawal keep their answer.
    static func withdrawal(_ result: DeliveryResult) -> MailError? {
        result.recipients.allSatisfy { $0.reply == nil && $0.error?.code == .notSent } ? result.recipients.first?.error : nil
    }

    static func failedBeforeData(_ result: DeliveryResult) -> Bool {
        !result.deliveryUncertain && result.recipients.allSatisfy {
            $0.status == .transientFailure && $0.error != nil && ($0.reply == nil || $0.reply?.code == 421)
        }
    }
}
