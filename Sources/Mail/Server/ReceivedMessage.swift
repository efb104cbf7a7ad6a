import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import ServiceLifecycle
import Synchronization

/// A message received by ``SMTPServer``.
public struct ReceivedMessage: Sendable {
    public var envelope: ReceivedEnvelope
    /// The message as sent, lines ending in CRLF, dot-stuffing removed.
    public var data: [UInt8]
    /// The client's address, for logs.
    public var remoteAddress: String?
}
