import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Limits of an ``SMTPConnectionPool``.
public struct SMTPPoolConfiguration: Sendable, Hashable {
    /// At most this many connections to the server at once.
    public var maximumConnections: Int
    /// A connection is closed (QUIT) after carrying this many messages; many servers
    /// limit messages per session (Postfix's `smtpd_..._limit`, providers' caps).
    public var maximumMessagesPerConnection: Int
    /// An unused connection is closed after this long, before the server's own timeout
    /// (RFC 5321 §4.5.3.2.7 gives the server 5 minutes) closes it under us.
    public var idleTimeout: Duration

    public init(maximumConnections: Int = 4, maximumMessagesPerConnection: Int = 1000, idleTimeout: Duration = .seconds(60)) {
        self.maximumConnections = max(1, maximumConnections)
        self.maximumMessagesPerConnection = max(1, maximumMessagesPerConnection)
        self.idleTimeout = idleTimeout
    }
}

/// Connections to one SMTP server, opened on demand, reused, and closed when idle.
///
/// A `Service`: add it to the application's `ServiceGroup` so that idle connections are
/// swept and everything is closed with QUIT on graceful shutdown. Without `run()` it still
/// works; call ``shutdown()`` when done.
public actor SMTPConnectionPool: Service {
    struct Idle {
        var connection: SMTPConnection
        var messages: Int
        var since: ContinuousClock.Instant
    }

    /// A connection lent out by the pool, with the count of messages it has carried.
    struct Lease: Sendable {
        let connection: SMTPConnection
        var messages: Int
        let reused: Bool
    }

    public nonisolated let configuration: SMTPClientConfiguration
    public nonisolated let poolConfiguration: SMTPPoolConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private var idle: [Idle] = []
    private var openCount = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var isShutDown = false
    /// The connections lent out now, for ``abandon()``.
    private var leased: [ObjectIdentifier: SMTPConnection] = [:]

    public init(
        configuration: SMTPClientConfiguration,
        poolConfiguration: SMTPPoolConfiguration = SMTPPoolConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mail.smtp.pool", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        self.poolConfiguration = poolConfiguration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Sweeps idle connections until graceful shutdown, then closes every connection.
    public func run() async throws {
        let interval = min(poolConfiguration.idleTimeout / 2, .seconds(1))
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await self.closeExpiredIdleConnections()
            }
        }
        await shutdown()
    }

    /// Closes every idle connection with QUIT and refuses new leases.
    public func shutdown() async {
        isShutDown = true
        let closing = idle
        openCount -= idle.count
        idle.removeAll()
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
        await withTaskGroup(of: Void.self) { group in
            for entry in closing { group.addTask { await entry.connection.close() } }
        }
    }

    /// Closes every connection now, those lent out in the middle of a transaction too (no
    /// QUIT): their messages come back as the loss of a connection makes them, uncertain
    /// after the final ".", not sent before it. For when a shutdown's grace is over.
    public func abandon() async {
        let lent = Array(leased.values)
        leased.removeAll()
        for connection in lent { connection.abort() }
        await shutdown()
    }

    /// The number of open connections, leased or idle.
    public var openConnections: Int { openCount }

    func closeExpiredIdleConnections() async {
        let now = ContinuousClock.now
        let expired = idle.filter { now - $0.since >= poolConfiguration.idleTimeout || !$0.connection.isOpen }
        guard !expired.isEmpty else { return }
        idle.removeAll { now - $0.since >= poolConfiguration.idleTimeout || !$0.connection.isOpen }
        openCount -= expired.count
        wakeOneWaiter()
        for entry in expired { await entry.connection.close() }
    }

    func lease() async throws(MailError) -> Lease {
        while true {
            guard !isShutDown else { throw MailError(.shutDown, "the SMTP connection pool is shut down") }
            while let entry = idle.popLast() {
                if entry.connection.isOpen {
                    leased[ObjectIdentifier(entry.connection)] = entry.connection
                    return Lease(connection: entry.connection, messages: entry.messages, reused: true)
                }
                // The server closed it while idle (timeout, 421): forget it.
                openCount -= 1
            }
            if openCount < poolConfiguration.maximumConnections {
                openCount += 1
                let connection: SMTPConnection
                do {
                    connection = try await SMTPConnection.connect(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
                } catch {
                    openCount -= 1
                    wakeOneWaiter()
                    throw error
                }
                // Shut down (or abandoned) while connecting: the connection is closed, not lent.
                guard !isShutDown else {
                    openCount -= 1
                    await connection.close()
                    throw MailError(.shutDown, "the SMTP connection pool is shut down")
                }
                leased[ObjectIdentifier(connection)] = connection
                return Lease(connection: connection, messages: 0, reused: false)
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    func release(_ lease: Lease) async {
        leased[ObjectIdentifier(lease.connection)] = nil
        if !isShutDown, lease.connection.isOpen, lease.messages < poolConfiguration.maximumMessagesPerConnection {
            idle.append(Idle(connection: lease.connection, messages: lease.messages, since: .now))
            wakeOneWaiter()
            return
        }
        openCount -= 1
        wakeOneWaiter()
        await lease.connection.close()
    }

    private func wakeOneWaiter() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }
}
