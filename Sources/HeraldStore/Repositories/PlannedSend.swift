import Crypto
import Foundation
import HeraldCore
import SQLKit

/// Messages of a mass email planned for one time (each recipient's own time zone).
public struct PlannedSend: Sendable, Hashable {
    /// When they are due (epoch seconds).
    public var at: Int64
    public var messages: Int
    /// Those not sent yet, nor being sent.
    public var waiting: Int

    public init(at: Int64, messages: Int, waiting: Int) {
        self.at = at
        self.messages = messages
        self.waiting = waiting
    }
}
