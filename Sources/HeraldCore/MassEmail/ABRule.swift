import Foundation

/// How one variant of an A/B test did: its messages sent and the people who acted on them.
public struct ABVariantResult: Sendable, Hashable {
    public var variant: Int
    public var sent: Int
    public var opened: Int
    public var clicked: Int
    public var replied: Int

    public init(variant: Int, sent: Int, opened: Int = 0, clicked: Int = 0, replied: Int = 0) {
        self.variant = variant
        self.sent = sent
        self.opened = opened
        self.clicked = clicked
        self.replied = replied
    }

    /// The people who acted by `measure`.
    public func events(_ measure: ABTest.Measure) -> Int {
        switch measure {
        case .opens: opened
        case .clicks: clicked
        case .replies: replied
        }
    }

    /// Events per message sent (0 before any was sent).
    public func rate(_ measure: ABTest.Measure) -> Double {
        sent == 0 ? 0 : Double(events(measure)) / Double(sent)
    }

    /// The rate in percent with one decimal, as pages and notes show it: "12.0%".
    public func percent(_ measure: ABTest.Measure) -> String {
        String(format: "%.1f%%", rate(measure) * 100)
    }
}

/// Which variant won, and why in words.
public struct ABDecision: Sendable, Hashable, Codable {
    public var winner: Int
    /// Picked by a person rather than by the rule.
    public var byHand: Bool
    public var note: String
    /// When it was decided (epoch seconds).
    public var at: Int64

    public init(winner: Int, byHand: Bool, note: String, at: Int64) {
        self.winner = winner
        self.byHand = byHand
        self.note = note
        self.at = at
    }
}

/// The rule that picks an A/B test's winner when the wait is over: the highest rate by the
/// measure (events per message sent); a tie goes to the first of the tied; with fewer than
/// ``ABTest/minimumEvents`` events in all the test says nothing, and variant A goes.
public enum ABRule {
    public static func decide(_ results: [ABVariantResult], measure: ABTest.Measure, at now: Int64) -> ABDecision {
        let ordered = results.sorted { $0.variant < $1.variant }
        let total = ordered.reduce(0) { $0 + $1.events(measure) }
        guard let first = ordered.first else {
            return ABDecision(winner: 0, byHand: false, note: "no test message was sent; variant A goes to the rest", at: now)
        }
        if total < ABTest.minimumEvents {
            return ABDecision(winner: first.variant, byHand: false,
                              note: "too few \(measure.label) to tell the variants apart (\(total), fewer than \(ABTest.minimumEvents)); "
                                  + "variant \(ABTest.letter(first.variant)) goes to the rest, as the rule says", at: now)
        }
        var best = first
        for result in ordered.dropFirst() where result.rate(measure) > best.rate(measure) { best = result }
        let tied = ordered.filter { $0.variant != best.variant && $0.rate(measure) == best.rate(measure) }
        let percent = best.percent(measure)
        let note = tied.isEmpty
            ? "variant \(ABTest.letter(best.variant)) had the most \(measure.label) per message (\(percent))"
            : "variants \(([best] + tied).map { ABTest.letter($0.variant) }.joined(separator: " and ")) tied at \(percent) \(measure.label) "
                + "per message; the first of them goes"
        return ABDecision(winner: best.variant, byHand: false, note: note, at: now)
    }
}
