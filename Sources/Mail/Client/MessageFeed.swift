import Synchronization

/// The messages of one batch send, shared by every connection that carries them.
///
/// Each connection's channel handler takes the next message itself, on its event loop, the
/// moment its state machine can start one, and reports the result from there: a batch
/// costs no task switch per message. Cancelling stops the handing out; what was not taken
/// was never seen by a server.
final class MessageFeed: Sendable {
    let messages: [OutgoingMessage]
    private let cursor = Mutex((next: 0, cancelled: false))

    init(_ messages: [OutgoingMessage]) {
        self.messages = messages
    }

    /// The index of the next message nobody has taken, or nil when all are taken or the
    /// feed is cancelled.
    func take() -> Int? {
        cursor.withLock { cursor in
            guard !cursor.cancelled, cursor.next < messages.count else { return nil }
            defer { cursor.next += 1 }
            return cursor.next
        }
    }

    /// Whether ``take()`` would return nil.
    var isDrained: Bool {
        cursor.withLock { $0.cancelled || $0.next >= messages.count }
    }

    /// Whether ``cancel()`` was called: the caller wants no further data sent.
    var isCancelled: Bool {
        cursor.withLock { $0.cancelled }
    }

    /// Hands out nothing more.
    func cancel() {
        cursor.withLock { $0.cancelled = true }
    }
}

/// The results of a batch send, each reported once, the moment it is known, under the
/// message's own ``OutgoingMessage/id``.
final class BatchResults: Sendable {
    typealias Report = @Sendable (Int64, Result<DeliveryResult, MailError>) -> Void
    private let ids: [Int64]
    private let results: Mutex<[Result<DeliveryResult, MailError>?]>
    private let report: Report?

    init(_ messages: [OutgoingMessage], report: Report?) {
        self.ids = messages.map(\.id)
        self.results = Mutex(Array(repeating: nil, count: messages.count))
        self.report = report
    }

    /// Keeps and reports the result of the message at `index` in the batch; a second result
    /// for the same message is ignored, so a caller hears of each message exactly once.
    func record(_ index: Int, _ result: Result<DeliveryResult, MailError>) {
        let isFirst = results.withLock { results in
            guard results[index] == nil else { return false }
            results[index] = result
            return true
        }
        if isFirst { report?(ids[index], result) }
    }

    /// Every result, in message order; a message that has none was never handed to a
    /// connection and is reported now as ``MailError/Code/notSent``.
    func finish() -> [Result<DeliveryResult, MailError>] {
        let notSent = MailError(.notSent, "cancelled before sending")
        let count = results.withLock { $0.count }
        for index in 0..<count { record(index, .failure(notSent)) }
        return results.withLock { $0.map { $0! } }
    }
}
