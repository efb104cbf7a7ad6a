import Foundation

/// The current time as Herald stores it: whole seconds since 1970, UTC. (Named apart from
/// Swift's `Clock` protocol, which measures durations.)
public enum WallClock {
    public static func epochSeconds(_ date: Date = Date()) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
}
