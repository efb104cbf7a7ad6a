import Crypto
import Foundation
import HeraldCore
import SQLKit

/// One message a record was sent, as its page lists it (``MessageStore/history(of:module:addresses:owner:limit:)``).
public struct RecordMessage: Sendable, Hashable {
    public var id: Int64
    public var massEmailID: Int64
    public var massEmailName: String
    /// 0 for the mass email, N for its follow-up N.
    public var step: Int
    public var status: MessageStatus
    public var sentAt: Int64?
    public var openedAt: Int64?
    public var clickedAt: Int64?
    public var unsubscribedAt: Int64?
}

/// One row of a mass email's per-recipient table.
public struct MessageRow: Sendable, Hashable {
    public var id: Int64
    public var step: Int
    public var recordID: Int64
    public var address: String
    public var status: MessageStatus
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var code: Int?
    public var enhancedCode: String?
    public var text: String?
    public var sentAt: Int64?
    /// A person's first open and click, and the counts of people's and machines' opens and clicks.
    public var openedAt: Int64? = nil
    public var opens = 0
    public var machineOpens = 0
    public var clickedAt: Int64? = nil
    public var clicks = 0
    public var machineClicks = 0
    public var unsubscribedAt: Int64? = nil
    /// When the recipient's first reply and spam complaint about it came, if any.
    public var repliedAt: Int64? = nil
    public var complainedAt: Int64? = nil
    /// The A/B test's variant it carried (0 for A), if it was one.
    public var variant: Int? = nil
}
