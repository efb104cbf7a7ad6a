import Crypto
import Foundation
import HeraldCore
import SQLKit

/// What became of a claimed message, to be written back.
public struct MessageOutcome: Sendable, Hashable {
    public var id: Int64
    /// The claim this outcome is for (``ClaimedMessage/claim``): a late or replayed outcome of
    /// an earlier claim changes nothing, even when that claim was given back uncounted and
    /// the message claimed again under the same attempt number.
    public var claim: Int
    public var status: MessageStatus
    /// The attempts counted from now on (one less when the attempt did not count: a message
    /// given back unsent, a throttled one).
    public var attempts: Int
    public var nextAttemptAt: Int64?
    public var code: Int?
    public var enhancedCode: String?
    public var text: String?
    public var sentAt: Int64?
    /// For a bounced message: `.hard`, or `.refused` when the receiver refused us rather than
    /// the address (see ``Bounce/Kind``), and why (``Bounce/reason``); listed with the mass
    /// email's bounces.
    public var bounceKind: Bounce.Kind
    public var bounceReason: String?

    public init(id: Int64, claim: Int, status: MessageStatus, attempts: Int, nextAttemptAt: Int64? = nil,
                code: Int? = nil, enhancedCode: String? = nil, text: String? = nil, sentAt: Int64? = nil,
                bounceKind: Bounce.Kind = .hard, bounceReason: String? = nil) {
        self.id = id
        self.claim = claim
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.code = code
        self.enhancedCode = enhancedCode
        self.text = text
        self.sentAt = sentAt
        self.bounceKind = bounceKind
        self.bounceReason = bounceReason
    }
}
