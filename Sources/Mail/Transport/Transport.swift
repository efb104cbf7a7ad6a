/// Something that delivers messages: an SMTP server (``SMTPTransport``) or an outbox
/// folder (``FileTransport``). Make one from a URL with ``TransportURL``.
///
/// ```swift
/// let transport = try TransportURL("smtp://user:secret@mail.example.com:587").makeTransport()
/// let result = try await transport.send(envelope, message: bytes)
/// for recipient in result.recipients where recipient.status == .permanentFailure { … }
/// ```
public protocol Transport: Sendable {
    /// Delivers one message and reports each recipient's fate.
    ///
    /// - Throws: ``MailError`` only when no transaction could start (cannot connect, TLS
    ///   refused, wrong password, outbox not writable); everything later is per recipient.
    func send(_ envelope: Envelope, message: [UInt8]) async throws(MailError) -> DeliveryResult

    /// Delivers many messages, as fast as the transport allows (for SMTP: over pooled,
    /// pipelined connections). Results are in the order of `messages`.
    ///
    /// `onResult` is called with each message's ``OutgoingMessage/id`` and result the moment
    /// it is known, before the batch ends, so that a caller can record it at once; each
    /// message is reported exactly once. When the calling task is cancelled, no further
    /// message is handed to a connection, and one already started whose data has not gone
    /// out is withdrawn; those come back as ``MailError/Code/notSent``. Only a message whose
    /// data was on its way when the cancel came is still delivered.
    func send(
        _ messages: [OutgoingMessage],
        onResult: (@Sendable (Int64, Result<DeliveryResult, MailError>) -> Void)?
    ) async -> [Result<DeliveryResult, MailError>]

    /// Closes whatever the transport holds open; a connection in the middle of a transaction
    /// finishes it first.
    func shutdown() async

    /// Closes everything now, connections in the middle of a transaction too (the grace after
    /// SIGTERM is over): a message whose final "." went out comes back uncertain, the rest
    /// as not sent.
    func abandon() async
}

extension Transport {
    /// Delivers many messages; see ``send(_:onResult:)``.
    public func send(_ messages: [OutgoingMessage]) async -> [Result<DeliveryResult, MailError>] {
        await send(messages, onResult: nil)
    }

    public func send(
        _ messages: [OutgoingMessage],
        onResult: (@Sendable (Int64, Result<DeliveryResult, MailError>) -> Void)?
    ) async -> [Result<DeliveryResult, MailError>] {
        var results: [Result<DeliveryResult, MailError>] = []
        results.reserveCapacity(messages.count)
        for message in messages {
            let result: Result<DeliveryResult, MailError>
            if Task.isCancelled {
                result = .failure(MailError(.notSent, "cancelled before sending"))
            } else {
                do throws(MailError) {
                    result = .success(try await send(message.envelope, message: message.message))
                } catch {
                    result = .failure(error)
                }
            }
            onResult?(message.id, result)
            results.append(result)
        }
        return results
    }

    public func shutdown() async {}

    /// A transport that holds no connection has nothing more to abandon than to shut down.
    public func abandon() async { await shutdown() }
}
