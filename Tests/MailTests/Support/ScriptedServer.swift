import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import Mail

/// An in-process SMTP server on 127.0.0.1 that answers from a script, to produce faults
/// real servers rarely give on demand.
final class ScriptedServer: Sendable {
    enum Response: Sendable {
        case reply(String)
        case raw([UInt8])
        case silence
        case close
    }

    struct Script: Sendable {
        var greeting: Response = .reply("220 scripted ESMTP")
        var ehlo: String = "250-scripted\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000000"
        var mail: @Sendable (String) -> Response = { _ in .reply("250 2.1.0 ok") }
        var rcpt: @Sendable (String) -> Response = { _ in .reply("250 2.1.5 ok") }
        var data: Response = .reply("354 go ahead")
        var startTLS: Response = .reply("502 no TLS here")
        /// Called with the message (dot-unstuffed) once "." arrives.
        var endOfData: @Sendable ([UInt8]) -> Response = { _ in .reply("250 2.0.0 queued") }
        /// Close the connection after this many bytes of message data.
        var closeAfterDataBytes: Int?
        /// Close after this many messages were accepted, with this reply first (e.g. 421).
        var afterMessages: (count: Int, response: Response)?
    }

    let channel: any Channel
    let port: Int
    private let received = NIOLockedValueBox<[String]>([])
    private let connectionCount = NIOLockedValueBox(0)
    private let mostCommandsInOneRead = NIOLockedValueBox(0)
    private let endedData = NIOLockedValueBox(0)

    /// The largest number of commands that arrived in one read: > 1 shows pipelining.
    var maximumCommandsPerRead: Int { mostCommandsInOneRead.withLockedValue { $0 } }

    /// Every command line received, over all connections.
    var commands: [String] { received.withLockedValue { $0 } }
    var connections: Int { connectionCount.withLockedValue { $0 } }
    /// Messages whose data ended with "." (what a real server would have delivered).
    var dataEnds: Int { endedData.withLockedValue { $0 } }

    init(_ script: Script) async throws {
        let received = self.received
        let connectionCount = self.connectionCount
        let most = self.mostCommandsInOneRead
        let endedData = self.endedData
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connectionCount.withLockedValue { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(script: script, log: received, most: most, endedData: endedData))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    func stop() async {
        try? await channel.close()
    }

    func configuration(timeouts: TimeAmount = .seconds(5)) -> SMTPClientConfiguration {
        SMTPClientConfiguration(host: "127.0.0.1", port: port, security: .none, timeouts: .all(timeouts))
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let script: Script
        let log: NIOLockedValueBox<[String]>
        let most: NIOLockedValueBox<Int>
        let endedData: NIOLockedValueBox<Int>
        var buffer = ByteBuffer()
        var inData = false
        var dataBytes: [UInt8] = []
        var messages = 0

        init(script: Script, log: NIOLockedValueBox<[String]>, most: NIOLockedValueBox<Int>, endedData: NIOLockedValueBox<Int>) {
            self.script = script
            self.log = log
            self.most = most
            self.endedData = endedData
        }

        func channelActive(context: ChannelHandlerContext) {
            respond(script.greeting, context: context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            var commandsInThisRead = 0
            defer { most.withLockedValue { $0 = max($0, commandsInThisRead) } }
            while let newline = buffer.readableBytesView.firstIndex(of: 10) {
                let length = newline - buffer.readerIndex + 1
                var line = buffer.readBytes(length: length)!
                line.removeLast()
                if line.last == 13 { line.removeLast() }
                if inData {
                    if line == [46] {
                        inData = false
                        messages += 1
                        endedData.withLockedValue { $0 += 1 }
                        let response = script.endOfData(dataBytes)
                        dataBytes = []
                        respond(response, context: context)
                        if let after = script.afterMessages, messages >= after.count {
                            respond(after.response, context: context)
                            respond(.close, context: context)
                            return
                        }
                        continue
                    }
                    dataBytes += (line.first == 46 ? Array(line.dropFirst()) : line) + [13, 10]
                    if let limit = script.closeAfterDataBytes, dataBytes.count >= limit {
                        respond(.close, context: context)
                        return
                    }
                    continue
                }
                let command = String(decoding: line, as: UTF8.self)
                log.withLockedValue { $0.append(command) }
                commandsInThisRead += 1
                let verb = command.prefix(4).uppercased()
                switch verb {
                case "EHLO": respond(.reply(script.ehlo), context: context)
                case "HELO": respond(.reply("250 scripted"), context: context)
                case "MAIL": respond(script.mail(command), context: context)
                case "RCPT": respond(script.rcpt(command), context: context)
                case "DATA":
                    let response = script.data
                    if case .reply(let text) = response, text.hasPrefix("354") { inData = true }
                    respond(response, context: context)
                case "RSET", "NOOP": respond(.reply("250 ok"), context: context)
                case "STAR": respond(script.startTLS, context: context)
                case "QUIT":
                    respond(.reply("221 bye"), context: context)
                    respond(.close, context: context)
                    return
                default: respond(.reply("500 what"), context: context)
                }
            }
        }

        func respond(_ response: Response, context: ChannelHandlerContext) {
            switch response {
            case .reply(let text):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
            case .raw(let bytes):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
            case .silence:
                break
            case .close:
                context.close(promise: nil)
            }
        }
    }
}
