import HeraldCore
import HeraldStore
import Mail

/// How the engine retries, backs off and gives up. One place, so that the rules are read
/// and tested together.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts before a temporary failure becomes `failed`. Only attempts a server
    /// answered (or took the data of) count: a relay that was down costs none.
    public var maxAttempts = 5
    /// The first retry's delay; each later one doubles, up to `maxDelay`.
    public var baseDelay: Int64 = 60
    public var maxDelay: Int64 = 3600
    /// How long a sender rests after the server asked us to slow down; doubles while it
    /// keeps asking, up to `maxThrottleDelay`.
    public var throttleDelay: Int64 = 30
    public var maxThrottleDelay: Int64 = 900
    /// Of the last `refusalWindow` messages of a mass email that a server answered, at least
    /// `pauseMinimumMessages` answered and at least `pauseRefusalRatio` of them refused for
    /// reasons that are not the address's (content, policy, the account): it pauses, since
    /// sending the rest would only be refused too.
    public var refusalWindow = 50
    public var pauseMinimumMessages = 20
    public var pauseRefusalRatio = 0.5
    /// When the relay cannot be reached: the first wait before trying again, doubling up to
    /// `maxOutageDelay`; after `outagePauseAfter` of it, the mass emails pause for a person.
    public var outageDelay: Int64 = 30
    public var maxOutageDelay: Int64 = 600
    public var outagePauseAfter: Int64 = 24 * 3600

    public init() {}

    func retryDelay(afterAttempt attempt: Int) -> Int64 {
        min(maxDelay, baseDelay << Int64(max(0, min(attempt - 1, 20))))
    }
}

/// What one SMTP result means for a message, and what it tells the engine about the server.
///
/// The table (each row tested in `RulesAndJournalTests`):
///
/// | result | message | attempt counted | signal |
/// | --- | --- | --- | --- |
/// | 250 after the data | sent | yes | |
/// | 5xx about the address (user or host unknown, moved, suspended; ``BouncePolicy``) | bounced, address suppressed | yes | |
/// | other 5xx (blocked, spam, policy, full, …) | bounced, its reason listed | yes | refused |
/// | 4xx asking to slow down (421, 454, 4.7.x, "rate") | deferred by the sender's rest | no | throttled |
/// | other 4xx | deferred, backing off | yes | |
/// | the data sent, then the connection lost | uncertain, retried | yes | |
/// | no server reached, or the session not set up (refused, timeout, TLS, DNS, closed before the data) | back to the queue | no | outage |
/// | the account refused (535, no AUTH, credentials in clear), a bad URL, a 5xx greeting | back to the queue | no | transport broken |
/// | refused before a byte was sent (too big, not ASCII, bad header) | failed | yes | refused |
/// | never handed to a connection | back to the queue | no | |
public struct Outcome: Sendable, Hashable {
    public enum Signal: Sendable, Hashable {
        /// The server asks us to slow down: the sender rests.
        case throttled
        /// Refused for a reason that is not the address's: counts toward pausing the mass email.
        case refused
        /// The relay could not be reached or would not set up a session: the engine waits
        /// and tries again later, by itself.
        case outage(String)
        /// The relay refuses the account or the configuration is wrong: a person must act.
        case transportBroken(String)
    }

    public var outcome: MessageOutcome
    public var signal: Signal?
    /// A hard bounce whose reason is about the address (``BouncePolicy``): suppress it.
    public var suppress: Bool

    /// Whether a server replied about this message (any reply: it is reachable).
    public var serverAnswered: Bool { outcome.code != nil }

    /// A server's reply text as it can be stored and shown: control characters (a NUL, which
    /// PostgreSQL refuses in text, made every write of that outcome's group fail, and its
    /// journal line stopped the engine's start) become spaces.
    static func storable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }

    /// Classifies the result of one claimed message's attempt at time `now`.
    public static func of(_ result: Result<DeliveryResult, MailError>, for message: ClaimedMessage, now: Int64,
                          policy: RetryPolicy, throttleDelay: Int64? = nil) -> Outcome {
        let attempt = message.attempt
        func make(_ status: MessageStatus, counted: Bool, next: Int64? = nil, code: Int? = nil, enhanced: String? = nil,
                  text: String?, sentAt: Int64? = nil, signal: Signal? = nil, suppress: Bool = false,
                  bounce: BouncePolicy.Verdict? = nil) -> Outcome {
            Outcome(outcome: MessageOutcome(id: message.id, claim: message.claim, status: status, attempts: counted ? attempt : attempt - 1,
                                            nextAttemptAt: next, code: code, enhancedCode: enhanced, text: text.map(storable), sentAt: sentAt,
                                            bounceKind: bounce?.kind ?? .hard, bounceReason: bounce?.reason.rawValue),
                    signal: signal, suppress: suppress)
        }
        /// Another try later; after the last counted attempt, failed.
        func retry(_ status: MessageStatus, code: Int?, enhanced: String?, _ text: String) -> Outcome {
            if attempt >= policy.maxAttempts {
                return make(.failed, counted: true, code: code, enhanced: enhanced, text: "gave up after \(attempt) attempts: \(text)")
            }
            return make(status, counted: true, next: now + policy.retryDelay(afterAttempt: attempt), code: code, enhanced: enhanced, text: text)
        }
        func throttled(_ reply: SMTPReply, _ text: String) -> Outcome {
            make(.deferred, counted: false, next: now + (throttleDelay ?? policy.throttleDelay), code: reply.code,
                 enhanced: reply.enhancedCode?.description, text: text, signal: .throttled)
        }
        /// Not this message's doing: back to the queue as it was, and the reason passed on.
        func backToQueue(_ text: String, _ signal: Signal) -> Outcome {
            make(.queued, counted: false, next: now, text: text, signal: signal)
        }

        switch result {
        case .failure(let error):
            switch error.code {
            case .notSent:
                // Never reached a connection.
                return make(.queued, counted: false, next: now, text: nil)
            case .authenticationFailed, .authenticationNotSupported, .insecureAuthenticationRefused, .invalidURL:
                return backToQueue(error.message, .transportBroken(error.message))
            case .messageRefusedLocally, .invalidAddress, .invalidHeader:
                return make(.failed, counted: true, text: error.message, signal: .refused)
            default:
                if let reply = error.reply {
                    if Self.isThrottling(reply) { return throttled(reply, reply.text) }
                    // A server that refuses the session itself (554 at the greeting) will
                    // not take anything from us until someone sorts it out.
                    if reply.isPermanentFailure { return backToQueue(error.message, .transportBroken(error.message)) }
                }
                // Refused, timed out, TLS or DNS failed, closed: nothing was answered about
                // this message, and the relay is out for now.
                return backToQueue(error.message, .outage(error.message))
            }
        case .success(let delivery):
            guard let recipient = delivery.recipients.first else {
                return make(.failed, counted: true, text: "no recipient in the result", signal: .refused)
            }
            let code = recipient.code
            let enhanced = recipient.enhancedCode?.description
            if delivery.deliveryUncertain {
                // RFC 5321 §3.8, RFC 1047: the data went out and the reply never came. Most
                // likely delivered, but no server said so; like Postfix, a temporary failure,
                // tried again (which may duplicate it) until a server accepts it.
                return retry(.uncertain, code: nil, enhanced: nil,
                             "delivery uncertain: the connection was lost after the data, before the server's reply")
            }
            switch recipient.status {
            case .accepted:
                return make(.sent, counted: true, code: code, enhanced: enhanced, text: recipient.text, sentAt: now)
            case .permanentFailure:
                let verdict = BouncePolicy.verdict(refusalCode: code, enhanced: enhanced, text: recipient.text)
                let addressLevel = verdict.suppression == .now
                return make(.bounced, counted: true, code: code, enhanced: enhanced, text: recipient.text,
                            signal: addressLevel ? nil : .refused, suppress: addressLevel, bounce: verdict)
            case .transientFailure:
                guard let reply = recipient.reply else {
                    // The connection went before the data (the transport has already tried
                    // a fresh one): no server said anything about this message.
                    return backToQueue(recipient.text, .outage(recipient.text))
                }
                if Self.isThrottling(reply) { return throttled(reply, recipient.text) }
                return retry(.deferred, code: code, enhanced: enhanced, recipient.text)
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
