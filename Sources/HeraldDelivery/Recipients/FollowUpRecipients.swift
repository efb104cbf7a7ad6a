import Foundation
import HeraldCore
import HeraldStore
import Logging

/// A fired follow-up's recipients, queued as its step's messages: those who were sent the
/// mass email, minus the bounced, unsubscribed, opted out and suppressed, minus those its
/// exclusion rules match as of now (``MassEmailStore/followUpRecipients(of:step:in:source:exclusions:now:zone:after:limit:)``).
///
/// As for the mass email's own recipients, a chunk at a time, its cursor and counts recorded
/// with each chunk's messages in one transaction, under a lease so that one process does it.
extension RecipientResolver {
    /// Chooses the recipients of follow-up `step` (1 for the first) of mass email `id`,
    /// holding the lease for `node` while it works.
    public func resolveFollowUp(_ id: Int64, step: Int, node: String, now: @Sendable () -> Int64) async throws {
        let massEmail = try await store.massEmails.find(id)
        let module = try await store.modules.named(massEmail.module)
        guard step >= 1, step <= massEmail.followUps.count,
              let source = RecipientAddressSource.of(module, among: try await store.modules.all()) else {
            try await store.followUpRuns.fail(id, step: step, reason: "the mass email no longer has this follow-up, or its module no email field", now: now())
            return
        }
        let exclusions: ResolvedFollowUpExclusions
        switch massEmail.followUps[step - 1].exclusions.resolve(in: module) {
        case .success(let resolved): exclusions = resolved
        case .failure(let error):
            try await store.followUpRuns.fail(id, step: step, reason: "its exclusion rules no longer fit \(module.pluralLabel): \(error.message)", now: now())
            return
        }
        let zone = try await store.settings.timeZone()
        var (cursor, excluded) = try await store.followUpRuns.resolutionProgress(id, step: step)
        while true {
            guard try await store.followUpRuns.claimResolution(id, step: step, node: node, now: now()) else {
                logger.info("stopped choosing follow-up recipients: another process does it, or it was stopped",
                            metadata: ["mass_email": "\(id)", "step": "\(step)"])
                return
            }
            let t = now()
            let chunk = try await store.massEmails.followUpRecipients(
                of: id, step: step, in: module, source: source, exclusions: exclusions,
                now: Date(timeIntervalSince1970: TimeInterval(t)), zone: zone, after: cursor, limit: chunkSize)
            guard let last = chunk.cursor else { break }
            excluded.merge(chunk.excluded, uniquingKeysWith: +)
            try await store.followUpRuns.enqueue(id, step: step, recipients: chunk.recipients, cursor: last, excluded: excluded, now: t)
            cursor = last
        }
        try await store.followUpRuns.markResolved(id, step: step, now: now())
        logger.info("follow-up recipients chosen",
                    metadata: Logger.Metadata.counts(excluded, prefix: "excluded_").merging(["mass_email": "\(id)", "step": "\(step)"]) { $1 })
    }
}
