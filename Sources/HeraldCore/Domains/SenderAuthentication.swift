/// Whether mail from a sender address is DKIM-signed by a verified key of its From domain
/// (or a parent), and whether its return path aligns: what the Senders page, the mass
/// email form and the API warn about, and what "Only send from authenticated domains"
/// enforces.
public struct SenderAuthentication: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        /// Signed by a key whose DNS record was found as published.
        case verified
        /// A sending domain signs it, but its key has not been found in DNS (yet).
        case unverified
        /// No sending domain covers it: the mail goes out unsigned.
        case unsigned
    }

    public var address: String
    public var state: State
    /// The sending domain that signs it.
    public var domain: String?
    /// The VERP return path's domain, and whether it aligns with the From domain (DMARC's
    /// relaxed alignment: the same organisational domain, RFC 7489 §3.1.2).
    public var returnPathDomain: String?
    public var returnPathAligned: Bool?

    public init(address: String, domains: [SendingDomain], bounceDomain: String?, now: Int64) {
        self.address = address
        let from = address.split(separator: "@").last.map(String.init)?.lowercased() ?? ""
        if let domain = SendingDomain.signing(for: address, among: domains) {
            self.domain = domain.name
            state = domain.isVerified(at: now) ? .verified : .unverified
        } else {
            state = .unsigned
        }
        returnPathDomain = bounceDomain
        returnPathAligned = bounceDomain.map { DomainRecords.aligned($0, from) }
    }

    /// What to do about it, in words; nil when all is well.
    public var warning: String? {
        let from = address.split(separator: "@").last.map(String.init) ?? address
        var warnings: [String] = []
        switch state {
        case .verified:
            break
        case .unverified:
            warnings.append("\(address): the DKIM key of \(domain ?? from) is not found in DNS yet; publish its records and press "
                            + "Check DNS (Admin → Sending domains)")
        case .unsigned:
            warnings.append("\(address): \(from) is not a sending domain, so this mail goes out without a DKIM signature, which "
                            + "Gmail and Yahoo file as spam in bulk; add it under Admin → Sending domains")
        }
        if returnPathAligned == false, let returnPathDomain {
            warnings.append("the return path's domain \(returnPathDomain) is not aligned with \(from): DMARC can pass only through DKIM")
        }
        return warnings.isEmpty ? nil : warnings.joined(separator: "; ")
    }

    /// Whether "Only send from authenticated domains" lets it send.
    public var isAuthenticated: Bool { state == .verified }
}
