import Foundation
import HeraldCore
import SQLKit

/// What an import did, row by row where it failed.
public struct ImportReport: Sendable, Codable {
    public struct RowError: Sendable, Codable, Hashable {
        /// The line of the file the row starts on (the header is line 1).
        public var line: Int
        public var field: String
        public var reason: String
    }

    public var rowsRead = 0
    public var created = 0
    public var updated = 0
    public var skipped = 0
    public var failed = 0
    public var dryRun = false
    /// Whether the rows counted as created or updated are stored.
    public var committed = false
    /// The first errors (at most ``maxErrors``), in file order.
    public var errors: [RowError] = []
    public static let maxErrors = 1000

    mutating func fail(line: Int, field: String, reason: String) {
        if errors.count < ImportReport.maxErrors { errors.append(RowError(line: line, field: field, reason: reason)) }
    }
}
