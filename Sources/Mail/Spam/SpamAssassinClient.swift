import NIOCore
import NIOPosix

/// Asks SpamAssassin's `spamd` what it thinks of a message, as `spamc` does (the SPAMC/1.5
/// protocol over TCP: one `REPORT` request a connection, answered with a score and the rules
/// that fired; see ``SpamReport``).
///
/// ```swift
/// let client = try SpamAssassinClient(address: "127.0.0.1:783")
/// let report = try await client.report(messageBytes)
/// print(report.score, report.rules.map(\.name))
/// ```
public struct SpamAssassinClient: Sendable {
    public let host: String
    public let port: Int
    /// For the whole exchange; spamd takes about a second for a message of a few kilobytes,
    /// longer while it loads its rules.
    public var timeout: Duration

    /// spamd's own default port.
    public static let defaultPort = 783
    /// spamd on this machine at its default port, where Debian's package starts it.
    public static let local = SpamAssassinClient(host: "127.0.0.1", port: defaultPort, timeout: .seconds(30))

    init(host: String, port: Int, timeout: Duration) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }
    /// The most of an answer read; a report of a message is a few kilobytes.
    static let answerLimit = 1 << 20

    /// - Parameter address: `host:port` or `host` (port 783); `[::1]:783` for IPv6.
    /// - Throws: ``MailError`` `.invalidURL` when the address cannot be read.
    public init(address: String, timeout: Duration = .seconds(30)) throws(MailError) {
        var host = Substring(address)
        var port = Self.defaultPort
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else {
                    throw MailError(.invalidURL, "'\(address)' is not host:port")
                }
                port = p
            }
        } else if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon {
            guard let p = Int(host[host.index(after: colon)...]) else { throw MailError(.invalidURL, "'\(address)' is not host:port") }
            port = p
            host = host[..<colon]
        }
        guard !host.isEmpty, (1...65535).contains(port) else { throw MailError(.invalidURL, "'\(address)' is not host:port") }
        self.host = String(host)
        self.port = port
        self.timeout = timeout
    }

    /// `host:port`, as given to ``init(address:timeout:)``.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The request spamd reads: the message follows its `Content-length` bytes exactly.
    ///
    /// spamd reads the message a line at a time, so a last line without its CRLF keeps it
    /// waiting for more until the client gives up; one is added.
    static func request(_ message: [UInt8]) -> [UInt8] {
        let body = message.last == 10 ? message : message + [13, 10]
        return Array("REPORT SPAMC/1.5\r\nContent-length: \(body.count)\r\n\r\n".utf8) + body
    }

    /// Sends `message` (a whole RFC 5322 message) to spamd and reads its report.
    /// - Throws: ``MailError``: `.connectionFailed` when spamd cannot be reached (not
    ///   installed, not started, another port), `.timeout`, `.connectionClosed`, or what
    ///   ``SpamReport/init(spamdAnswer:)`` throws.
    public func report(_ message: [UInt8], eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws(MailError) -> SpamReport {
        let context = ["host": host, "port": String(port)]
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(.seconds(5))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MailError(.connectionFailed, "SpamAssassin's spamd is not answering at \(address): \(error)", context: context,
                            hint: "Install Debian's spamassassin and spamd packages and start spamd (systemctl enable --now spamd), or give Herald its address with --spamd host:port.")
        }
        let request = Self.request(message)
        let limit = Self.answerLimit
        let deadline = timeout
        let timedOut = ClosingFlag()
        let answer: [UInt8]
        do {
            answer = try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask {
                    try await channel.executeThenClose { inbound, outbound in
                        try await outbound.write(ByteBuffer(bytes: request))
                        var bytes: [UInt8] = []
                        for try await buffer in inbound {
                            bytes += buffer.readableBytesView
                            if bytes.count > limit { throw MailError(.protocolViolation, "spamd's answer is over \(limit) bytes") }
                        }
                        return bytes
                    }
                }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    // Closing ends the read above, whether or not it heeds cancellation.
                    timedOut.set()
                    channel.channel.close(promise: nil)
                    return nil
                }
                let first = try await group.next()!
                group.cancelAll()
                guard let first, !timedOut.isSet else { throw MailError(.timeout, "spamd did not answer within \(deadline)", context: context) }
                return first
            }
        } catch let error as MailError {
            throw error
        } catch {
            // Closing at the deadline can end the read with an error of the channel's own.
            if timedOut.isSet { throw MailError(.timeout, "spamd did not answer within \(deadline)", context: context) }
            throw MailError(.connectionClosed, "the connection to spamd at \(address) was lost: \(error)", context: context)
        }
        guard !answer.isEmpty else {
            throw MailError(.connectionClosed, "spamd at \(address) closed the connection without answering", context: context)
        }
        return try SpamReport(spamdAnswer: answer)
    }
}
