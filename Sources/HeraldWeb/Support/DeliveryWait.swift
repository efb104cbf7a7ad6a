import Foundation
import HeraldCore
import HeraldStore

/// Why a sending mass email is not going out right now, from what the sending processes
/// report (``NodeStore/conditions(now:)``): the relay is out and the engine waits to try it
/// again, a delivery journal cannot be written, a process lost touch with the database.
/// Shown on a sending mass email's page and in the API as `waiting`.
struct DeliveryWait {
    let condition: NodeStore.Condition

    /// The condition that has held longest, if any process reports one.
    static func load(_ store: Store, now: Int64 = WallClock.epochSeconds()) async throws -> DeliveryWait? {
        try await store.nodes.conditions(now: now).first.map(DeliveryWait.init)
    }

    var json: JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(ISODateTime.format(epochSeconds: $0)) } ?? .null }
        return .object([
            "kind": .string(condition.kind.rawValue), "reason": condition.reason.map(JSONValue.string) ?? .null,
            "since": time(condition.since), "next_try_at": time(condition.nextTry), "process": .string(condition.node),
        ])
    }

    /// In words, times as `format` writes them.
    func text(_ format: (Int64) -> String) -> String {
        let reason = condition.reason.map { " (\($0))" } ?? ""
        switch condition.kind {
        case .waitingForRelay:
            let next = condition.nextTry.map { " Next try \(format($0));" } ?? ""
            return "Waiting for the relay since \(format(condition.since))\(reason).\(next) sending resumes by itself when it answers."
        case .journalUnwritable:
            return "Not sending: the delivery journal of \(condition.node) cannot be written since \(format(condition.since))\(reason). "
                + "Nothing goes out until it can; sending resumes by itself."
        case .outOfTouch:
            return "Not sending from \(condition.node): its heartbeats have not reached the database since \(format(condition.since)). "
                + "Another process takes its messages over if it does not come back."
        }
    }
}
