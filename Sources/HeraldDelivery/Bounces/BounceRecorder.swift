import Crypto
import Foundation
import HeraldCore
import HeraldStore
import Logging

/// Records bounces and complaints from every source (the inbound listener, the providers'
/// webhooks) the same way, and hands the events they make to the ``EngagementReactor``.
///
/// A hard bounce is a `.bounced` event and a complaint a `.complained` one; a soft bounce or a refusal is
/// counted (and suppresses at the threshold) but is no event: the message may still arrive.
public struct BounceRecorder: Sendable {
    let store: Store
    let reactor: any EngagementReactor
    /// Checks the keyed code of Herald's Message-IDs.
    let signer: MessageTokenSigner
    let logger: Logger

    public init(store: Store, reactor: any EngagementReactor, signer: MessageTokenSigner, logger: Logger) {
        self.store = store
        self.reactor = reactor
        self.signer = signer
        self.logger = logger
    }

    /// Records `reports` (each in its own transaction), then reacts to what was new.
    @discardableResult
    public func record(_ reports: [BounceStore.Report]) async throws -> [BounceStore.Recorded] {
        let threshold = try await store.settings.softBounceThreshold()
        var recorded: [BounceStore.Recorded] = []
        for report in reports {
            guard let done = try await store.bounces.record(report, softThreshold: threshold) else {
                logger.debug("bounce already recorded", metadata: ["source": "\(report.source)"])
                continue
            }
            recorded.append(done)
            logger.info("bounce recorded", metadata: [
                "kind": "\(done.bounce.kind.rawValue)", "source": "\(report.source)", "message": "\(done.message?.id.description ?? "-")",
                "status": "\(report.status ?? "-")", "suppressed": "\(done.suppressed)",
            ])
        }
        let events: [EngagementEvent] = recorded.compactMap { done in
            guard let message = done.message else { return nil }
            let kind: EngagementEvent.Kind
            switch done.bounce.kind {
            case .hard: kind = .bounced
            case .complaint: kind = .complained
            case .soft, .refused, .delivery: return nil
            }
            return EngagementEvent(kind: kind, messageID: message.id, massEmailID: message.massEmailID, step: message.step,
                                   recordID: message.recordID, address: message.address, at: done.bounce.receivedAt)
        }
        if !events.isEmpty { try await reactor.react(to: events) }
        let complained = Set(recorded.filter { $0.bounce.kind == .complaint }.compactMap(\.message)
            .map { MassEmailStep(massEmailID: $0.massEmailID, step: $0.step) })
        for unit in complained { try await pauseIfComplaintsAreTooMany(unit) }
        return recorded
    }

    /// Pauses what `unit` sends when its complaint rate passes the organisation's threshold
    /// (``ComplaintRule``): the rest would go to spam folders, and hurt every other mass email.
    func pauseIfComplaintsAreTooMany(_ unit: MassEmailStep) async throws {
        guard let figures = try await store.massEmails.figures([unit.massEmailID], step: unit.step)[unit.massEmailID] else { return }
        let threshold = try await store.settings.complaintThreshold()
        guard ComplaintRule.shouldPause(complaints: figures.complained, delivered: figures[.sent], thresholdPercent: threshold),
              try await store.massEmails.isSending(unit) else { return }
        let rate = figures.complaintRate ?? 0
        let reason = "spam complaints: \(figures.complained) of \(figures[.sent]) delivered (\(ComplaintRule.format(rate))), over the threshold of \(ComplaintRule.format(threshold)); "
            + "check that everyone asked for this mail before resuming"
        try await store.massEmails.pause(unit, reason: reason, now: WallClock.epochSeconds())
        logger.warning("mass email paused for spam complaints", metadata: ["mass_email": "\(unit.massEmailID)", "step": "\(unit.step)", "rate": "\(rate)"])
    }

    /// Records what a provider's webhook reported: each event's message is found by the
    /// Message-ID the provider echoes, else as the last message sent to its address.
    @discardableResult
    public func record(_ events: [ProviderEvent], source: String, now: Int64) async throws -> [BounceStore.Recorded] {
        var reports: [BounceStore.Report] = []
        for event in events {
            let address = event.address.trimmingCharacters(in: .whitespaces).lowercased()
            var message: SentMessage?
            if let id = event.messageID { message = try await self.message(matching: [id], addresses: [address]) }
            if message == nil { message = try await store.bounces.latestMessage(to: address) }
            reports.append(BounceStore.Report(
                messageID: message?.id, address: address, kind: event.kind, status: event.status, action: event.action,
                diagnostic: event.diagnostic, source: source, raw: event.raw,
                fingerprint: Self.fingerprint(source, event.eventID, address, event.kind.rawValue), receivedAt: now))
        }
        return try await record(reports)
    }

    /// The message one of Herald's Message-IDs (``HeraldMessageID``, angle brackets or not)
    /// names, trying `addresses` first and then every address of that mass email's step; nil
    /// when none of `ids` is ours or no address has its keyed code.
    public func message(matching ids: [String], addresses: [String]) async throws -> SentMessage? {
        // A long References header names many messages; the first few of ours are enough.
        for id in ids.compactMap(HeraldMessageID.init(parsing:)).prefix(5) {
            for address in addresses where id.names(address, signer: signer) {
                if let found = try await store.bounces.message(massEmail: id.massEmail, step: id.step, address: address) { return found }
            }
            // The reply came from another address (an alias, a forward): look the code up,
            // a page at a time, so that a large mass email costs no more memory than a page,
            // and at most `scanLimit` addresses, so that a forged In-Reply-To cannot make every
            // inbound message hash a million addresses.
            var after: Int64 = 0
            for _ in 0..<(Self.scanLimit / 5000) {
                let page = try await store.bounces.addresses(massEmail: id.massEmail, step: id.step, after: after, limit: 5000)
                if let hit = page.first(where: { id.names($0.address, signer: signer) }) {
                    return try await store.bounces.message(hit.id)
                }
                guard let last = page.last, page.count == 5000 else { break }
                after = last.id
            }
        }
        return nil
    }

    /// How many addresses of one mass email a Message-ID is looked up among, at most.
    static let scanLimit = 100_000

    /// A stable fingerprint of the parts that identify a report.
    static func fingerprint(_ parts: String...) -> String {
        Hex.encode(SHA256.hash(data: Data(parts.joined(separator: "\u{0}").utf8)))
    }
}
