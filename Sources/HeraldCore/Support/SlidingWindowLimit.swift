/// At most `limit` uses in any `window` seconds: the rule behind rate limits that must hold
/// across processes, so the uses themselves are stored and this type only judges them.
public struct SlidingWindowLimit: Sendable, Hashable {
    public var limit: Int
    public var window: Int64

    public init(limit: Int, window: Int64) {
        self.limit = limit
        self.window = window
    }

    /// What to do about one more use at `now`, given the times of earlier ones (any order;
    /// those older than the window are ignored).
    public enum Decision: Sendable, Hashable {
        case allow
        /// Refuse; one more use is allowed after this many seconds.
        case wait(seconds: Int64)
    }

    public func decide(earlier uses: [Int64], now: Int64) -> Decision {
        let recent = uses.filter { $0 > now - window }.sorted()
        guard recent.count >= limit else { return .allow }
        // The use that must leave the window before one more fits.
        let blocking = recent[recent.count - limit]
        return .wait(seconds: max(1, blocking + window - now))
    }
}
