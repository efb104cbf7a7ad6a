/// When a password may be tried, per account and per client address: the rules alone, no
/// clock and no I/O, tested table by table. A few free failures each; then each further
/// try waits twice as long as the one before (1 s, 2 s, 4 s, … at most 15 min) after the
/// last failure. Guessing one account's password, or many accounts' from one address, slows
/// to a crawl, while a person who mistypes a few times never notices.
///
/// A success forgets the account's failures but not the address's: otherwise an attacker
/// with one account of their own could log into it between guesses to reset the count.
struct LoginThrottle: Sendable {
    struct Rules: Sendable {
        var freeFailuresPerAccount = 5
        var freeFailuresPerAddress = 20
        var maximumDelay: Int64 = 900
        /// Failures older than this are forgotten.
        var memory: Int64 = 3600
        /// At most this many accounts and addresses are remembered (the oldest go first), so
        /// that a flood of made-up names cannot fill the memory.
        var capacity = 10_000
    }

    enum Decision: Equatable, Sendable {
        case allow
        /// Refused without checking the password; try again after this many seconds.
        case wait(seconds: Int64)
    }

    struct Entry: Sendable {
        var failures: Int
        var last: Int64
    }

    var rules = Rules()
    private(set) var accounts: [String: Entry] = [:]
    private(set) var addresses: [String: Entry] = [:]

    /// Whether a try for `account` (an email, lower-cased) from `address` may go ahead at `now`.
    func decide(account: String, address: String, now: Int64) -> Decision {
        let wait = max(delay(accounts[account], free: rules.freeFailuresPerAccount, now: now),
                       delay(addresses[address], free: rules.freeFailuresPerAddress, now: now))
        return wait > 0 ? .wait(seconds: wait) : .allow
    }

    mutating func failed(account: String, address: String, now: Int64) {
        Self.count(&accounts, account, now: now, rules: rules)
        Self.count(&addresses, address, now: now, rules: rules)
    }

    mutating func succeeded(account: String) {
        accounts[account] = nil
    }

    /// Seconds still to wait after `entry`'s failures, 0 when none.
    private func delay(_ entry: Entry?, free: Int, now: Int64) -> Int64 {
        guard let entry, now - entry.last < rules.memory, entry.failures >= free else { return 0 }
        let doublings = min(entry.failures - free, 20)
        let delay = min(Int64(1) << doublings, rules.maximumDelay)
        return max(0, entry.last + delay - now)
    }

    private static func count(_ entries: inout [String: Entry], _ key: String, now: Int64, rules: Rules) {
        var entry = entries[key] ?? Entry(failures: 0, last: now)
        if now - entry.last >= rules.memory { entry.failures = 0 }
        entry.failures += 1
        entry.last = now
        entries[key] = entry
        if entries.count > rules.capacity {
            // Forget what is old first; if everything is recent, the oldest tenth.
            entries = entries.filter { now - $0.value.last < rules.memory }
            if entries.count > rules.capacity {
                let oldest = entries.sorted { $0.value.last < $1.value.last }.prefix(rules.capacity / 10).map(\.key)
                for key in oldest { entries[key] = nil }
            }
        }
    }
}

/// The login throttle and a bound on password checks running at once, shared by every
/// request: bcrypt at cost 12 takes a quarter of a second of one core, so a few hundred
/// concurrent tries would starve everything else.
actor LoginGate {
    private var throttle = LoginThrottle()
    private var checking = 0
    /// Password checks at once; more are refused at once with "busy" rather than queued.
    let maximumChecks: Int

    init(maximumChecks: Int = 16, rules: LoginThrottle.Rules = .init()) {
        self.maximumChecks = maximumChecks
        throttle.rules = rules
    }

    enum Admission: Equatable {
        case go
        case wait(seconds: Int64)
        case busy
    }

    /// Whether a password check may start; `.go` must be followed by ``finish(account:address:succeeded:now:)``.
    func admit(account: String, address: String, now: Int64) -> Admission {
        if case .wait(let seconds) = throttle.decide(account: account, address: address, now: now) { return .wait(seconds: seconds) }
        guard checking < maximumChecks else { return .busy }
        checking += 1
        return .go
    }

    func finish(account: String, address: String, succeeded: Bool, now: Int64) {
        checking -= 1
        if succeeded { throttle.succeeded(account: account) } else { throttle.failed(account: account, address: address, now: now) }
    }
}
