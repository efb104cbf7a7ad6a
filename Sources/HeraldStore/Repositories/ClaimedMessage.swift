import Crypto
import Foundation
import HeraldCore
import SQLKit

/// A message a worker has claimed: it is now `sending`, leased to that worker.
public struct ClaimedMessage: Sendable, Hashable {
    public var id: Int64
    public var massEmailID: Int64
    public var step: Int
    public var recordID: Int64
    public var address: String
    /// This attempt's number (1 for the first); a claim given back unsent does not count.
    public var attempt: Int
    /// This claim's number: every claim of the message counts one up, given back or not, so
    /// an outcome carrying it belongs to this claim and to no later one.
    public var claim: Int
    /// Its A/B test variant (0 for A), if its mass email has a test.
    public var variant: Int?

    public init(id: Int64, massEmailID: Int64, step: Int, recordID: Int64, address: String, attempt: Int, claim: Int, variant: Int? = nil) {
        self.variant = variant
        self.id = id
        self.massEmailID = massEmailID
        self.step = step
        self.recordID = recordID
        self.address = address
        self.attempt = attempt
        self.claim = claim
    }
}
