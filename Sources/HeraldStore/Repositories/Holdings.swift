import Crypto
import Foundation
import HeraldCore
import SQLKit

/// What one user owns, as counted or handed over.
public struct Holdings: Sendable, Hashable {
    public var records = 0
    public var massEmails = 0
    public var openTasks = 0
    public var scheduledCalls = 0
    public var views = 0
    public var lists = 0
    public var templates = 0

    public init() {}

    public var total: Int { records + massEmails + openTasks + scheduledCalls + views + lists + templates }
}
