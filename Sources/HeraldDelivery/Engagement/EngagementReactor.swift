import HeraldCore

/// What reacts to recorded engagement events: the mass emails' trigger actions.
///
/// Tracking, unsubscribes, bounces and replies hand it every event after the event is stored,
/// repeats included; the reactor itself makes sure that each action runs once per recipient,
/// however often an event repeats and however many processes record events at once.
public protocol EngagementReactor: Sendable {
    func react(to events: [EngagementEvent]) async throws
}

/// Reacts to nothing.
public struct NoReaction: EngagementReactor {
    public init() {}
    public func react(to events: [EngagementEvent]) async throws {}
}
