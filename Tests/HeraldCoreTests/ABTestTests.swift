import Foundation
import HeraldCore
import Testing

/// The A/B test's rules, table by table: who wins, how big the test share is, who is in it,
/// and what a test may be.
@Suite struct ABTestTests {
    static func test(_ variants: Int = 2, percent: Int = 20, measure: ABTest.Measure = .clicks, wait: FollowUp.Delay = .hours(4)) -> ABTest {
        ABTest(variants: (0..<variants).map { ABTest.Variant(subject: "Subject \($0)") }, testPercent: percent, measure: measure, wait: wait)
    }

    @Test(arguments: [
        // (sent, clicks by variant) → winner, and words the note has
        ([100, 100], [3, 12], 1, "variant B had the most clicks per message (12.0%)"),
        ([100, 100], [12, 3], 0, "variant A had the most clicks"),
        ([100, 50], [10, 6], 1, "(12.0%)"),  // a rate, not a count
        ([100, 100], [8, 8], 0, "variants A and B tied at 8.0%"),
        ([100, 100, 100], [2, 9, 9], 1, "variants B and C tied"),
        ([100, 100], [1, 8], 0, "too few clicks to tell the variants apart (9, fewer than 10)"),
        ([0, 0], [0, 0], 0, "too few clicks"),
    ])
    func theWinnerHasTheBestRateTiesGoFirstAndTooFewSaySo(sent: [Int], clicks: [Int], winner: Int, words: String) {
        let results = zip(sent, clicks).enumerated().map { ABVariantResult(variant: $0.offset, sent: $0.element.0, clicked: $0.element.1) }
        let decision = ABRule.decide(results, measure: .clicks, at: 42)
        #expect(decision.winner == winner)
        #expect(decision.note.contains(words), "\(decision.note)")
        #expect(!decision.byHand)
        #expect(decision.at == 42)
    }

    @Test func theMeasureChoosesWhichActionsCount() {
        let results = [ABVariantResult(variant: 0, sent: 100, opened: 40, clicked: 2, replied: 9),
                       ABVariantResult(variant: 1, sent: 100, opened: 20, clicked: 9, replied: 2)]
        #expect(ABRule.decide(results, measure: .opens, at: 0).winner == 0)
        #expect(ABRule.decide(results, measure: .clicks, at: 0).winner == 1)
        #expect(ABRule.decide(results, measure: .replies, at: 0).winner == 0)
    }

    @Test(arguments: [(1000, 20, 2, 200), (1000, 5, 5, 50), (7, 20, 2, 2), (3, 20, 2, 2), (2, 20, 2, 2), (100, 90, 2, 90), (10, 90, 5, 9)])
    func theTestShareIsRoundedAtLeastOneAVariantAndNeverEveryone(recipients: Int, percent: Int, variants: Int, size: Int) {
        #expect(Self.test(variants, percent: percent).testSize(of: recipients) == size)
    }

    @Test func theDrawIsReproducibleAndSpreadsEvenly() {
        let keys = (0..<10_000).map { ABTest.key(massEmail: 7, address: "person\($0)@example.org") }
        #expect(keys == (0..<10_000).map { ABTest.key(massEmail: 7, address: "person\($0)@example.org") })
        #expect(keys.allSatisfy { $0 >= 0 })
        #expect(Set(keys).count == keys.count)
        // The first 20 % by key: about a fifth of each half of the list, not its first 2,000.
        let chosen = Set(keys.enumerated().sorted { $0.element < $1.element }.prefix(2000).map(\.offset))
        let firstHalf = chosen.filter { $0 < 5000 }.count
        #expect((900...1100).contains(firstHalf), "\(firstHalf)")
        // Another mass email draws others.
        let other = (0..<10_000).map { ABTest.key(massEmail: 8, address: "person\($0)@example.org") }
        let otherChosen = Set(other.enumerated().sorted { $0.element < $1.element }.prefix(2000).map(\.offset))
        #expect(chosen.intersection(otherChosen).count < 600)
    }

    @Test func aTestSaysEverythingWrongWithItsPath() {
        #expect(Self.test().problems(templateIDs: [1]).isEmpty)
        let one = ABTest(variants: [ABTest.Variant(subject: "Only")], testPercent: 20, measure: .opens, wait: .hours(1))
        #expect(one.problems().map(\.field) == ["ab_test.variants"])
        let six = Self.test(6)
        #expect(six.problems().map(\.field) == ["ab_test.variants"])
        let same = ABTest(variants: [ABTest.Variant(templateID: 1), ABTest.Variant(templateID: 2), ABTest.Variant(templateID: 1)],
                          testPercent: 20, measure: .opens, wait: .days(7))
        #expect(same.problems(templateIDs: [1]).map(\.field) == ["ab_test.variants[1].template_id", "ab_test.variants[2]"])
        #expect(same.problems(templateIDs: [1]).last?.reason.contains("is the same as variant A") == true)
        let odd = ABTest(variants: [ABTest.Variant(subject: " "), ABTest.Variant(subject: "Two\nlines")], testPercent: 95, measure: .clicks,
                         wait: .days(8))
        #expect(odd.problems().map(\.field) == ["ab_test.variants[0].subject", "ab_test.variants[1].subject", "ab_test.test_percent", "ab_test.wait"])
        #expect(Self.test(wait: .hours(0)).problems().map(\.field) == ["ab_test.wait"])
        #expect(Self.test(wait: .hours(168)).problems().isEmpty)
    }

    @Test func variantsAreLettered() {
        #expect((0..<5).map(ABTest.letter) == ["A", "B", "C", "D", "E"])
        #expect(["a", "B", "e", "F", "", "AB"].map(ABTest.index(letter:)) == [0, 1, 4, nil, nil, nil])
        #expect(Self.test(wait: .days(2)).waitSeconds == 172_800)
    }
}
