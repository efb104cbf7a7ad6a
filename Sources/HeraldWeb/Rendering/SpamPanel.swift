import HeraldDelivery

/// What the spam check's panel shows (the `spam_report` partial, on the template editor and
/// the mass email form): the score against the organisation's threshold, and each rule that
/// fired, highest first.
struct SpamPanel: PageModel {
    struct Rule: PageModel {
        let name: String, score: String, description: String
        let adds: Bool
    }

    let score: String
    let threshold: String
    let over: Bool
    let refuses: Bool
    let rules: [Rule]
    let noRules: Bool

    init(_ o: SpamCheck.Outcome) {
        score = SpamCheck.points(o.report.score)
        threshold = SpamCheck.threshold(o.threshold)
        (over, refuses) = (o.isOverThreshold, o.refusesOverThreshold)
        rules = o.report.rules.map { Rule(name: $0.name, score: SpamCheck.points($0.score), description: $0.description, adds: $0.score > 0) }
        noRules = o.report.rules.isEmpty
    }
}
