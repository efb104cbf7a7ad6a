import HeraldCore
import Mail

/// What a failed delivery means for the address and for the mass email, decided once for
/// every source: an SMTP reply at send time, a delivery status notification at the inbound
/// listener, a provider's webhook. Severity (permanent or temporary) comes from the status
/// and action; the reason from ``BounceReason``. Only a reason about the address itself may
/// suppress it at once: a refusal by the receiver says the address is good and we are not.
///
/// | reason | permanent (5.x.x, `failed`) | temporary (4.x.x, `delayed`) |
/// | --- | --- | --- |
/// | user unknown, host unknown, has moved, account suspended | hard: suppressed at once, "bounced" fires | soft: toward the threshold |
/// | blocked, spam, policy, authentication, rate limited, message too large | refused: never suppresses, no "bounced", counted with the likely fix | refused, the same |
/// | mailbox full | soft: toward the threshold | soft: toward the threshold |
/// | expired, network error, other | hard: toward the threshold, "bounced" fires | soft: toward the threshold |
///
/// A refusal fires no "bounced" action because those actions are written for bad addresses
/// (mark the record's email invalid, call them): firing them for a block list would mark a
/// whole mass email's good addresses.
public enum BouncePolicy {
    public struct Verdict: Sendable, Hashable {
        public var kind: Bounce.Kind
        public var suppression: Bounce.Suppression
        public var reason: BounceReason
    }

    /// The verdict for a failure that is `permanent` (else temporary) for `reason`.
    public static func verdict(permanent: Bool, reason: BounceReason) -> Verdict {
        switch reason {
        case .blocked, .spam, .policy, .authentication, .rateLimited, .messageTooLarge:
            return Verdict(kind: .refused, suppression: .never, reason: reason)
        case .mailboxFull:
            return Verdict(kind: .soft, suppression: .atThreshold, reason: reason)
        case .userUnknown, .hostUnknown, .hasMoved, .accountSuspended:
            return permanent ? Verdict(kind: .hard, suppression: .now, reason: reason)
                : Verdict(kind: .soft, suppression: .atThreshold, reason: reason)
        case .expired, .networkError, .other:
            return Verdict(kind: permanent ? .hard : .soft, suppression: .atThreshold, reason: reason)
        }
    }

    /// The verdict for one recipient of a delivery status notification.
    public static func verdict(_ recipient: BounceReport.Recipient) -> Verdict {
        verdict(permanent: Bounce.kind(status: recipient.status, action: recipient.action?.rawValue) == .hard, reason: recipient.reason)
    }

    /// The verdict for a permanent SMTP reply at send time (or replayed from the journal).
    public static func verdict(refusalCode code: Int?, enhanced: String?, text: String?) -> Verdict {
        let diagnostic = [code.map(String.init), text].compactMap { $0 }.joined(separator: " ")
        return verdict(permanent: true, reason: BounceReason.classify(status: enhanced, diagnostic: diagnostic))
    }
}
