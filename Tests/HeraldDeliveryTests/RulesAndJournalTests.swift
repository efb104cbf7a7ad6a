import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Mail
import Testing

@Suite struct OutcomeRulesTests {
    let message = ClaimedMessage(id: 7, massEmailID: 1, step: 0, recordID: 3, address: "a@x.org", attempt: 2, claim: 3)
    let policy = RetryPolicy()

    static func reply(_ code: Int, _ enhanced: String?, _ text: String) -> SMTPReply {
        SMTPReply(code: code, enhancedCode: enhanced.flatMap { EnhancedStatusCode(Substring($0)) }, lines: [text])
    }

    func result(_ status: RecipientResult.Status, _ code: Int, _ enhanced: String?, _ text: String) -> Result<DeliveryResult, MailError> {
        .success(DeliveryResult(recipients: [RecipientResult(recipient: "a@x.org", status: status, reply: Self.reply(code, enhanced, text))]))
    }

    /// The table in ``Outcome``'s documentation, row by row: status, whether the attempt
    /// counts (attempts stays 2 or goes back to 1), and the signal.
    @Test(arguments: [
        ("250 after the data", MessageStatus.sent, true, Outcome.Signal?.none),
        ("5.1.1 no such user", .bounced, true, nil),
        ("5.7.1 policy", .bounced, true, .refused),
        ("4.2.2 mailbox full", .deferred, true, nil),
        ("421 closing (throttling)", .deferred, false, .throttled),
        ("data sent, connection lost", .uncertain, true, nil),
        ("connection refused", .queued, false, .outage("could not connect to relay:25: connection refused")),
        ("timed out connecting", .queued, false, .outage("no reply from the server within 30000 ms")),
        ("TLS handshake failed", .queued, false, .outage("the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED)")),
        ("unknown host", .queued, false, .outage("could not connect to nowhere.invalid:25: unknown host")),
        ("closed before the data", .queued, false, .outage("the server closed the connection")),
        ("535 wrong password", .queued, false, .transportBroken("the server rejected the credentials for u")),
        ("554 greeting", .queued, false, .transportBroken("the server refused the connection in its greeting")),
        ("421 greeting", .deferred, false, .throttled),
        ("too big for the server", .failed, true, .refused),
        ("never handed over", .queued, false, nil),
    ] as [(String, MessageStatus, Bool, Outcome.Signal?)])
    func eachKindOfResult(_ row: String, status: MessageStatus, counted: Bool, signal: Outcome.Signal?) {
        let result: Result<DeliveryResult, MailError> = switch row {
        case "250 after the data": self.result(.accepted, 250, "2.0.0", "ok")
        case "5.1.1 no such user": self.result(.permanentFailure, 550, "5.1.1", "no such user")
        case "5.7.1 policy": self.result(.permanentFailure, 550, "5.7.1", "policy")
        case "4.2.2 mailbox full": self.result(.transientFailure, 452, "4.2.2", "mailbox full")
        case "421 closing (throttling)": self.result(.transientFailure, 421, nil, "closing")
        case "data sent, connection lost":
            .success(DeliveryResult(recipients: [RecipientResult(recipient: "a@x.org", status: .transientFailure,
                                                                 error: MailError(.connectionClosed, "lost"))], deliveryUncertain: true))
        case "connection refused": .failure(MailError(.connectionFailed, "could not connect to relay:25: connection refused"))
        case "timed out connecting": .failure(MailError(.timeout, "no reply from the server within 30000 ms"))
        case "TLS handshake failed": .failure(MailError(.tlsHandshakeFailed, "the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED)"))
        case "unknown host": .failure(MailError(.connectionFailed, "could not connect to nowhere.invalid:25: unknown host"))
        case "closed before the data":
            .success(DeliveryResult(recipients: [RecipientResult(recipient: "a@x.org", status: .transientFailure,
                                                                 error: MailError(.connectionClosed, "the server closed the connection"))]))
        case "535 wrong password": .failure(MailError(.authenticationFailed, "the server rejected the credentials for u", reply: Self.reply(535, "5.7.8", "bad")))
        case "554 greeting": .failure(MailError(.serviceNotAvailable, "the server refused the connection in its greeting", reply: Self.reply(554, nil, "go away")))
        case "421 greeting": .failure(MailError(.serviceNotAvailable, "the server closed the session", reply: Self.reply(421, "4.7.0", "too many connections")))
        case "too big for the server": .failure(MailError(.messageRefusedLocally, "the message has 900 bytes; the server takes at most 500"))
        default: .failure(MailError(.notSent, "cancelled"))
        }
        let o = Outcome.of(result, for: message, now: 100, policy: policy)
        #expect(o.outcome.status == status, "\(row)")
        #expect(o.outcome.attempts == (counted ? 2 : 1), "\(row)")
        #expect(o.signal == signal, "\(row)")
        // Nothing is called sent that no server accepted.
        #expect((o.outcome.status == .sent) == (row == "250 after the data"))
        // What goes back to the queue is due at once (the engine decides when to claim again).
        if status == .queued { #expect(o.outcome.nextAttemptAt == 100) }
    }

    @Test func anUnknownAddressIsSuppressedAndNothingElseIs() {
        let unknown = Outcome.of(result(.permanentFailure, 550, "5.1.1", "no such user"), for: message, now: 100, policy: policy)
        #expect(unknown.suppress)
        let refused = Outcome.of(result(.permanentFailure, 550, "5.7.1", "policy"), for: message, now: 100, policy: policy)
        #expect(!refused.suppress)
    }

    /// A server's reply text is stored and journaled without control characters: a NUL in it
    /// made PostgreSQL refuse every write of its outcome's group.
    @Test func aReplysControlCharactersAreNotStored() {
        let o = Outcome.of(result(.transientFailure, 451, "4.3.0", "try\u{0}later\u{1B}[0m"), for: message, now: 100, policy: policy)
        #expect(o.outcome.text == "try later [0m")
        #expect(Outcome.storable("plain text, Zoë 🚀") == "plain text, Zoë 🚀")
        let line = DeliveryJournal.encode(MessageOutcome(id: 1, claim: 1, status: .deferred, attempts: 1, text: "a\u{0}b"))
        let decoded = DeliveryJournal.decode(Substring(String(decoding: line.dropLast(), as: UTF8.self)))
        #expect(decoded?.text == "a b")
    }

    @Test func temporaryFailuresBackOffExponentiallyThenFail() {
        let o = Outcome.of(result(.transientFailure, 452, "4.2.2", "mailbox full"), for: message, now: 100, policy: policy)
        #expect(o.outcome.status == .deferred)
        #expect(o.outcome.nextAttemptAt == 100 + policy.baseDelay * 2)
        #expect(o.outcome.attempts == 2)
        var last = message
        last.attempt = policy.maxAttempts
        let final = Outcome.of(result(.transientFailure, 452, "4.2.2", "mailbox full"), for: last, now: 100, policy: policy)
        #expect(final.outcome.status == .failed)
    }

    /// Uncertain is retried like a temporary failure (RFC 5321 §3.8), never called sent,
    /// and gives up after the last attempt like one.
    @Test func anUncertainDeliveryIsRetriedUntilAServerAcceptsIt() {
        let lost = DeliveryResult(recipients: [RecipientResult(recipient: "a@x.org", status: .transientFailure,
                                                               error: MailError(.connectionClosed, "lost"))], deliveryUncertain: true)
        let o = Outcome.of(.success(lost), for: message, now: 100, policy: policy)
        #expect(o.outcome.status == .uncertain)
        #expect(o.outcome.nextAttemptAt == 100 + policy.baseDelay * 2)
        #expect(o.outcome.sentAt == nil)
        #expect(o.outcome.text?.contains("uncertain") == true)
        var last = message
        last.attempt = policy.maxAttempts
        #expect(Outcome.of(.success(lost), for: last, now: 100, policy: policy).outcome.status == .failed)
    }

    @Test(arguments: [
        (421, nil, "closing"), (451, "4.7.0", "try later"), (450, "4.7.1", "greylisted"), (454, nil, "tls"),
        (451, "4.3.0", "Rate limit exceeded"), (452, nil, "too many messages"),
    ] as [(Int, String?, String)])
    func throttlingIsDeferredWithoutCountingTheAttempt(code: Int, enhanced: String?, text: String) {
        let o = Outcome.of(result(.transientFailure, code, enhanced, text), for: message, now: 100, policy: policy, throttleDelay: 40)
        #expect(o.signal == .throttled)
        #expect(o.outcome.status == .deferred)
        #expect(o.outcome.attempts == 1)
        #expect(o.outcome.nextAttemptAt == 140)
    }

    @Test func aWordContainingRateIsNotThrottling() {
        #expect(!Outcome.isThrottling(SMTPReply(code: 451, lines: ["could not generate a reply"])))
    }
}

@Suite struct DeliveryJournalTests {
    func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
    }

    @Test func replaysWhatWasNotedAndIgnoresACutLine() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try DeliveryJournal(directory: dir)
        let a = MessageOutcome(id: 1, claim: 1, status: .sent, attempts: 1, code: 250, enhancedCode: "2.0.0", text: "ok\tqueued as X", sentAt: 5)
        let b = MessageOutcome(id: 2, claim: 3, status: .deferred, attempts: 3, nextAttemptAt: 99, code: 451, text: "later")
        try journal.append(a)
        try journal.append(b)
        // A kill in the middle of a write leaves part of a line.
        let segment = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasPrefix("journal-") }!
        let handle = try FileHandle(forWritingTo: dir.appendingPathComponent(segment))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("3\t1\tsent\t1".utf8))
        try handle.close()
        let replayed = try DeliveryJournal(directory: dir).replay()
        var expectedA = a
        expectedA.text = "ok queued as X"
        #expect(replayed == [expectedA, b])
    }

    @Test func deletesASegmentOnceEverythingInItIsCommitted() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try DeliveryJournal(directory: dir, segmentLines: 2)
        var segments: [Int] = []
        for id in 1...5 { segments.append(try journal.append(MessageOutcome(id: Int64(id), claim: 1, status: .sent, attempts: 1, sentAt: 1))) }
        #expect(segments == [1, 1, 2, 2, 3])
        journal.committed([1, 1, 2])
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files == ["journal-00000002.log", "journal-00000003.log"])
        #expect(try journal.replay().map(\.id) == [3, 4, 5])
    }

    /// A line that cannot be written is an error, not silence; after it, the next line goes
    /// to a new segment, so a cut line stays alone at the end of its file.
    @Test func aWriteThatFailsThrowsAndTheNextLineStartsANewSegment() throws {
        let dir = directory()
        let aside = dir.appendingPathExtension("aside")
        defer {
            try? FileManager.default.removeItem(at: dir)
            try? FileManager.default.removeItem(at: aside)
        }
        let journal = try DeliveryJournal(directory: dir, segmentLines: 1)
        #expect(try journal.append(MessageOutcome(id: 1, claim: 1, status: .sent, attempts: 1, sentAt: 1)) == 1)
        try journal.probe()
        // The folder replaced by a file: nothing can be written there, not even by root.
        try FileManager.default.moveItem(at: dir, to: aside)
        FileManager.default.createFile(atPath: dir.path, contents: Data("x".utf8))
        #expect(throws: DeliveryJournal.WriteError.self) {
            try journal.append(MessageOutcome(id: 2, claim: 1, status: .sent, attempts: 1, sentAt: 1))
        }
        #expect(throws: DeliveryJournal.WriteError.self) { try journal.probe() }
        try FileManager.default.removeItem(at: dir)
        try FileManager.default.moveItem(at: aside, to: dir)
        try journal.probe()
        #expect(try journal.append(MessageOutcome(id: 3, claim: 1, status: .sent, attempts: 1, sentAt: 1)) == 3)
        #expect(try journal.replay().map(\.id) == [1, 3])
    }
}
