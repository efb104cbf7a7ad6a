/// One DNS record an admin publishes for a sending domain.
public struct DNSRecordPlan: Sendable, Hashable {
    public enum Purpose: String, Sendable, Hashable {
        case dkim, spf, dmarc
        case bounceMX = "bounce_mx"
    }

    public var purpose: Purpose
    /// The owner name, without a final dot.
    public var name: String
    /// `TXT` or `MX`.
    public var type: String
    /// The value to publish (for MX: `10 host.example.com`).
    public var value: String
    /// Why it is needed, for the page.
    public var note: String
    /// The DKIM key it publishes.
    public var keyID: Int64?
}

/// What "Check DNS" found for one record.
public struct DNSRecordCheck: Sendable, Hashable {
    public enum Verdict: String, Sendable, Hashable {
        case found, missing, wrong
    }

    public var record: DNSRecordPlan
    public var verdict: Verdict
    /// The values found at the name (for the purpose's type), as published.
    public var found: [String]
    /// What is wrong, or what was found instead, in words.
    public var note: String
}

/// The DNS records a sending domain needs and how to read what is published: pure, so that
/// the page, the API and the tests agree.
///
/// - DKIM: a TXT record per key that signs or still verifies (RFC 6376 §3.6.2).
/// - SPF: at the return path's domain, the one SPF checks (RFC 7208 §2.4): the VERP bounce
///   domain when there is one, else the domain itself; it names the relay.
/// - DMARC: `p=none` to start, with a report address (RFC 7489 §6.3), at `_dmarc.<domain>`
///   or, for a subdomain, inherited from its organisational domain.
/// - The bounce domain's MX, when it is this domain or under it, so that bounces reach
///   Herald's inbound listener.
public enum DomainRecords {
    /// What the records depend on besides the domain.
    public struct Context: Sendable, Hashable {
        /// The relay's host name from the transport URL; nil for the outbox.
        public var relayHost: String?
        /// The VERP return path's domain, if set.
        public var bounceDomain: String?
        /// The host name at which this server's inbound listener takes mail (from the public URL).
        public var inboundHost: String?
        public var now: Int64

        public init(relayHost: String?, bounceDomain: String?, inboundHost: String?, now: Int64) {
            self.relayHost = relayHost
            self.bounceDomain = bounceDomain
            self.inboundHost = inboundHost
            self.now = now
        }
    }

    /// The records to publish for `domain`, DKIM first.
    public static func plan(for domain: SendingDomain, context: Context) -> [DNSRecordPlan] {
        var records: [DNSRecordPlan] = []
        for key in domain.keys where key.state(at: context.now) != .retired {
            let note = key.state(at: context.now) == .active
                ? "DKIM: the public key of \(key.algorithm == .rsa ? "the RSA-2048" : "the Ed25519") key messages are signed with"
                : "DKIM: a replaced key, kept published until \(String(ISODateTime.format(epochSeconds: key.retiresAt ?? 0).prefix(10))) so that messages signed with it still verify"
            records.append(DNSRecordPlan(purpose: .dkim, name: key.recordName(in: domain.name), type: "TXT", value: key.publicRecord,
                                         note: note, keyID: key.id))
        }
        let returnPath = context.bounceDomain.flatMap { aligned($0, domain.name) ? $0 : nil } ?? domain.name
        let spf = spfMechanism(relayHost: context.relayHost)
        records.append(DNSRecordPlan(
            purpose: .spf, name: returnPath, type: "TXT", value: "v=spf1 \(spf.mechanism) ~all",
            note: "SPF: the relay may send for \(returnPath), the domain of the return path. \(spf.why) "
                + "If \(returnPath) has an SPF record already, add \(spf.mechanism) to it: a domain may have only one."))
        records.append(DNSRecordPlan(
            purpose: .dmarc, name: "_dmarc.\(domain.name)", type: "TXT", value: "v=DMARC1; p=none; rua=mailto:dmarc-reports@\(domain.name)",
            note: "DMARC: p=none only asks receivers for reports (to dmarc-reports@\(domain.name): change it to a mailbox you read); "
                + "move to p=quarantine once the reports show everything passing."))
        if let bounce = context.bounceDomain, bounce == domain.name || bounce.hasSuffix("." + domain.name) {
            let host = context.inboundHost ?? "this-server.example.com"
            records.append(DNSRecordPlan(
                purpose: .bounceMX, name: bounce, type: "MX", value: "10 \(host)",
                note: "Bounces and replies to bounce+…@\(bounce) reach Herald's inbound listener on port 25 of \(host)."
                    + (context.inboundHost == nil ? " Put this server's public host name instead of this-server.example.com." : "")))
        }
        return records
    }

    /// The SPF mechanism that lets the relay send, and why: the SPF include of a known mail
    /// provider, else the relay host's own addresses (`a:`), else the domain's own (`a`).
    public static func spfMechanism(relayHost: String?) -> (mechanism: String, why: String) {
        guard let host = relayHost?.lowercased(), !host.isEmpty else {
            return ("a", "No relay is set (mail goes to the outbox): this names the domain's own addresses.")
        }
        let providers: [(suffix: String, include: String, name: String)] = [
            ("sendgrid.net", "sendgrid.net", "SendGrid"), ("mailgun.org", "mailgun.org", "Mailgun"),
            ("amazonaws.com", "amazonses.com", "Amazon SES"), ("postmarkapp.com", "spf.mtasv.net", "Postmark"),
            ("sparkpostmail.com", "sparkpostmail.com", "SparkPost"), ("mailjet.com", "spf.mailjet.com", "Mailjet"),
            ("sendinblue.com", "spf.brevo.com", "Brevo"), ("brevo.com", "spf.brevo.com", "Brevo"),
            ("office365.com", "spf.protection.outlook.com", "Microsoft 365"), ("outlook.com", "spf.protection.outlook.com", "Microsoft 365"),
            ("gmail.com", "_spf.google.com", "Google Workspace"), ("google.com", "_spf.google.com", "Google Workspace"),
            ("zoho.com", "zoho.com", "Zoho"), ("zoho.eu", "zoho.eu", "Zoho"), ("mandrillapp.com", "spf.mandrillapp.com", "Mandrill"),
            ("elasticemail.com", "_spf.elasticemail.com", "Elastic Email"), ("smtp2go.com", "spf.smtp2go.com", "SMTP2GO"),
        ]
        if let provider = providers.first(where: { host == $0.suffix || host.hasSuffix("." + $0.suffix) }) {
            return ("include:\(provider.include)", "The relay is \(provider.name)'s; this is the include it documents.")
        }
        if host == "localhost" || host.hasPrefix("127.") || host == "::1" || host.first?.isNumber == true {
            return ("a", "The relay (\(host)) is not a public name: this names the domain's own addresses; "
                    + "if the relay sends from another address, name it with ip4:.")
        }
        return ("a:\(host)", "This names the addresses of the relay, \(host).")
    }

    /// Reads what DNS has at a record's name: `found` are the values of the record's type
    /// (empty when the name or the records do not exist); `inherited` the DMARC records of
    /// the organisational domain, for a subdomain's DMARC.
    public static func check(_ record: DNSRecordPlan, found: [String], inherited: [String] = []) -> DNSRecordCheck {
        func verdict(_ verdict: DNSRecordCheck.Verdict, _ note: String, _ values: [String] = found) -> DNSRecordCheck {
            DNSRecordCheck(record: record, verdict: verdict, found: values, note: note)
        }
        switch record.purpose {
        case .dkim:
            let keys = found.filter { $0.lowercased().contains("p=") }
            guard !found.isEmpty else { return verdict(.missing, "no TXT record at \(record.name)") }
            if keys.contains(where: { tag("p", in: $0) == tag("p", in: record.value) }) {
                return verdict(.found, "published as Herald made it")
            }
            return verdict(.wrong, keys.isEmpty ? "a TXT record is there, but it is not a DKIM key"
                                                : "a DKIM key is there, but not this one: publish the value shown (all of it)")
        case .spf:
            let spf = found.filter { $0.lowercased().hasPrefix("v=spf1") }
            guard !spf.isEmpty else { return verdict(.missing, "no SPF record (v=spf1) at \(record.name)", spf) }
            guard spf.count == 1 else {
                return verdict(.wrong, "\(spf.count) SPF records: receivers treat that as an error (RFC 7208 §4.5); merge them into one", spf)
            }
            let wanted = record.value.split(separator: " ").dropFirst().first.map { String($0).lowercased() } ?? ""
            let terms = spf[0].lowercased().split(separator: " ").map { $0.hasPrefix("+") ? String($0.dropFirst()) : String($0) }
            if terms.contains(wanted) { return verdict(.found, "names \(wanted)", spf) }
            return verdict(.wrong, "an SPF record is there but does not name \(wanted); add it (unless the relay is covered another way)", spf)
        case .dmarc:
            let dmarc = found.filter { $0.lowercased().hasPrefix("v=dmarc1") }
            if dmarc.count > 1 { return verdict(.wrong, "\(dmarc.count) DMARC records: receivers ignore all of them (RFC 7489 §6.6.3)", dmarc) }
            if let record = dmarc.first {
                guard let policy = tag("p", in: record) else { return verdict(.wrong, "a DMARC record without p=: receivers ignore it", dmarc) }
                return verdict(.found, "policy p=\(policy)", dmarc)
            }
            let parent = inherited.filter { $0.lowercased().hasPrefix("v=dmarc1") }
            if parent.count == 1, let policy = tag("p", in: parent[0]) {
                return verdict(.found, "inherited from the organisational domain's record (p=\(tag("sp", in: parent[0]) ?? policy))", parent)
            }
            return verdict(.missing, "no DMARC record (v=DMARC1) at \(record.name)", dmarc)
        case .bounceMX:
            guard !found.isEmpty else { return verdict(.missing, "no MX record at \(record.name)") }
            let wanted = record.value.split(separator: " ").last.map { String($0).lowercased() } ?? ""
            let hosts = found.map { ($0.split(separator: " ").last.map(String.init) ?? $0).lowercased() }
            if hosts.contains(wanted) { return verdict(.found, "mail for \(record.name) goes to \(wanted)") }
            return verdict(.wrong, "mail for \(record.name) goes to \(hosts.joined(separator: ", ")), not to \(wanted)")
        }
    }

    /// The value of tag `name` in a `tag=value; …` record (DKIM, DMARC), whitespace removed.
    public static func tag(_ name: String, in record: String) -> String? {
        for part in record.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            return pair[1].filter { !$0.isWhitespace }
        }
        return nil
    }

    // MARK: - Alignment

    /// Two-label public suffixes under which organisations register (example.co.uk): a
    /// short list in place of the whole Public Suffix List that RFC 7489 §3.2 names, so the
    /// organisational domain of most addresses comes out right; a domain under another such
    /// suffix is taken as one label too short (stricter, never looser).
    static let twoLabelSuffixes: Set<String> = [
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "com.au", "net.au", "org.au", "co.nz", "org.nz", "co.jp", "ne.jp", "or.jp",
        "com.br", "com.cn", "com.mx", "co.in", "co.za", "com.sg", "com.tr", "co.kr", "com.ar", "com.tw", "com.hk", "co.il",
    ]

    /// The organisational domain of `domain`: its registered name (example.com for
    /// news.example.com, example.co.uk for news.example.co.uk).
    public static func organizationalDomain(_ domain: String) -> String {
        let labels = domain.lowercased().split(separator: ".")
        guard labels.count > 2 else { return labels.joined(separator: ".") }
        let lastTwo = labels.suffix(2).joined(separator: ".")
        return labels.suffix(twoLabelSuffixes.contains(lastTwo) ? 3 : 2).joined(separator: ".")
    }

    /// DMARC's relaxed alignment (RFC 7489 §3.1): the same organisational domain.
    public static func aligned(_ a: String, _ b: String) -> Bool {
        organizationalDomain(a) == organizationalDomain(b)
    }
}
