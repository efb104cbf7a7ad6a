import Foundation

/// An A/B test of a mass email: 2–5 variants (each its own subject and/or template) go to a
/// test share of the recipients, split evenly; after the wait the variant that did best by
/// the chosen measure goes to the rest (``ABRule``), or the one a user picks earlier.
///
/// Who is in the test is random but reproducible: the recipients are ordered by
/// ``key(massEmail:address:)``, a hash of the mass email and the address, the first
/// ``testSize(of:)`` of them are the test and take the variants in turn.
public struct ABTest: Sendable, Hashable, Codable {
    /// One variant: a template and/or a subject; nil means the mass email's own.
    public struct Variant: Sendable, Hashable, Codable {
        public var templateID: Int64?
        public var subject: String?

        public init(templateID: Int64? = nil, subject: String? = nil) {
            self.templateID = templateID
            self.subject = subject
        }
    }

    /// What the winner is chosen by: people's actions only, never machines' (privacy proxies
    /// and link scanners open and click everything).
    public enum Measure: String, Sendable, Hashable, Codable, CaseIterable {
        case opens, clicks, replies

        public var label: String {
            switch self {
            case .opens: "opens"
            case .clicks: "clicks"
            case .replies: "replies"
            }
        }
    }

    public var variants: [Variant]
    /// The share of the recipients in the test, in percent.
    public var testPercent: Int
    public var measure: Measure
    /// How long after the test's messages start going out the winner is chosen.
    public var wait: FollowUp.Delay

    public init(variants: [Variant], testPercent: Int, measure: Measure, wait: FollowUp.Delay) {
        self.variants = variants
        self.testPercent = testPercent
        self.measure = measure
        self.wait = wait
    }

    public static let variantCount = 2...5
    public static let testPercentRange = 2...90
    public static let maxWaitHours = 7 * 24
    /// Below this many events in all, the test cannot tell the variants apart (``ABRule``).
    public static let minimumEvents = 10

    /// "A", "B", … for variant `index`.
    public static func letter(_ index: Int) -> String {
        String(UnicodeScalar(UInt8(65 + max(0, min(index, 25)))))
    }

    /// The index of variant `letter` ("B" → 1), or nil for what is not a variant's letter.
    public static func index(letter: String) -> Int? {
        guard letter.count == 1, let scalar = letter.uppercased().unicodeScalars.first, ("A"..."E").contains(scalar) else { return nil }
        return Int(scalar.value) - 65
    }

    /// The wait in seconds.
    public var waitSeconds: Int64 { Int64(wait.amount) * (wait.unit == .hours ? 3600 : 86_400) }

    /// How many of `recipients` are in the test: the share, rounded, but at least one per
    /// variant and never all of them.
    public func testSize(of recipients: Int) -> Int {
        guard recipients > variants.count else { return recipients }
        let share = Int((Double(recipients) * Double(testPercent) / 100).rounded())
        return min(max(share, variants.count), recipients - 1)
    }

    /// A recipient's place in the draw: FNV-1a over the mass email and the address, mixed
    /// (splitmix64's finaliser) so that similar addresses land far apart.
    public static func key(massEmail: Int64, address: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        withUnsafeBytes(of: massEmail.littleEndian) { for byte in $0 { add(byte) } }
        for byte in address.utf8 { add(byte) }
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return Int64(bitPattern: hash >> 1)  // positive, for databases that sort signed
    }

    /// Every problem with the test, each with its path (`ab_test.variants[1].subject`);
    /// `templateIDs` are the module's templates.
    public func problems(templateIDs: Set<Int64>? = nil) -> [Problem] {
        var problems = ProblemList()
        if !Self.variantCount.contains(variants.count) {
            problems.add("ab_test.variants", "an A/B test has \(Self.variantCount.lowerBound) to \(Self.variantCount.upperBound) variants")
        }
        var seen: [Variant: Int] = [:]
        for (i, variant) in variants.enumerated() {
            let path = "ab_test.variants[\(i)]"
            if let id = variant.templateID, let templateIDs, !templateIDs.contains(id) {
                problems.add("\(path).template_id", "no template \(id) in this module")
            }
            if let subject = variant.subject {
                if subject.trimmingCharacters(in: .whitespaces).isEmpty { problems.add("\(path).subject", "is empty; leave it out to use the template's") }
                if subject.count > 998 { problems.add("\(path).subject", "must be at most 998 characters") }
                if subject.contains(where: \.isNewline) { problems.add("\(path).subject", "must be a single line") }
            }
            if let first = seen[variant] {
                problems.add(path, "is the same as variant \(Self.letter(first)): give it another subject or template")
            } else {
                seen[variant] = i
            }
        }
        if !Self.testPercentRange.contains(testPercent) {
            problems.add("ab_test.test_percent", "must be between \(Self.testPercentRange.lowerBound) and \(Self.testPercentRange.upperBound)")
        }
        let hours = wait.unit == .hours ? wait.amount : wait.amount * 24
        if wait.amount < 1 || hours > Self.maxWaitHours { problems.add("ab_test.wait", "must be between 1 hour and 7 days") }
        return problems.problems
    }
}
