import Foundation

/// Where one follow-up of a sent mass email stands: when it is due, whether it fired, and
/// how many it left out.
///
/// A mass email gets its runs when it finishes sending; until then (and when it was stopped
/// or failed before) its follow-ups have none, and ``FollowUpRun/Status/of(_:massEmail:)``
/// says what that means.
public struct FollowUpRun: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// Waiting for the mass email to finish sending (it has no run yet).
        case pending
        /// Waiting for its time (or, counted from the previous follow-up, for that one to fire).
        case waiting
        /// Fired: its recipients are being chosen and sent to.
        case sending
        /// Paused by the engine, with the reason (an error threshold, a refused login).
        case paused
        case sent
        case stopped
        /// Could not be sent (its template no longer compiles), with the reason.
        case failed

        /// Whether Stop applies.
        public var isStoppable: Bool { self == .pending || self == .waiting || self == .sending || self == .paused }

        /// The status of a follow-up whose mass email has `run` for it, or none yet.
        public static func of(_ run: FollowUpRun?, massEmail: MassEmail.Status) -> Status {
            if let run { return run.status }
            switch massEmail {
            case .draft, .scheduled, .sending, .paused: return .pending
            // Stopping a mass email stops its follow-ups; one that failed sends none of them.
            case .stopped, .failed: return .stopped
            // Runs are made with the transition to sent; a moment without one is still waiting.
            case .sent: return .waiting
            }
        }
    }

    public var massEmailID: Int64
    /// 1 for the first follow-up: its messages are the mass email's step `step`.
    public var step: Int
    public var status: Status
    public var statusReason: String?
    /// When it is due (epoch seconds); nil while what it counts from has not happened.
    public var dueAt: Int64?
    /// When it fired.
    public var startedAt: Int64?
    public var finishedAt: Int64?
    /// When all its recipients were chosen and queued.
    public var resolvedAt: Int64?
    /// Recipients of the mass email it left out, by reason.
    public var excluded: [FollowUpExclusionReason: Int]

    public init(massEmailID: Int64, step: Int, status: Status, statusReason: String? = nil, dueAt: Int64? = nil,
                startedAt: Int64? = nil, finishedAt: Int64? = nil, resolvedAt: Int64? = nil,
                excluded: [FollowUpExclusionReason: Int] = [:]) {
        self.massEmailID = massEmailID
        self.step = step
        self.status = status
        self.statusReason = statusReason
        self.dueAt = dueAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.resolvedAt = resolvedAt
        self.excluded = excluded
    }

    /// Those left out, all reasons together.
    public var excludedCount: Int { excluded.values.reduce(0, +) }
}

extension FollowUp {
    /// The follow-ups that can only fire after follow-up `index` (0 for the first) fires:
    /// the unbroken chain after it counted each from the previous one. Stopping `index`
    /// stops them too, as they would otherwise wait for ever.
    public static func chained(after index: Int, in followUps: [FollowUp]) -> [Int] {
        var out: [Int] = []
        var next = index + 1
        while next < followUps.count, followUps[next].after == .previousFollowUp {
            out.append(next)
            next += 1
        }
        return out
    }
}
