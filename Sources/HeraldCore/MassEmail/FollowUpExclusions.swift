import Foundation

/// Who a follow-up leaves out: recipients matching all (or any) of the rules. No rules leave
/// out nobody.
///
/// Those who bounced, unsubscribed, opted out or are suppressed never get a follow-up,
/// whatever the rules say.
public struct FollowUpExclusions: Sendable, Hashable, Codable {
    public enum Match: String, Sendable, Hashable, Codable, CaseIterable {
        case all, any
    }

    /// What a recipient did with any message of the mass email so far (the mass email's or
    /// an earlier follow-up's), as of when the follow-up fires.
    public enum Engagement: String, Sendable, Hashable, Codable, CaseIterable {
        case opened
        case notOpened = "not_opened"
        case clicked
        case notClicked = "not_clicked"
        case replied
        /// Any bounce report, a soft one included (a hard bounce is always left out anyway).
        case bounced
        case unsubscribed

        /// As it reads after "not to those who": "opened", "did not click".
        public var phrase: String {
            switch self {
            case .opened: "opened"
            case .notOpened: "did not open"
            case .clicked: "clicked"
            case .notClicked: "did not click"
            case .replied: "replied"
            case .bounced: "bounced"
            case .unsubscribed: "unsubscribed"
            }
        }
    }

    public enum Rule: Sendable, Hashable, Codable {
        case engagement(Engagement)
        /// A condition (or a group of them) on the recipient's record, as in a view.
        case field(Criteria)
    }

    public var match: Match
    public var rules: [Rule]

    public init(match: Match, rules: [Rule]) {
        self.match = match
        self.rules = rules
    }

    /// Leaves out nobody.
    public static let none = FollowUpExclusions(match: .any, rules: [])

    /// At most this many rules a follow-up.
    public static let maxRules = 50

    func problems(in module: Module, path: String) -> [Problem] {
        var problems = ProblemList()
        if rules.count > Self.maxRules { problems.add("\(path).rules", "at most \(Self.maxRules) rules") }
        for (i, rule) in rules.enumerated() {
            guard case .field(let criteria) = rule else { continue }
            if case .failure(let error) = criteria.resolve(in: module, path: "\(path).rules[\(i)]") {
                problems.add(contentsOf: error.problems)
            }
        }
        return problems.problems
    }

    /// The rules with their field conditions checked against `module`: what storage compiles.
    public func resolve(in module: Module) -> Result<ResolvedFollowUpExclusions, HeraldError> {
        var resolved: [ResolvedFollowUpExclusions.Rule] = []
        var problems = ProblemList()
        for (i, rule) in rules.enumerated() {
            switch rule {
            case .engagement(let e): resolved.append(.engagement(e))
            case .field(let criteria):
                switch criteria.resolve(in: module, path: "exclude.rules[\(i)]") {
                case .success(let c): resolved.append(.field(c))
                case .failure(let error): problems.add(contentsOf: error.problems)
                }
            }
        }
        if !problems.isEmpty { return .failure(.invalid(problems.problems)) }
        return .success(ResolvedFollowUpExclusions(match: match, rules: resolved))
    }

    /// "opened or replied", "did not click and Country is DE".
    public func summary(in module: Module) -> String {
        rules.map { rule in
            switch rule {
            case .engagement(let e): e.phrase
            case .field(let c): "match “\(c.summary(in: module))”"
            }
        }.joined(separator: match == .all ? " and " : " or ")
    }
}

/// Exclusions whose field conditions fit the module.
public struct ResolvedFollowUpExclusions: Sendable, Hashable {
    public enum Rule: Sendable, Hashable {
        case engagement(FollowUpExclusions.Engagement)
        case field(ResolvedCriteria)
    }

    public var match: FollowUpExclusions.Match
    public var rules: [Rule]

    public init(match: FollowUpExclusions.Match, rules: [Rule]) {
        self.match = match
        self.rules = rules
    }
}

/// Why a recipient of the mass email gets no follow-up, in the order they are counted: a
/// recipient is counted under the first that applies.
public enum FollowUpExclusionReason: String, Sendable, Hashable, Codable, CaseIterable {
    case bounced, unsubscribed
    case optedOut = "opted_out"
    case suppressed
    /// The follow-up's own exclusion rules.
    case criteria
}
