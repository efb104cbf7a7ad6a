import Foundation
import HeraldCore
@testable import HeraldDelivery
import HeraldStore
import Mail
import Testing

@Suite struct OutcomeRulesTests {
    let message = ClaimedMessage(id: 7, massEmailID: 1, step: 0, recordID: 3, address: "a@x.org", attempt: 2)
    let policy = RetryPolicy()

    func result(_ status: RecipientResult.Status, _ code: Int, _ enhanced: String?, _ text: String) -> Result<DeliveryResult, MailError> {
        let reply = SMTPReply(code: code, enhancedCode: enhanced.flatMap { EnhancedStatusCode(Substring($0)) }, lines: [text])
        return .success(DeliveryResult(recipients: [RecipientResult(recipient: "a@x.org", status: status, reply: reply)]))
    }

    @Test func acceptedIsSent() {
        let o = Outcome.of(result(.accepted, 250, "2.0.0", "ok"), for: message, now: 100, policy: policy)
        #expect(o.outcome.status == .sent)
        #expect(o.outcome.sentAt == 100)
        #expect(o.signal == nil)
    }

    @Test func unknownUserIsAHardBounceThatSuppresses() {
        let o = Outcome.of(result(.permanentFailure, 550, "5.1.1", "no such user"), for: message, now: 100, policy: policy)
        #expect(o.outcome.status == .bounced)
        #expect(o.suppress)
        let policyRefusal = Outcome.of(result(.permanentFailure, 550, "5.7.1", "policy"), for: message, now: 100, policy: policy)
        #expect(policyRefusal.outcome.status == .bounced)
        #expect(!policyRefusal.suppress)
        #expect(policyRefusal.signal == .failure)
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

    @Test func unsentMessagesGoBackUncounted() {
        let o = Outcome.of(.failure(MailError(.notSent, "cancelled")), for: message, now: 100, policy: policy)
        #expect(o.outcome.status == .queued)
        #expect(o.outcome.attempts == 1)
        let auth = Outcome.of(.failure(MailError(.authenticationFailed, "535 bad credentials")), for: message, now: 100, policy: policy)
        #expect(auth.signal == .transportBroken("535 bad credentials"))
        #expect(auth.outcome.status == .deferred)
    }

    @Test func uncertainDeliveryIsNotSentAgain() {
        let uncertain = DeliveryResult(recipients: [RecipientResult(recipient: "a@x.org", status: .transientFailure,
                                                                    error: MailError(.connectionClosed, "lost"))], deliveryUncertain: true)
        let o = Outcome.of(.success(uncertain), for: message, now: 100, policy: policy)
        #expect(o.outcome.status == .sent)
        #expect(o.outcome.text?.contains("uncertain") == true)
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
        let a = MessageOutcome(id: 1, attempt: 1, status: .sent, attempts: 1, code: 250, enhancedCode: "2.0.0", text: "ok\tqueued as X", sentAt: 5)
        let b = MessageOutcome(id: 2, attempt: 3, status: .deferred, attempts: 3, nextAttemptAt: 99, code: 451, text: "later")
        journal.append(a)
        journal.append(b)
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
        for id in 1...5 { segments.append(journal.append(MessageOutcome(id: Int64(id), attempt: 1, status: .sent, attempts: 1, sentAt: 1))) }
        #expect(segments == [1, 1, 2, 2, 3])
        journal.committed([1, 1, 2])
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files == ["journal-00000002.log", "journal-00000003.log"])
        #expect(try journal.replay().map(\.id) == [3, 4, 5])
    }
}
