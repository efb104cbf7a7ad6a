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
    func send(_ messages: [OutgoingMessage]) async -> [Result<DeliveryResult, MailError>]

    /// Closes whatever the transport holds open.
    func shutdown() async
}

extension Transport {
    public func send(_ messages: [OutgoingMessage]) async -> [Result<DeliveryResult, MailError>] {
        var results: [Result<DeliveryResult, MailError>] = []
        results.reserveCapacity(messages.count)
        for message in messages {
            do throws(MailError) {
                results.append(.success(try await send(message.envelope, message: message.message)))
            } catch {
                results.append(.failure(error))
            }
        }
        return results
    }

    public func shutdown() async {}
}
