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
    /// The first rows that failed or were skipped, each with why (at most ``maxErrors``), in file order.
    public var errors: [RowError] = []
    public static let maxErrors = 1000

    mutating func fail(line: Int, field: String, reason: String) {
        if errors.count < ImportReport.maxErrors { errors.append(RowError(line: line, field: field, reason: reason)) }
    }

    /// Adds what writing a batch found to this report, whose reading may have gone past that
    /// batch: the errors stay in file order (a batch's rows come before the rows read while it
    /// was written), and the first ``maxErrors`` are kept.
    mutating func add(_ written: ImportReport) {
        created += written.created
        updated += written.updated
        skipped += written.skipped
        failed += written.failed
        guard !written.errors.isEmpty else { return }
        let merged = (errors + written.errors).enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
        errors = merged.prefix(ImportReport.maxErrors).map(\.element)
    }
}
