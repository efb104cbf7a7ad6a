import HeraldCore
import Testing

@Suite struct SlidingWindowLimitTests {
    /// (earlier uses, now) → the decision, for 3 uses in any 100 seconds.
    static let table: [([Int64], Int64, SlidingWindowLimit.Decision)] = [
        ([], 1000, .allow),
        ([990, 995], 1000, .allow),
        ([950, 990, 995], 1000, .wait(seconds: 50)),       // the oldest of the three leaves at 1050
        ([995, 950, 990], 1000, .wait(seconds: 50)),       // any order
        ([900, 950, 990, 995], 1000, .wait(seconds: 50)),  // 900 is outside the window
        ([900, 901, 902], 1000, .allow),                   // all outside
        ([901, 999, 999], 1000, .wait(seconds: 1)),        // leaves at 1001: at least a second
        ([999, 999, 999, 999], 1000, .wait(seconds: 99)),  // over the limit already: wait for the limit-th newest
    ]

    @Test func decides() {
        let limit = SlidingWindowLimit(limit: 3, window: 100)
        for (i, (uses, now, expected)) in Self.table.enumerated() {
            #expect(limit.decide(earlier: uses, now: now) == expected, "row \(i)")
        }
    }
}
