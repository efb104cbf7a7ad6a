import HeraldCore
import Testing

@Suite struct DomainRecordsTests {
    static let rsa = DomainKey(id: 1, selector: "hd20261202r", algorithm: .rsa, publicRecord: "v=DKIM1; k=rsa; p=MIIBkey", createdAt: 100)
    static let ed = DomainKey(id: 2, selector: "hd20261202e", algorithm: .ed25519, publicRecord: "v=DKIM1; k=ed25519; p=EDkey", createdAt: 100)
    static let old = DomainKey(id: 3, selector: "hd20261101r", algorithm: .rsa, publicRecord: "v=DKIM1; k=rsa; p=OLD", createdAt: 50,
                               replacedAt: 100, retiresAt: 1000)
    static let domain = SendingDomain(id: 1, name: "example.com", createdAt: 50, keys: [rsa, ed, old])

    static func context(relay: String? = "smtp.sendgrid.net", bounce: String? = "bounce.example.com", now: Int64 = 500) -> DomainRecords.Context {
        DomainRecords.Context(relayHost: relay, bounceDomain: bounce, inboundHost: "crm.example.com", now: now)
    }

    @Test func thePlanNamesEveryRecordWithItsPurpose() {
        let plan = DomainRecords.plan(for: Self.domain, context: Self.context())
        #expect(plan.map(\.purpose) == [.dkim, .dkim, .dkim, .spf, .dmarc, .bounceMX])
        #expect(plan[0].name == "hd20261202r._domainkey.example.com" && plan[0].value == "v=DKIM1; k=rsa; p=MIIBkey")
        // The replaced key stays published while it retires.
        #expect(plan[2].name == "hd20261101r._domainkey.example.com" && plan[2].note.contains("kept published until"))
        // SPF where SPF is checked: the return path's domain, naming the provider's include.
        #expect(plan[3].name == "bounce.example.com" && plan[3].value == "v=spf1 include:sendgrid.net ~all")
        #expect(plan[4] .name == "_dmarc.example.com" && plan[4].value.hasPrefix("v=DMARC1; p=none; rua=mailto:"))
        #expect(plan[5].name == "bounce.example.com" && plan[5].type == "MX" && plan[5].value == "10 crm.example.com")
        // Once retired, a key's record is no longer asked for.
        #expect(DomainRecords.plan(for: Self.domain, context: Self.context(now: 1000)).filter { $0.purpose == .dkim }.count == 2)
        // A bounce domain of another organisation: SPF on the domain itself, and no MX here.
        let elsewhere = DomainRecords.plan(for: Self.domain, context: Self.context(bounce: "bounces.other.net"))
        #expect(elsewhere.first { $0.purpose == .spf }?.name == "example.com")
        #expect(!elsewhere.contains { $0.purpose == .bounceMX })
    }

    @Test(arguments: [
        ("smtp.sendgrid.net", "include:sendgrid.net"), ("email-smtp.eu-west-1.amazonaws.com", "include:amazonses.com"),
        ("smtp.office365.com", "include:spf.protection.outlook.com"), ("relay.internal.example", "a:relay.internal.example"),
        ("127.0.0.1", "a"), ("localhost", "a"),
    ])
    func spfNamesTheRelay(host: String, mechanism: String) {
        #expect(DomainRecords.spfMechanism(relayHost: host).mechanism == mechanism)
    }

    @Test func readingWhatDNSHas() {
        let plan = DomainRecords.plan(for: Self.domain, context: Self.context())
        let dkim = plan[0], spf = plan[3], dmarc = plan[4], mx = plan[5]
        func verdict(_ record: DNSRecordPlan, _ found: [String], inherited: [String] = []) -> DNSRecordCheck.Verdict {
            DomainRecords.check(record, found: found, inherited: inherited).verdict
        }
        // DKIM: the same key (whitespace aside) is found; another key or no key is wrong.
        #expect(verdict(dkim, ["v=DKIM1; k=rsa; p=MIIB key"]) == .found)
        #expect(verdict(dkim, ["v=DKIM1; k=rsa; p=OTHER"]) == .wrong)
        #expect(verdict(dkim, ["google-site-verification=x"]) == .wrong)
        #expect(verdict(dkim, []) == .missing)
        // SPF: one record naming the mechanism; two records are an error whatever they say.
        #expect(verdict(spf, ["v=spf1 include:sendgrid.net -all", "other=1"]) == .found)
        #expect(verdict(spf, ["v=spf1 +include:sendgrid.net ~all"]) == .found)
        #expect(verdict(spf, ["v=spf1 mx ~all"]) == .wrong)
        #expect(verdict(spf, ["v=spf1 include:sendgrid.net ~all", "v=spf1 mx ~all"]) == .wrong)
        #expect(verdict(spf, []) == .missing)
        // DMARC: any valid policy is found; none here but the organisational domain's is inherited.
        #expect(DomainRecords.check(dmarc, found: ["v=DMARC1; p=reject; rua=mailto:x@example.com"]).note == "policy p=reject")
        #expect(verdict(dmarc, ["v=DMARC1; rua=mailto:x@example.com"]) == .wrong)
        #expect(verdict(dmarc, ["v=DMARC1; p=none", "v=DMARC1; p=reject"]) == .wrong)
        #expect(verdict(dmarc, [], inherited: ["v=DMARC1; p=quarantine"]) == .found)
        #expect(verdict(dmarc, []) == .missing)
        // MX: ours among the hosts.
        #expect(verdict(mx, ["10 crm.example.com", "20 backup.example.net"]) == .found)
        #expect(verdict(mx, ["10 mx.other.net"]) == .wrong)
        #expect(verdict(mx, []) == .missing)
    }

    @Test func organisationalDomainsAndAlignment() {
        #expect(DomainRecords.organizationalDomain("news.example.com") == "example.com")
        #expect(DomainRecords.organizationalDomain("a.b.example.co.uk") == "example.co.uk")
        #expect(DomainRecords.organizationalDomain("example.com") == "example.com")
        #expect(DomainRecords.aligned("bounce.example.com", "news.example.com"))
        #expect(!DomainRecords.aligned("bounce.example.net", "example.com"))
        #expect(!DomainRecords.aligned("example.co.uk", "other.co.uk"))
    }

    @Test func aDomainOrItsParentSigns() {
        let parent = SendingDomain(id: 2, name: "example.org", createdAt: 1, keys: [])
        #expect(SendingDomain.signing(for: "a@news.example.com", among: [Self.domain, parent])?.name == "example.com")
        #expect(SendingDomain.signing(for: "a@example.com", among: [Self.domain])?.name == "example.com")
        #expect(SendingDomain.signing(for: "a@example.net", among: [Self.domain, parent]) == nil)
        // A top-level domain never signs for the domains under it.
        #expect(SendingDomain.signing(for: "a@example.com", among: [SendingDomain(id: 3, name: "com", createdAt: 1, keys: [])]) == nil)
    }

    @Test func keysSignWhileActiveAndVerifyUntilTheyRetire() {
        #expect(Self.domain.signingKeys(at: 500).map(\.id) == [1, 2])
        #expect(Self.old.state(at: 999) == .retiring && Self.old.state(at: 1000) == .retired)
        #expect(!Self.domain.isVerified(at: 500))
        var verified = Self.domain
        verified.keys = verified.keys.map { var key = $0; key.verifiedAt = 400; return key }
        #expect(verified.isVerified(at: 500))
    }

    @Test(arguments: ["example.com", "Example.COM.", " news.example.co.uk ", "xn--bcher-kva.example"])
    func validDomainNames(name: String) throws {
        #expect(try SendingDomain.checkName(name) == name.trimmingCharacters(in: .whitespaces).lowercased().trimmingCharacters(in: ["."]))
    }

    @Test(arguments: ["", "localhost", "exa mple.com", "-bad.com", "bad-.com", "a..com", "bücher.example", "192.168.1.1", "x@example.com"])
    func invalidDomainNames(name: String) {
        #expect(throws: HeraldError.self) { try SendingDomain.checkName(name) }
    }

    @Test func sendersAreWarnedAboutWhatTheyLack() {
        var verified = Self.domain
        verified.keys = verified.keys.map { var key = $0; key.verifiedAt = 400; return key }
        let good = SenderAuthentication(address: "news@example.com", domains: [verified], bounceDomain: "bounce.example.com", now: 500)
        #expect(good.state == .verified && good.isAuthenticated && good.warning == nil && good.returnPathAligned == true)
        let unverified = SenderAuthentication(address: "news@example.com", domains: [Self.domain], bounceDomain: nil, now: 500)
        #expect(unverified.state == .unverified)
        #expect(unverified.warning?.contains("not found in DNS yet") == true)
        let unsigned = SenderAuthentication(address: "news@example.net", domains: [verified], bounceDomain: "bounce.example.com", now: 500)
        #expect(unsigned.state == .unsigned && !unsigned.isAuthenticated)
        #expect(unsigned.warning?.contains("example.net is not a sending domain") == true)
        #expect(unsigned.warning?.contains("not aligned with example.net") == true)
    }
}
