import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import Mail

/// The listener under a crowd of idle, slow and greedy clients (all on loopback, each loop
/// bounded): it caps connections in all and per address, drops a client that sends bytes but
/// no lines, ends sessions that run too long, runs a bounded number of handlers at once, and
/// keeps serving a client that behaves.
@Suite(.serialized) struct ListenerLoadTests {
    /// A raw connection from `source` (another loopback address: each is its own client to
    /// the listener), collecting what the server says.
    struct Raw {
        let channel: any Channel
        let replies: NIOLockedValueBox<[String]>
        var text: String { replies.withLockedValue { $0.joined() } }

        static func connect(from source: String, to port: Int) async throws -> Raw {
            let replies = NIOLockedValueBox<[String]>([])
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(to: try SocketAddress(ipAddress: source, port: 0))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ServerTests.Collector(replies: replies)) }
                }
                .connect(host: "127.0.0.1", port: port).get()
            return Raw(channel: channel, replies: replies)
        }

        func send(_ text: String) async throws {
            try await channel.writeAndFlush(channel.allocator.buffer(string: text)).get()
        }
    }

    /// Waits until `condition` holds, at most `seconds`.
    func within(_ seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    @Test func aWellBehavedClientIsServedThroughACrowd() async throws {
        let running = NIOLockedValueBox((now: 0, most: 0))
        let received = NIOLockedValueBox<[String]>([])
        let server = SMTPServer(
            configuration: SMTPServerConfiguration(port: 0, idleTimeout: .seconds(8), sessionTimeout: .seconds(16),
                                                   maximumConnections: 60, maximumConnectionsPerAddress: 25, maximumConcurrentHandlers: 2),
            handler: { message in
                running.withLockedValue { $0.now += 1; $0.most = max($0.most, $0.now) }
                try await Task.sleep(for: .milliseconds(200))
                running.withLockedValue { $0.now -= 1 }
                received.withLockedValue { $0 += message.envelope.recipients }
            })
        let port = try await server.start()

        // 30 idle clients from one address: 25 are let in, 5 told to come back later.
        // (Connected all at once: one after another on a busy machine, the first could reach
        // the idle timeout before the last arrive.)
        let idle = try await withThrowingTaskGroup(of: Raw.self) { group in
            for _ in 0..<30 { group.addTask { try await Raw.connect(from: "127.0.0.5", to: port) } }
            return try await group.reduce(into: [Raw]()) { $0.append($1) }
        }
        let admitted = try await within(10) { idle.filter { $0.text.hasPrefix("220") }.count == 25 }
        #expect(admitted, "\(idle.map { $0.text.prefix(40) })")
        #expect(try await within(10) { idle.filter { $0.text.hasPrefix("421") && $0.text.contains("too many connections") }.count == 5 })

        // 10 slow clients that send a byte every 100 ms and never a whole line: bytes are no
        // progress, so each is dropped at the idle timeout although it keeps sending.
        var slow: [Raw] = []
        for _ in 0..<10 { slow.append(try await Raw.connect(from: "127.0.0.6", to: port)) }
        let dripping = Task { [slow] in
            for _ in 0..<200 {   // 20 s at most
                for client in slow where client.channel.isActive { try? await client.send("E") }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        // One that sends whole lines forever is ended by the session deadline.
        let chatty = try await Raw.connect(from: "127.0.0.7", to: port)
        let chattering = Task {
            for _ in 0..<300 where chatty.channel.isActive {   // 30 s at most
                try? await chatty.send("NOOP\r\n")
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        // Meanwhile a client that behaves (our own, from 127.0.0.1) sends six messages on
        // three connections at once; the handlers run two at a time.
        let transport = SMTPTransport(configuration: SMTPClientConfiguration(host: "127.0.0.1", port: port, security: .none, timeouts: .all(.seconds(30))),
                                      poolConfiguration: SMTPPoolConfiguration(maximumConnections: 3))
        let batch = (0..<6).map { OutgoingMessage(envelope: try! Envelope(returnPath: "", recipients: ["bounce+\($0)@example.com"]),
                                                  message: Array("Subject: \($0)\r\n\r\nhello\r\n".utf8)) }
        let results = await transport.send(batch)
        #expect(results.allSatisfy { (try? $0.get())?.allAccepted == true })
        // Every message arrived (on a machine busy enough for a client timeout, one may arrive
        // twice: SMTP cannot tell a lost reply from a lost message).
        #expect(Set(received.withLockedValue { $0 }) == Set((0..<6).map { "bounce+\($0)@example.com" }))
        #expect(running.withLockedValue { $0.most } <= 2)

        #expect(try await within(20) { slow.allSatisfy { !$0.channel.isActive } }, "slow clients dropped at the idle timeout")
        // The server writes its 421 and closes while the client is still sending; data that
        // reaches a closed socket makes the kernel answer with a reset, which may discard the
        // 421 before the client reads it. So: none was told anything else, and most heard it.
        let told = slow.filter { $0.text.contains("421") && $0.text.contains("idle too long") }.count
        #expect(slow.allSatisfy { $0.text.hasPrefix("220") && !$0.text.dropFirst(3).contains("250") }, "\(slow.map(\.text))")
        #expect(told >= 5, "\(slow.map(\.text))")
        #expect(try await within(30) { !chatty.channel.isActive }, "the session deadline ends a client that never stops")
        #expect(chatty.text.contains("session too long"))
        // The idle ones were dropped too, which freed their places for newcomers.
        #expect(try await within(20) { idle.allSatisfy { !$0.channel.isActive } })
        let newcomer = try await Raw.connect(from: "127.0.0.5", to: port)
        #expect(try await within(6) { newcomer.text.hasPrefix("220") })

        dripping.cancel()
        chattering.cancel()
        try? await newcomer.channel.close()
        await transport.shutdown()
        await server.stop()
    }

    /// A client that pipelines more while its message is being handled is not read from
    /// meanwhile: what it sends stays in the sockets (whose buffers fill, so its write cannot
    /// finish) instead of piling up in the server's memory; once handled, it is read again.
    @Test func nothingIsReadWhileTheHandlerRuns() async throws {
        let gate = NIOLockedValueBox(false)
        let server = SMTPServer(configuration: SMTPServerConfiguration(port: 0), handler: { _ in
            for _ in 0..<250 where !gate.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
        })
        let port = try await server.start()
        let replies = NIOLockedValueBox(0)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: "127.0.0.8", port: 0))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ByteCounter(count: replies)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(channel.allocator.buffer(string: "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.com>\r\nDATA\r\nhi\r\n")).get()
        // The end of the data, then 16 MB more than loopback's socket buffers hold, in long
        // lines (a NOOP may carry a string, RFC 5321 §4.1.1.9) so that there are few to answer.
        let written = NIOLockedValueBox(false)
        let noop = "NOOP " + String(repeating: "x", count: 4000) + "\r\n"
        channel.writeAndFlush(channel.allocator.buffer(string: ".\r\n" + String(repeating: noop, count: 16 * 1024 * 1024 / noop.utf8.count)))
            .whenComplete { _ in written.withLockedValue { $0 = true } }
        try await Task.sleep(for: .milliseconds(500))
        #expect(!written.withLockedValue { $0 }, "the server stopped reading while the handler ran")
        gate.withLockedValue { $0 = true }
        #expect(try await within(60) { written.withLockedValue { $0 } }, "and reads again once it is done")
        try? await channel.close()
        await server.stop()
    }

    /// The session deadline does not cut a message being handled: it is answered first, so
    /// that the client does not send it again.
    @Test func theSessionDeadlineWaitsForTheAnswer() async throws {
        // The whole transaction in one write, so that the handler starts well before the
        // deadline even on a busy machine; it then runs past the deadline.
        let server = SMTPServer(configuration: SMTPServerConfiguration(port: 0, sessionTimeout: .seconds(4)), handler: { _ in
            try await Task.sleep(for: .seconds(6))
        })
        let port = try await server.start()
        let client = try await Raw.connect(from: "127.0.0.9", to: port)
        try await client.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.com>\r\nDATA\r\nhi\r\n.\r\n")
        #expect(try await within(20) { !client.channel.isActive })
        let text = client.text
        let queued = text.range(of: "queued"), closing = text.range(of: "session too long")
        #expect(queued != nil && closing != nil && queued!.lowerBound < closing!.lowerBound, "\(text)")
        await server.stop()
    }

    /// Counts bytes and drops them (the replies to millions of NOOPs).
    final class ByteCounter: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let count: NIOLockedValueBox<Int>
        init(count: NIOLockedValueBox<Int>) { self.count = count }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data).readableBytes
            count.withLockedValue { $0 += bytes }
        }
    }
}
