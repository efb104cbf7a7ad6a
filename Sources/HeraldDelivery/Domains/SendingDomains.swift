import Foundation
import HeraldCore
import HeraldStore
import Logging
import Mail

/// Sending domains, as use cases: add a domain with the DKIM keys Herald makes, rotate the
/// keys, check what DNS publishes, and the signers for a message's From address. The pages
/// and the API are thin adapters over these calls.
public actor SendingDomains {
    let store: Store
    let transports: TransportSource
    let returnPaths: ReturnPathSource
    let publicURL: PublicURL
    let resolver: DNSResolver
    let logger: Logger
    let now: @Sendable () -> Int64
    /// Signers by domain name, loaded from the store; another process's change shows within
    /// ``signerLifetime``, this process's at once (``forgetSigners()``).
    private var signers: (loaded: ContinuousClock.Instant, byDomain: [String: [DKIMSigner]])?
    public var signerLifetime: Duration = .seconds(30)

    public init(store: Store, transports: TransportSource, returnPaths: ReturnPathSource, publicURL: PublicURL,
                resolver: DNSResolver = DNSResolver(), logger: Logger, now: @escaping @Sendable () -> Int64 = { WallClock.epochSeconds() }) {
        self.store = store
        self.transports = transports
        self.returnPaths = returnPaths
        self.publicURL = publicURL
        self.resolver = resolver
        self.logger = logger
        self.now = now
    }

    // MARK: - Domains and keys

    /// Adds a domain with a new RSA-2048 key and, when asked, an Ed25519 one signing beside it.
    public func add(_ name: String, ed25519: Bool) async throws -> SendingDomain {
        let name = try SendingDomain.checkName(name)
        let t = now()
        let domain = try await store.domains.create(name: name, keys: try Self.makeKeys(for: name, ed25519: ed25519, taken: [], now: t), now: t)
        forgetSigners()
        logger.info("sending domain added", metadata: ["domain": "\(name)"])
        return domain
    }

    /// New keys (with new selectors) sign from now on; the replaced ones stay valid for
    /// `keepOldDays` days, their records to be kept published until then.
    public func rotate(_ id: Int64, keepOldDays: Int) async throws -> SendingDomain {
        guard (1...365).contains(keepOldDays) else {
            throw HeraldError.invalid(field: "keep_old_days", "must be from 1 to 365 days")
        }
        let domain = try await store.domains.find(id)
        let t = now()
        let ed25519 = domain.signingKeys(at: t).contains { $0.algorithm == .ed25519 }
        let keys = try Self.makeKeys(for: domain.name, ed25519: ed25519, taken: Set(domain.keys.map(\.selector)), now: t)
        let rotated = try await store.domains.rotate(id, to: keys, keepOldUntil: t + Int64(keepOldDays) * 86_400, now: t)
        forgetSigners()
        logger.info("DKIM keys rotated", metadata: ["domain": "\(domain.name)", "keep_old_days": "\(keepOldDays)"])
        return rotated
    }

    public func delete(_ id: Int64) async throws {
        try await store.domains.delete(id)
        forgetSigners()
    }

    /// Selectors Herald names: `hd` and the date, `r` for RSA and `e` for Ed25519, and a
    /// number when a rotation the same day has taken that one.
    static func makeKeys(for domain: String, ed25519: Bool, taken: Set<String>, now: Int64) throws -> [DomainStore.NewKey] {
        let date = String(ISODateTime.format(epochSeconds: now).prefix(10)).replacingOccurrences(of: "-", with: "")
        func selector(_ letter: String) -> String {
            var candidate = "hd\(date)\(letter)"
            var n = 2
            while taken.contains(candidate) {
                candidate = "hd\(date)\(letter)\(n)"
                n += 1
            }
            return candidate
        }
        var kinds: [(DKIMKeyGenerator.Kind, DomainKey.Algorithm, String)] = [(.rsa2048, .rsa, "r")]
        if ed25519 { kinds.append((.ed25519, .ed25519, "e")) }
        return try kinds.map { kind, algorithm, letter in
            let pem = try DKIMKeyGenerator.make(kind)
            let name = selector(letter)
            let signer = try DKIMSigner(domain: domain, selector: name, privateKeyPEM: pem)
            return DomainStore.NewKey(selector: name, algorithm: algorithm, privateKeyPEM: pem, publicRecord: signer.dnsRecord)
        }
    }

    // MARK: - DNS

    /// What the records depend on: the relay's host, the bounce domain, this server's host.
    public func context() async -> DomainRecords.Context {
        let relay = try? await transports.configured().url
        let relayHost: String? = if case .smtp? = relay?.kind { relay?.host } else { nil }
        let inbound = URLComponents(string: publicURL.url)?.host
        return DomainRecords.Context(relayHost: relayHost, bounceDomain: try? await returnPaths.domain(),
                                     inboundHost: inbound.flatMap { $0 == "127.0.0.1" || $0 == "localhost" ? nil : $0 }, now: now())
    }

    /// The records to publish for a domain.
    public func records(for domain: SendingDomain) async -> [DNSRecordPlan] {
        DomainRecords.plan(for: domain, context: await context())
    }

    /// Looks each record up and reads what is there; the DKIM keys found as published are
    /// verified (and those no longer found lose it). A DNS server that does not answer is a
    /// 502 saying so, not a page full of "missing".
    public func check(_ id: Int64) async throws -> [DNSRecordCheck] {
        let domain = try await store.domains.find(id)
        var checks: [DNSRecordCheck] = []
        do {
            for record in await records(for: domain) {
                switch record.purpose {
                case .bounceMX:
                    checks.append(DomainRecords.check(record, found: try await resolver.mx(record.name).records.map(\.description)))
                case .dmarc:
                    let organisational = DomainRecords.organizationalDomain(domain.name)
                    let inherited = organisational == domain.name ? [] : try await resolver.txt("_dmarc.\(organisational)").records
                    checks.append(DomainRecords.check(record, found: try await resolver.txt(record.name).records, inherited: inherited))
                case .dkim, .spf:
                    checks.append(DomainRecords.check(record, found: try await resolver.txt(record.name).records))
                }
            }
        } catch {
            throw HeraldError.upstream("DNS did not answer: \(error.message)")
        }
        let verified = Set(checks.filter { $0.record.purpose == .dkim && $0.verdict == .found }.compactMap(\.record.keyID))
        try await store.domains.checked(id, verifiedKeys: verified, now: now())
        logger.info("DNS checked", metadata: ["domain": "\(domain.name)", "found": "\(checks.filter { $0.verdict == .found }.count)",
                                               "of": "\(checks.count)"])
        return checks
    }

    // MARK: - Authentication of senders

    /// Whether mail from each address is signed by a verified key, and whether its return
    /// path aligns; by address.
    public func authentication(of addresses: [String]) async throws -> [String: SenderAuthentication] {
        let domains = try await store.domains.all()
        let bounce = try await returnPaths.domain()
        let t = now()
        return Dictionary(addresses.map { ($0, SenderAuthentication(address: $0, domains: domains, bounceDomain: bounce, now: t)) },
                          uniquingKeysWith: { a, _ in a })
    }

    /// Refuses a sender that is not authenticated when the organisation sends only from
    /// authenticated domains (a 422 on `field`, saying why and what to do).
    public func requireAuthenticated(_ sender: Sender, field: String = "sender_id") async throws {
        guard try await store.settings.onlyAuthenticatedDomains() else { return }
        guard let auth = try await authentication(of: [sender.email])[sender.email], !auth.isAuthenticated else { return }
        throw HeraldError.invalid(field: field, "the organisation sends only from authenticated domains, and "
                                  + (auth.warning ?? "\(sender.email) is not one"))
    }

    // MARK: - Signing

    /// The signers for mail from `address`: the active keys of its domain or of the
    /// closest parent that is a sending domain, RSA first; none when there is no such domain.
    public func signers(for address: String) async -> [DKIMSigner] {
        let byDomain: [String: [DKIMSigner]]
        if let signers, ContinuousClock.now - signers.loaded < signerLifetime {
            byDomain = signers.byDomain
        } else {
            do {
                byDomain = try await loadSigners()
                signers = (ContinuousClock.now, byDomain)
            } catch {
                // Unsigned mail is worse than mail signed with keys a few seconds old.
                logger.error("DKIM keys could not be loaded", metadata: ["error": "\(error)"])
                byDomain = signers?.byDomain ?? [:]
            }
        }
        guard let domain = SendingDomain.signingDomain(for: address, among: Set(byDomain.keys)) else { return [] }
        return byDomain[domain] ?? []
    }

    /// Reloads the keys at the next signing.
    public func forgetSigners() { signers = nil }

    private func loadSigners() async throws -> [String: [DKIMSigner]] {
        Self.signers(of: try await store.domains.signingKeys(), logger: logger)
    }

    /// The signers of the stored keys, by domain, RSA first (a verifier that knows only RSA
    /// reads the top signature first).
    public static func signers(of keys: [DomainStore.SigningKey], logger: Logger) -> [String: [DKIMSigner]] {
        var byDomain: [String: [DKIMSigner]] = [:]
        for key in keys.sorted(by: { $0.algorithm == .rsa && $1.algorithm != .rsa }) {
            do {
                byDomain[key.domain, default: []].append(try DKIMSigner(domain: key.domain, selector: key.selector, privateKeyPEM: key.privateKeyPEM))
            } catch {
                logger.error("a DKIM key could not be read", metadata: ["domain": "\(key.domain)", "selector": "\(key.selector)"])
            }
        }
        return byDomain
    }
}
