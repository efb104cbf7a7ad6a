import Foundation

/// A domain the organisation sends from, with the DKIM keys Herald made for it.
///
/// Receivers (Gmail and Yahoo since February 2024) want bulk mail signed with DKIM by the
/// From domain (or its parent) and DMARC published there; a sending domain is how an admin
/// sets that up: Herald makes the keys, names the DNS records to publish, checks them, and
/// signs every message whose From is on the domain.
public struct SendingDomain: Sendable, Hashable {
    public var id: Int64
    /// Lower case, without a final dot.
    public var name: String
    public var createdAt: Int64
    /// Newest first.
    public var keys: [DomainKey]
    /// When "Check DNS" last ran.
    public var checkedAt: Int64?

    public init(id: Int64, name: String, createdAt: Int64, keys: [DomainKey], checkedAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.keys = keys
        self.checkedAt = checkedAt
    }

    /// The keys messages are signed with now: the newest of each algorithm that is active.
    public func signingKeys(at now: Int64) -> [DomainKey] {
        DomainKey.Algorithm.allCases.compactMap { algorithm in
            keys.first { $0.algorithm == algorithm && $0.state(at: now) == .active }
        }
    }

    /// Whether every key messages are signed with has been found in DNS as published.
    public func isVerified(at now: Int64) -> Bool {
        let signing = signingKeys(at: now)
        return !signing.isEmpty && signing.allSatisfy { $0.verifiedAt != nil }
    }

    /// The domain that signs for `address`'s domain: itself, or the closest parent among
    /// `domains` (a key of example.com signs news.example.com's mail, and DMARC's relaxed
    /// alignment accepts it, RFC 7489 §3.1.1). Nil when none does.
    public static func signing(for address: String, among domains: [SendingDomain]) -> SendingDomain? {
        signingDomain(for: address, among: Set(domains.map(\.name))).flatMap { name in domains.first { $0.name == name } }
    }

    /// The name among `names` that signs for `address`: its domain, or the closest parent.
    public static func signingDomain(for address: String, among names: Set<String>) -> String? {
        guard let at = address.lastIndex(of: "@") else { return nil }
        var domain = Substring(address[address.index(after: at)...].lowercased())
        while true {
            if names.contains(String(domain)) { return String(domain) }
            guard let dot = domain.firstIndex(of: ".") else { return nil }
            domain = domain[domain.index(after: dot)...]
            // A top-level domain alone never signs.
            guard domain.contains(".") else { return nil }
        }
    }

    /// Checks a domain name as typed; returns it lower case without a final dot.
    public static func checkName(_ text: String) throws(HeraldError) -> String {
        var name = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty else { throw HeraldError.invalid(field: "domain", "is required") }
        guard name.utf8.count <= 253 else { throw HeraldError.invalid(field: "domain", "is longer than 253 characters") }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ label in
            (1...63).contains(label.utf8.count) && label.utf8.allSatisfy { $0.isDomainByte } && label.first != "-" && label.last != "-"
        }) else {
            throw HeraldError.invalid(field: "domain", "'\(text)' is not a domain name like example.com (letters, digits and hyphens; internationalised names in their xn-- form)")
        }
        guard !labels.last!.allSatisfy(\.isNumber) else {
            throw HeraldError.invalid(field: "domain", "'\(text)' is an address, not a domain name")
        }
        return name
    }
}

/// One DKIM key of a sending domain, published at `<selector>._domainkey.<domain>`.
public struct DomainKey: Sendable, Hashable {
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        case rsa = "rsa-sha256"
        case ed25519 = "ed25519-sha256"
    }

    public enum State: String, Sendable, Hashable {
        /// Messages are signed with it.
        case active
        /// Replaced by a newer key; kept published so that messages signed before still verify.
        case retiring
        /// Its period is over: its DNS record may be removed.
        case retired
    }

    public var id: Int64
    public var selector: String
    public var algorithm: Algorithm
    /// The TXT value to publish: `v=DKIM1; k=rsa; p=…`.
    public var publicRecord: String
    public var createdAt: Int64
    /// When a rotation replaced it.
    public var replacedAt: Int64?
    /// Until when a replaced key stays valid (published and checked).
    public var retiresAt: Int64?
    /// When "Check DNS" last found its record as published.
    public var verifiedAt: Int64?

    public init(id: Int64, selector: String, algorithm: Algorithm, publicRecord: String, createdAt: Int64,
                replacedAt: Int64? = nil, retiresAt: Int64? = nil, verifiedAt: Int64? = nil) {
        self.id = id
        self.selector = selector
        self.algorithm = algorithm
        self.publicRecord = publicRecord
        self.createdAt = createdAt
        self.replacedAt = replacedAt
        self.retiresAt = retiresAt
        self.verifiedAt = verifiedAt
    }

    public func state(at now: Int64) -> State {
        guard replacedAt != nil else { return .active }
        return (retiresAt ?? 0) > now ? .retiring : .retired
    }

    public func recordName(in domain: String) -> String { "\(selector)._domainkey.\(domain)" }
}

extension UInt8 {
    /// A letter, digit or hyphen: the bytes of a DNS label (RFC 1035 §2.3.1).
    fileprivate var isDomainByte: Bool {
        (0x61...0x7A).contains(self) || (0x30...0x39).contains(self) || self == 0x2D
    }
}
