import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing
@testable import Mail

/// The buffers the channel handler passes down, one by one: below a TLS handler each one
/// becomes a TLS record, and a server reads TLS a record at a time. An `EmbeddedChannel`
/// shows those boundaries exactly, with no socket.
@Suite struct PipelinedWriteTests {
    final class Connection {
        let channel = EmbeddedChannel()
        let ready: EventLoopPromise<(SMTPCapabilities, SMTPClientStateMachine.SessionSecurity)>

        init(ehlo: [String] = ["mx.test", "PIPELINING"]) throws {
            ready = channel.eventLoop.makePromise()
            let handler = SMTPClientChannelHandler(
                configuration: SMTPClientConfiguration(host: "127.0.0.1", port: 25, security: .none),
                tlsContext: nil, readyPromise: ready, closing: ClosingFlag(), logger: Logger(label: "test")
            )
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 25)).wait()
            try serverSays("220 mx.test ESMTP")
            #expect(try written() == ["EHLO localhost\r\n"])
            try serverSays((ehlo.dropLast().map { "250-\($0)" } + ["250 \(ehlo.last!)"]).joined(separator: "\r\n"))
            _ = try ready.futureResult.wait()
        }

        func serverSays(_ lines: String) throws {
            try channel.writeInbound(ByteBuffer(string: lines + "\r\n"))
        }

        /// Every buffer passed down since the last call, in order.
        func written() throws -> [String] {
            var out: [String] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.append(String(buffer: buffer)) }
            return out
        }

        func send(_ recipient: String, _ text: String) -> EventLoopFuture<DeliveryResult> {
            let promise = channel.eventLoop.makePromise(of: DeliveryResult.self)
            let envelope = try! Envelope(returnPath: "news@sender.test", recipients: [recipient])
            channel.writeAndFlush(SMTPClientRequest.send(envelope, MessageBody(message: Array(text.utf8)), promise), promise: nil)
            return promise.futureResult
        }
    }

    /// The final "." and the next message's MAIL, RCPT and DATA leave in one buffer (one TLS
    /// record), so that a server reading record by record finds the next commands with the
    /// end of the data and answers all four at once; before, the "." closed the body's
    /// buffer and Postfix's "250 queued" went out alone, costing 40 ms a message over TLS.
    @Test func theFinalDotAndTheNextCommandsLeaveInOneBuffer() throws {
        let connection = try Connection()
        let first = connection.send("ann@example.org", "Subject: one\r\n\r\nfirst\r\n")
        #expect(try connection.written() == ["MAIL FROM:<news@sender.test>\r\nRCPT TO:<ann@example.org>\r\nDATA\r\n"])
        let second = connection.send("bob@example.org", "Subject: two\r\n\r\nsecond\r\n")
        #expect(try connection.written().isEmpty)

        try connection.serverSays("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>")
        #expect(try connection.written() == [
            "Subject: one\r\n\r\nfirst\r\n",
            ".\r\nMAIL FROM:<news@sender.test>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
        ])

        try connection.serverSays("250 2.0.0 Ok: queued as A1\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data")
        #expect(try first.wait().allAccepted)
        // Nothing follows the last message: its "." goes alone, at once.
        #expect(try connection.written() == ["Subject: two\r\n\r\nsecond\r\n", ".\r\n"])
        try connection.serverSays("250 2.0.0 Ok: queued as A2")
        #expect(try second.wait().allAccepted)
        #expect(try connection.written().isEmpty)
    }

    /// The result of the first message cancels the batch (as a journal that cannot be
    /// written does) while the second's DATA is already asked for: its 354 arrives in the
    /// same read, and instead of its data the connection closes; it comes back not sent.
    @Test func aMessageStartedBehindTheDataIsWithdrawnWhenTheBatchIsCancelled() throws {
        let connection = try Connection()
        let feed = MessageFeed(["ann", "bob", "cat"].enumerated().map { index, name in
            OutgoingMessage(id: Int64(index), envelope: try! Envelope(returnPath: "news@sender.test", recipients: ["\(name)@example.org"]),
                            message: Array("Subject: \(name)\r\n\r\nhello\r\n".utf8))
        })
        let results = NIOLockedValueBox<[Int: DeliveryResult]>([:])
        let taken = connection.channel.eventLoop.makePromise(of: Int.self)
        let takenCount = NIOLockedValueBox<Int?>(nil)
        taken.futureResult.whenSuccess { count in takenCount.withLockedValue { $0 = count } }
        connection.channel.writeAndFlush(SMTPClientRequest.sendFeed(feed, limit: 10, onResult: { index, result in
            results.withLockedValue { $0[index] = result }
            feed.cancel()
        }, taken), promise: nil)
        #expect(try connection.written() == ["MAIL FROM:<news@sender.test>\r\nRCPT TO:<ann@example.org>\r\nDATA\r\n"])
        try connection.serverSays("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data")
        #expect(try connection.written() == [
            "Subject: ann\r\n\r\nhello\r\n",
            ".\r\nMAIL FROM:<news@sender.test>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
        ])
        try connection.serverSays("250 2.0.0 Ok: queued as A1\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data")
        // Bob's data never leaves, and no QUIT either: the server would take it for data.
        #expect(try connection.written().isEmpty)
        #expect(!connection.channel.isActive)
        // The feed is done with two taken (an embedded channel runs everything at once).
        #expect(takenCount.withLockedValue { $0 } == 2)
        let reported = results.withLockedValue { $0 }
        #expect(reported.keys.sorted() == [0, 1])
        #expect(reported[0]?.allAccepted == true)
        let bob = try #require(reported[1])
        #expect(SMTPTransport.withdrawal(bob)?.code == .notSent)
        #expect(!bob.deliveryUncertain)
    }

    /// Without PIPELINING nothing rides behind the ".", which is still written before the
    /// flush: the server gets the whole message and answers it.
    @Test func withoutPipeliningTheDotIsFlushedWithTheData() throws {
        let connection = try Connection(ehlo: ["mx.test", "8BITMIME"])
        let sent = connection.send("ann@example.org", "Subject: one\r\n\r\n.dot first\r\n")
        #expect(try connection.written() == ["MAIL FROM:<news@sender.test>\r\n"])
        try connection.serverSays("250 Ok")
        #expect(try connection.written() == ["RCPT TO:<ann@example.org>\r\n"])
        try connection.serverSays("250 Ok")
        #expect(try connection.written() == ["DATA\r\n"])
        try connection.serverSays("354 go ahead")
        // RFC 5321 §4.5.2: the line that starts with "." is stuffed.
        #expect(try connection.written() == ["Subject: one\r\n\r\n..dot first\r\n", ".\r\n"])
        try connection.serverSays("250 Ok")
        #expect(try sent.wait().allAccepted)
    }
}
