import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import ServiceLifecycle
import Synchronization

/// How ``SMTPServer`` listens and what it accepts.
public struct SMTPServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port; read it from ``SMTPServer/start()``.
    public var port: Int
    /// The name in the greeting and EHLO reply.
    public var serverName: String
    /// Larger messages are refused with 552 (announced with RFC 1870 SIZE).
    public var maximumMessageSize: Int
    public var maximumRecipients: Int
    /// When set, STARTTLS is offered (RFC 3207) with this server configuration.
    public var tls: TLSConfiguration?
    /// RFC 5321 §4.5.3.2.7: a client that sends no complete line for this long (5 minutes)
    /// is disconnected. Only a whole line counts, so a byte now and then keeps nobody open.
    public var idleTimeout: TimeAmount
    /// However busy, a session ends this long after it began (10 minutes): time enough for
    /// the largest message on a slow link, not for holding a connection for ever.
    public var sessionTimeout: TimeAmount
    /// The longest command line or data line accepted; a longer one ends the session.
    public var maximumLineLength: Int
    /// Connections at once, in all and from one address; more are answered 421 and closed.
    public var maximumConnections: Int
    public var maximumConnectionsPerAddress: Int
    /// Handlers running at once; a message waits for its turn with its connection paused
    /// (nothing more is read from it), so that a burst cannot hold many copies in memory.
    public var maximumConcurrentHandlers: Int

    public init(
        host: String = "127.0.0.1",
        port: Int = 25,
        serverName: String = "localhost",
        maximumMessageSize: Int = 25_000_000,
        maximumRecipients: Int = 100,
        tls: TLSConfiguration? = nil,
        idleTimeout: TimeAmount = .minutes(5),
        sessionTimeout: TimeAmount = .minutes(10),
        maximumLineLength: Int = 65_536,
        maximumConnections: Int = 200,
        maximumConnectionsPerAddress: Int = 20,
        maximumConcurrentHandlers: Int = 8
    ) {
        self.host = host
        self.port = port
        self.serverName = serverName
        self.maximumMessageSize = maximumMessageSize
        self.maximumRecipients = maximumRecipients
        self.tls = tls
        self.idleTimeout = idleTimeout
        self.sessionTimeout = sessionTimeout
        self.maximumLineLength = maximumLineLength
        self.maximumConnections = maximumConnections
        self.maximumConnectionsPerAddress = maximumConnectionsPerAddress
        self.maximumConcurrentHandlers = maximumConcurrentHandlers
    }
}
