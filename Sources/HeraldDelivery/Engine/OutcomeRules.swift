import HeraldCore
import HeraldStore
import Mail

/// How the engine retries, backs off and gives up. One place, so that the rules are read
/// and tested together.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts before a temporary failure becomes `failed`.
    public var maxAttempts = 5
    /// The first retry's delay; each later one doubles, up to `maxDelay`.
    public var baseDelay: Int64 = 60
    public var maxDelay: Int64 = 3600
    /// How long a sender rests after the server asked us to slow down; doubles while it
    /// keeps asking, up to `maxThrottleDelay`.
    public var throttleDelay: Int64 = 30
    public var maxThrottleDelay: Int64 = 900
    /// A batch with at least this many answered messages, of which at least
    /// `pauseFailureRatio` failed for other reasons than throttling, pauses its mass email.
    public var pauseMinimumMessages = 20
    public var pauseFailureRatio = 0.5

    public init() {}

    func retryDelay(afterAttempt attempt: Int) -> Int64 {
        min(maxDelay, baseDelay << Int64(max(0, min(attempt - 1, 20))))
    }
}

/// What one SMTP result means for a message, and what it tells the engine about the server.
public struct Outcome: Sendable, Hashable {
    public enum Signal: Sendable, Hashable {
        /// The server asks us to slow down (421, 450/451 4.7.x, 454, "rate", "too many").
        case throttled
        /// A failure that is not the recipient's doing: counts toward pausing the mass email.
        case failure
        /// The transport cannot work at all (wrong password, TLS refused): pause now.
        case transportBroken(String)
    }

    public var outcome: MessageOutcome
    public var signal: Signal?
    /// A hard bounce for an address that does not exist (5.1.x): suppress it.
    public var suppress: Bool

    /// Classifies the result of one claimed message's attempt at time `now`.
    public static func of(_ result: Result<DeliveryResult, MailError>, for message: ClaimedMessage, now: Int64,
                          policy: RetryPolicy, throttleDelay: Int64? = nil) -> Outcome {
        let attempt = message.attempt
        func deferred(_ code: Int?, _ enhanced: String?, _ text: String, counted: Bool, delay: Int64, signal: Signal?) -> Outcome {
            let attempts = counted ? attempt : attempt - 1
            if counted && attempts >= policy.maxAttempts {
                return Outcome(outcome: MessageOutcome(id: message.id, attempt: attempt, status: .failed, attempts: attempts,
                                                       code: code, enhancedCode: enhanced, text: "gave up after \(attempts) attempts: \(text)"),
                               signal: signal, suppress: false)
            }
            return Outcome(outcome: MessageOutcome(id: message.id, attempt: attempt, status: .deferred, attempts: attempts,
                                                   nextAttemptAt: now + delay, code: code, enhancedCode: enhanced, text: text),
                           signal: signal, suppress: false)
        }
        switch result {
        case .failure(let error):
            switch error.code {
            case .notSent:
                // Never reached a connection: back in the queue, the attempt not counted.
                return Outcome(outcome: MessageOutcome(id: message.id, attempt: attempt, status: .queued, attempts: attempt - 1,
                                                       nextAttemptAt: now, text: nil), signal: nil, suppress: false)
            case .authenticationFailed, .authenticationNotSupported, .insecureAuthenticationRefused, .tlsNotAvailable,
                 .tlsHandshakeFailed, .invalidURL:
                return deferred(nil, nil, error.message, counted: false, delay: policy.baseDelay,
                                signal: .transportBroken(error.message))
            case .messageRefusedLocally, .invalidAddress, .invalidHeader:
                return Outcome(outcome: MessageOutcome(id: message.id, attempt: attempt, status: .failed, attempts: attempt,
                                                       text: error.message), signal: .failure, suppress: false)
            default:
                if let reply = error.reply, Self.isThrottling(reply) {
                    let delay = throttleDelay ?? policy.throttleDelay
                    return deferred(reply.code, reply.enhancedCode?.description, reply.text, counted: false, delay: delay, signal: .throttled)
                }
                return deferred(error.reply?.code, error.reply?.enhancedCode?.description, error.message, counted: true,
                                delay: policy.retryDelay(afterAttempt: attempt), signal: .failure)
            }
        case .success(let delivery):
            guard let recipient = delivery.recipients.first else {
                return Outcome(outcome: MessageOutcome(id: message.id, attempt: attempt, status: .failed, attempts: attempt,
                                                       text: "no recipient in the result"), signal: .failure, suppress: false)
            }
            let code = recipient.code
            let enhanced = recipient.enhancedCode?.description
            if delivery.deliveryUncertain {
                // RFC 1047: the data went out and the reply never came. It was most likely
                // delivered; sending again risks the duplicate that Herald promises not to send.
                return Outcome(outcome: MessageOutcome(id: message.id, attempt: attempt, status: .sent, attempts: attempt, code: nil,
                                                       text: "delivery uncertain: the connection was lost after the data; not sent again",
                                                       sentAt: now), signal: nil, suppress: false)
            }
            switch recipient.status {
            case .accepted:
                return Outcome(outcome: MessageOutcome(id: message.id, attempt: attempt, status: .sent, attempts: attempt, code: code,
                                                       enhancedCode: enhanced, text: recipient.text, sentAt: now), signal: nil, suppress: false)
            case .permanentFailure:
                let unknownAddress = recipient.enhancedCode.map { $0.statusClass == 5 && $0.subject == 1 } ?? false
                return Outcome(outcome: MessageOutcome(id: message.id, attempt: attempt, status: .bounced, attempts: attempt, code: code,
                                                       enhancedCode: enhanced, text: recipient.text),
                               signal: unknownAddress ? nil : .failure, suppress: unknownAddress)
            case .transientFailure:
                if let reply = recipient.reply, Self.isThrottling(reply) {
                    let delay = throttleDelay ?? policy.throttleDelay
                    return deferred(code, enhanced, recipient.text, counted: false, delay: delay, signal: .throttled)
                }
                return deferred(code, enhanced, recipient.text, counted: true, delay: policy.retryDelay(afterAttempt: attempt),
                                signal: .failure)
            }
        }
    }

    /// Whether a reply asks the client to slow down: 421 (closing), 450/451 with a 4.7.x
    /// policy code, 454, or text that speaks of rates or too many messages or connections.
    public static func isThrottling(_ reply: SMTPReply) -> Bool {
        guard reply.isTransientFailure else { return false }
        if reply.code == 421 || reply.code == 454 { return true }
        if (reply.code == 450 || reply.code == 451), let enhanced = reply.enhancedCode, enhanced.subject == 7 { return true }
        let text = reply.text.lowercased()
        if text.contains("too many") || text.contains("slow down") || text.contains("throttl") || text.contains("ratelimit") { return true }
        // "rate" as a word ("rate limit exceeded", "sending rate"), not inside "generate".
        return text.split(whereSeparator: { !$0.isLetter }).contains("rate")
    }
}
