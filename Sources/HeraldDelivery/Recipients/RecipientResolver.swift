import Foundation
import HeraldCore
import HeraldStore
import Logging

/// Turns a mass email's recipients (a view, a list, selected records) into messages, when
/// sending starts: one message per normalised address; records with no or an invalid
/// address, opted out or suppressed are skipped and counted by reason.
///
/// It walks the records in id order a chunk at a time and records its position with each
/// chunk's messages, in one transaction: it never holds the whole list, and after a crash it
/// resumes where it stopped without counting anything twice. A follow-up's recipients are
/// chosen the same way (``resolveFollowUp(_:step:node:now:)``).
public struct RecipientResolver: Sendable {
    let store: Store
    let logger: Logger
    var chunkSize = 1000

    public init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Resolves mass email `id` for `step` (0 for the mass email itself), holding its
    /// resolution lease for `node` while it works.
    public func resolve(_ id: Int64, step: Int = 0, node: String, now: @Sendable () -> Int64) async throws {
        let massEmail = try await store.massEmails.find(id)
        let modules = try await store.modules.all()
        let module = try await store.modules.named(massEmail.module)
        guard let source = RecipientAddressSource.of(module, among: modules) else {
            _ = try await store.massEmails.fail(id, reason: RecipientAddressSource.unreachable(module))
            return
        }
        let scope = try await self.scope(of: massEmail)
        let selection: RecipientSelection
        switch try await self.selection(of: massEmail, in: module) {
        case .success(let chosen): selection = chosen
        case .failure(let unusable):
            _ = try await store.massEmails.fail(id, reason: unusable.reason)
            return
        }
        // In each recipient's own time zone: each message waits in its next_attempt_at for its
        // zone's time; the engine claims nothing before it is due.
        let local = step == 0 ? massEmail.localDelivery : nil
        let zoneFields = local.map { _ in RecipientZoneFields(module, source: source) }
        let fallbackZone = try await store.settings.timeZone()
        var timeByZone: [String: Int64] = [:]
        var (cursor, skipped) = try await store.massEmails.resolutionProgress(id)
        while true {
            guard try await store.massEmails.claimResolution(id, node: node, now: now()) else {
                logger.info("stopped resolving: another process resolves it, or it was stopped", metadata: ["mass_email": "\(id)"])
                return
            }
            let rows = try await store.records.recipients(in: module, source: source, selection: selection, scope: scope,
                                                          after: cursor, limit: chunkSize, zoneFields: zoneFields)
            guard let last = rows.last else { break }
            var candidates: [(recordID: Int64, address: String)] = []
            var sendAt: [Int64] = []
            candidates.reserveCapacity(rows.count)
            for row in rows {
                guard let raw = row.email?.trimmedWhitespace, !raw.isEmpty else { skipped[.noEmail, default: 0] += 1; continue }
                guard EmailAddress.isValid(raw) else { skipped[.invalidEmail, default: 0] += 1; continue }
                if row.optedOut { skipped[.optedOut, default: 0] += 1; continue }
                candidates.append((row.recordID, EmailAddress.normalized(raw)))
                if let local {
                    let zone = LocalDelivery.zone(field: row.timeZone, country: row.country, fallback: fallbackZone)
                    if let t = timeByZone[zone.identifier] { sendAt.append(t) } else {
                        let t = local.sendTime(in: zone)
                        timeByZone[zone.identifier] = t
                        sendAt.append(t)
                    }
                }
            }
            let suppressed = try await store.suppressions.suppressed(among: candidates.map(\.address))
            if !suppressed.isEmpty {
                let before = candidates.count
                let kept = candidates.indices.filter { !suppressed.contains(candidates[$0].address) }
                candidates = kept.map { candidates[$0] }
                if local != nil { sendAt = kept.map { sendAt[$0] } }
                skipped[.suppressed, default: 0] += before - candidates.count
            }
            // enqueue counts the duplicates itself, from the rows the database refused.
            _ = try await store.massEmails.enqueue(id, step: step, recipients: candidates, sendAt: local == nil ? nil : sendAt,
                                                   held: step == 0 && massEmail.abTest != nil, cursor: last.recordID, skipped: skipped, now: now())
            (cursor, skipped) = try await store.massEmails.resolutionProgress(id)
        }
        try await store.massEmails.markResolved(id, now: now())
        logger.info("recipients resolved", metadata: Logger.Metadata.counts(skipped, prefix: "skipped_").merging(["mass_email": "\(id)"]) { $1 })
    }

    /// Why a mass email's recipients cannot be chosen (its failure reason).
    struct Unusable: Error {
        var reason: String
    }

    /// Whose records the mass email may go to: its owner's scope.
    func scope(of massEmail: MassEmail) async throws -> AccessScope {
        try await store.users.find(massEmail.ownerID)?.scope ?? .ownedBy(massEmail.ownerID)
    }

    /// The records the mass email goes to, or why it cannot (its view no longer works).
    func selection(of massEmail: MassEmail, in module: Module) async throws -> Result<RecipientSelection, Unusable> {
        switch massEmail.recipients {
        case .view(let viewID):
            let view = try await store.views.find(viewID, in: module)
            switch view.criteria.resolve(in: module) {
            case .success(let criteria): return .success(.criteria(criteria))
            case .failure(let error): return .failure(Unusable(reason: "the view '\(view.name)' no longer works: \(error.message)"))
            }
        case .list(let listID): return .success(.list(listID))
        case .records(let ids): return .success(.records(ids.sorted()))
        case .all: return .success(.all)
        }
    }

    /// For a mass email whose recipients are not resolved yet: how many records they select
    /// now, in its owner's scope (before duplicates, missing or invalid addresses, opt-outs and
    /// suppressions are taken out). nil once resolved, or when its view no longer works.
    public func selectedRecords(_ massEmail: MassEmail) async throws -> Int? {
        guard massEmail.resolvedAt == nil else { return nil }
        let module = try await store.modules.named(massEmail.module)
        guard case .success(let selection) = try await selection(of: massEmail, in: module) else { return nil }
        return try await store.records.selectedCount(in: module, selection: selection, scope: try await scope(of: massEmail))
    }

    /// For a mass email sent in each recipient's time zone whose recipients are not resolved
    /// yet: how many of the selected records are due at each time, earliest first (before
    /// duplicates, opt-outs and suppressions are taken out). Empty for any other.
    public func expectedSends(_ massEmail: MassEmail) async throws -> [PlannedSend] {
        guard let local = massEmail.localDelivery, massEmail.resolvedAt == nil else { return [] }
        let module = try await store.modules.named(massEmail.module)
        guard case .success(let selection) = try await selection(of: massEmail, in: module) else { return [] }
        let fallback = try await store.settings.timeZone()
        let source = RecipientAddressSource.of(module, among: try await store.modules.all())
        var byTime: [Int64: Int] = [:]
        for group in try await store.records.recipientZones(in: module, selection: selection, scope: try await scope(of: massEmail),
                                                             zoneFields: RecipientZoneFields(module, source: source)) {
            let zone = LocalDelivery.zone(field: group.timeZone, country: group.country, fallback: fallback)
            byTime[local.sendTime(in: zone), default: 0] += group.count
        }
        return byTime.sorted { $0.key < $1.key }.map { PlannedSend(at: $0.key, messages: $0.value, waiting: $0.value) }
    }
}
