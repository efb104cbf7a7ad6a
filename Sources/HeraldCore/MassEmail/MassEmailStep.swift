import Foundation

/// One step of a mass email: 0 for its own messages, k for its k-th follow-up's.
public struct MassEmailStep: Sendable, Hashable {
    public var massEmailID: Int64
    public var step: Int

    public init(massEmailID: Int64, step: Int) {
        self.massEmailID = massEmailID
        self.step = step
    }
}
