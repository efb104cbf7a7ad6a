import Foundation
import HeraldCore
import SQLKit

/// How a CSV import runs.
public struct ImportOptions: Sendable {
    /// What to do with a row whose email already belongs to a record (or to an earlier row).
    public enum Duplicates: String, Sendable, CaseIterable {
        /// Import it anyway.
        case allow
        /// Leave the existing record alone and count the row as skipped.
        case skip
        /// Update the existing record with the row's values.
        case update
    }

    /// CSV header → field API name. Headers not named are ignored. Empty: match headers to
    /// fields by API name or label, and refuse headers that match none.
    public var mapping: [String: String] = [:]
    public var duplicates: Duplicates = .skip
    /// Check every row and report, writing nothing.
    public var dryRun = false
    /// All rows in one transaction (any bad row: nothing is written), or committed in
    /// batches where bad rows are skipped and reported.
    public var atomic = true
    public var batchSize = 500

    /// The most rows an all-or-nothing import takes. Its one transaction holds the database's
    /// writer (SQLite has one) until the last row; beyond this many rows that would stall
    /// sending for minutes, so a larger file goes in batches (`atomic=false`).
    public static let maxAtomicRows = 100_000
    /// ``maxAtomicRows``, smaller in tests.
    public var atomicRowLimit = ImportOptions.maxAtomicRows
    /// The owner of new records when the file has no owner column.
    public var owner: Int64
    /// What the importing user may see: duplicates are found, and lookups resolved, only
    /// among these records, and only with `.all` (an admin) may the file name owners.
    /// Matched against every record, an update would take over someone else's record, and
    /// a dry run would tell whether an address is in someone else's records.
    public var scope: AccessScope

    public init(owner: Int64, scope: AccessScope = .all) {
        self.owner = owner
        self.scope = scope
    }
}
