import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import Mail

/// The contract of ``Transport/send(_:onResult:)`` that the delivery engine relies on:
/// each result is reported once, as soon as it is known, and a cancelled batch hands
/// nothing more to the server.
@Suite struct BatchSendTests {
    static func message(_ text: String = "hello") -> [UInt8] {
        Array("From: a@example.com\r\nTo: b@example.org\r\nSubject: t\r\n\r\n\(text)\r\n".utf8)
    }

    static func batch(_ count: Int, text: @escaping (Int) -> String = { _ in "hello" }) -> [OutgoingMessage] {
        (0..<count).map {
            OutgoingMessage(id: Int64($0), envelope: try! Envelope(returnPath: "b@example.com", recipients: ["r\($0)@example.org"]),
                            message: message(text($0)))
        }
    }

    /// Every call of `onResult`, with the time since the batch started.
    final class Reports: Sendable {
        let clock = ContinuousClock()
        let start: ContinuousClock.Instant
        private let calls = NIOLockedValueBox<[(index: Int, result: Result<DeliveryResult, MailError>, after: Duration)]>([])

        init() { start = clock.now }

        var all: [(index: Int, result: Result<DeliveryResult, MailError>, after: Duration)] { calls.withLockedValue { $0 } }

        /// `id` is the message's position in the batch (``batch(_:text:)`` numbers them so).
        func record(_ id: Int64, _ result: Result<DeliveryResult, MailError>) {
            let after = clock.now - start
            calls.withLockedValue { $0.append((Int(id), result, after)) }
        }

        /// How many times each index was reported.
        func counts(_ total: Int) -> [Int] {
            var counts = [Int](repeating: 0, count: total)
            for call in all { counts[call.index] += 1 }
            return counts
        }
    }

    static func mailCommands(_ server: ScriptedServer) -> Int {
        server.commands.filter { $0.hasPrefix("MAIL FROM") }.count
    }

    @Test func resultsAreReportedBeforeTheBatchEnds() async throws {
        // The last message gets no reply after its data, so the batch lasts until the
        // timeout; the others must be reported long before that.
        var script = ScriptedServer.Script()
        script.endOfData = { data in
            String(decoding: data, as: UTF8.self).contains("slow") ? .silence : .reply("250 2.0.0 queued")
        }
        let server = try await ScriptedServer(script)
        let transport = SMTPTransport(configuration: server.configuration(timeouts: .seconds(3)), poolConfiguration: .init(maximumConnections: 1))
        let reports = Reports()
        let results = await transport.send(Self.batch(5) { $0 == 4 ? "slow" : "hello" }, onResult: reports.record)
        let batchTook = reports.clock.now - reports.start
        await transport.shutdown()
        await server.stop()

        #expect(batchTook >= .seconds(3))
        let early = reports.all.filter { $0.index < 4 }
        #expect(early.count == 4)
        #expect(early.allSatisfy { $0.after < batchTook - .seconds(2) })
        #expect(results[..<4].allSatisfy { (try? $0.get())?.allAccepted == true })
        let last = try results[4].get()
        #expect(last.recipients[0].error?.code == .timeout)
        #expect(last.deliveryUncertain)
        #expect(reports.counts(5) == [1, 1, 1, 1, 1])
    }

    @Test func eachResultIsReportedExactlyOnce() async throws {
        // Refusals, and a server that says 421 and hangs up every 7 messages: the message
        // pipelined behind the seventh is sent again on a fresh connection, and reported
        // once, after that.
        var script = ScriptedServer.Script()
        script.rcpt = { command in command.contains("<r1") ? .reply("550 5.1.1 no such user") : .reply("250 2.1.5 ok") }
        script.afterMessages = (7, .reply("421 4.3.2 enough for now"))
        let server = try await ScriptedServer(script)
        let transport = SMTPTransport(configuration: server.configuration(), poolConfiguration: .init(maximumConnections: 2))
        let reports = Reports()
        let total = 60
        let results = await transport.send(Self.batch(total), onResult: reports.record)
        await transport.shutdown()
        await server.stop()

        #expect(reports.counts(total) == [Int](repeating: 1, count: total))
        for call in reports.all {
            #expect((try? call.result.get()) == (try? results[call.index].get()))
        }
        for (index, result) in results.enumerated() {
            let delivery = try result.get()
            #expect(delivery.recipients.map(\.recipient) == ["r\(index)@example.org"])
            let refused = "\(index)".hasPrefix("1")
            #expect(delivery.recipients[0].status == (refused ? .permanentFailure : .accepted), "\(index): \(delivery)")
        }
        #expect(server.connections > 2)
    }

    @Test func cancellingStopsHandingOutMessages() async throws {
        let server = try await ScriptedServer(ScriptedServer.Script())
        let transport = SMTPTransport(configuration: server.configuration(), poolConfiguration: .init(maximumConnections: 2))
        let reports = Reports()
        let total = 20_000
        let firstResult = AsyncStream.makeStream(of: Void.self)
        let sending = Task {
            await transport.send(Self.batch(total)) { index, result in
                reports.record(index, result)
                firstResult.continuation.yield()
            }
        }
        for await _ in firstResult.stream { break }
        sending.cancel()
        let results = await sending.value
        let dataWhenDone = server.dataEnds
        let mailsWhenDone = Self.mailCommands(server)
        try await Task.sleep(for: .milliseconds(200))

        #expect(results.count == total)
        #expect(reports.counts(total) == [Int](repeating: 1, count: total))
        let notSent = results.filter { if case .failure(let error) = $0 { error.code == .notSent } else { false } }
        let sent = results.filter { (try? $0.get()) != nil }
        #expect(notSent.count > 0)
        #expect(sent.count + notSent.count == total)
        #expect(sent.allSatisfy { (try? $0.get())?.allAccepted == true })
        // Only the messages with a result had their data sent, and nothing after the batch. A
        // message started behind another's data when the cancel came is withdrawn: its MAIL
        // reached the server (at most one a connection), its data did not.
        #expect(dataWhenDone == sent.count)
        #expect(mailsWhenDone <= sent.count + 2)
        #expect(server.dataEnds == dataWhenDone)
        #expect(Self.mailCommands(server) == mailsWhenDone)
        await transport.shutdown()
        await server.stop()
    }

    @Test func aBatchCancelledBeforeItStartsSendsNothing() async throws {
        let server = try await ScriptedServer(ScriptedServer.Script())
        let transport = SMTPTransport(configuration: server.configuration())
        let reports = Reports()
        let results = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await transport.send(Self.batch(10), onResult: reports.record)
        }.value
        #expect(results.allSatisfy { if case .failure(let error) = $0 { error.code == .notSent } else { false } })
        #expect(reports.counts(10) == [Int](repeating: 1, count: 10))
        #expect(Self.mailCommands(server) == 0)
        await transport.shutdown()
        await server.stop()
    }
}
