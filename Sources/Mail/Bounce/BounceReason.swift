/// Why a message to one recipient failed, read from the enhanced status code (RFC 3463) and
/// the remote server's words: what an operator acts on. An unknown address is dropped from the
/// list at once; a refusal by the receiver (a block list, a spam filter, DMARC) says nothing
/// about the address and everything about how we send, so it must never suppress anyone.
///
/// ```swift
/// BounceReason.classify(status: "5.0.0", diagnostic: "550 5.1.1 <ann@example.org>: user unknown")  // .userUnknown
/// BounceReason.classify(status: "5.7.1", diagnostic: "554 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org")  // .blocked
/// ```
///
/// The raw values are stable: they are stored and shown in the API.
public enum BounceReason: String, Sendable, CaseIterable, Hashable {
    /// The mailbox does not exist (X.1.1, "user unknown", "no such user").
    case userUnknown = "user_unknown"
    /// The domain does not exist or takes no mail (X.1.2, null MX, "host not found").
    case hostUnknown = "host_unknown"
    /// The mailbox is over its quota (X.2.2).
    case mailboxFull = "mailbox_full"
    /// The message is larger than the receiver takes (X.2.3, X.3.4).
    case messageTooLarge = "message_too_large"
    /// The sending system gave up after retrying for its queue lifetime (X.4.7).
    case expired
    /// The sending IP, relay or domain is on a block list or has a poor reputation.
    case blocked
    /// The receiver's filter took the content for spam (or a virus).
    case spam
    /// The receiver's own rules refused the message (relaying, attachments, allowed senders).
    case policy
    /// SPF, DKIM or DMARC did not pass (X.7.20–X.7.27).
    case authentication
    /// The receiver is throttling us: too many messages, connections or recipients at once.
    case rateLimited = "rate_limited"
    /// The mailbox exists but is disabled, suspended or inactive (X.2.1).
    case accountSuspended = "account_suspended"
    /// The mailbox moved and forwards nothing (X.1.6).
    case hasMoved = "has_moved"
    /// The receiver could not be reached: time-outs, refused connections, DNS, loops.
    case networkError = "network_error"
    /// Nothing in the status or the words says more.
    case other

    /// A reason about the address itself: a hard bounce for one of these suppresses the
    /// address at once, since sending again can only fail again and hurts our reputation.
    public var isAddressLevel: Bool {
        switch self {
        case .userUnknown, .hostUnknown, .hasMoved, .accountSuspended: true
        default: false
        }
    }

    /// The receiver refused us rather than the address: never a reason to suppress anyone,
    /// shown as "refused by the receiver" with ``likelyFix``, because the cure is on our side.
    public var isReceiverRefusal: Bool {
        switch self {
        case .blocked, .spam, .policy, .authentication: true
        default: false
        }
    }

    /// A short phrase for people, as in a list of bounces.
    public var label: String {
        switch self {
        case .userUnknown: "Address does not exist"
        case .hostUnknown: "Domain does not exist or takes no mail"
        case .mailboxFull: "Mailbox full"
        case .messageTooLarge: "Message too large"
        case .expired: "Gave up after retrying"
        case .blocked: "Refused by the receiver: sender blocked or poor reputation"
        case .spam: "Refused by the receiver: taken for spam"
        case .policy: "Refused by the receiver: its policy"
        case .authentication: "Refused by the receiver: SPF, DKIM or DMARC failed"
        case .rateLimited: "Rate limited by the receiver"
        case .accountSuspended: "Account disabled or inactive"
        case .hasMoved: "Address has moved"
        case .networkError: "Receiver unreachable (network or DNS)"
        case .other: "Other failure"
        }
    }

    /// What usually cures a refusal by the receiver (or a message too large, or throttling);
    /// nil for the other reasons, where there is nothing to fix on our side (the address is gone, or the failure passes by itself).
    public var likelyFix: String? {
        switch self {
        case .authentication:
            "Publish SPF and DKIM for the From domain and align them (Admin → Sending domains)"
        case .blocked:
            "The sending IP or relay is on a block list or has a poor reputation: look up the list the reply names, ask to be delisted, or send through a relay with a good reputation"
        case .spam:
            "The receiver's filter took the content for spam: review the wording and links, send only to people who asked for it, and keep unsubscribing easy"
        case .policy:
            "The receiver's own rules refused the message (relaying, attachments, accepted senders): the reply names the rule; the recipient's administrator may have to allow the sender"
        case .messageTooLarge:
            "Make the message smaller: link to large files rather than attaching them"
        case .rateLimited:
            "The receiver takes mail from us more slowly: lower the sender's messages per minute, or spread the mass email over a longer time"
        default:
            nil
        }
    }

    /// The reason for a status and the remote server's words. Pure, so that it serves a DSN's
    /// `Status`/`Diagnostic-Code` and an SMTP reply at send time alike.
    ///
    /// - Parameters:
    ///   - status: the enhanced status code (`5.1.1`), when there is one.
    ///   - diagnostic: the reply text with its codes (`550 5.1.1 <ann@example.org>: user unknown`).
    ///
    /// A code in the diagnostic more precise than `status` is preferred (`Status: 5.0.0` with
    /// `550 5.1.1 user unknown` is ``userUnknown``). A few codes decide alone; otherwise the words
    /// of well-known servers decide, then the code, then weaker words, then the code's class.
    /// See ``BounceRules`` for the table.
    public static func classify(status: String?, diagnostic: String?) -> BounceReason {
        BounceRules.classify(status: status, diagnostic: diagnostic)
    }
}

extension BounceReport.Recipient {
    /// Why this recipient's delivery failed. A failure the MTA gave up on while the cause was
    /// still a transient one (`Action: failed` with a 4.x.x status and nothing more precise
    /// than a network error or throttling) is ``BounceReason/expired``: it retried until its
    /// queue lifetime ran out; a delayed one is never expired. Meaningless when ``severity`` is
    /// `.success`.
    public var reason: BounceReason {
        let reason = BounceReason.classify(status: status, diagnostic: diagnostic)
        if action == .failed, status?.first == "4", [.other, .networkError, .rateLimited].contains(reason) {
            return .expired
        }
        // A delay is no expiry yet (Exchange writes 4.4.7 on its delay notices): the queue is
        // still retrying a receiver it has not reached.
        if action == .delayed, reason == .expired { return .networkError }
        return reason
    }
}

/// The rules behind ``BounceReason/classify(status:diagnostic:)``, in one place: what codes say,
/// and which words of which servers mean what. Learned from how mature bounce classifiers read
/// bounces (sisimai's reason and remote-host rules, the IANA enhanced status code registry,
/// Postfix, Exim and the big providers' published error pages); none of their data is copied.
enum BounceRules {
    /// A phrase to look for in the lower-cased diagnostic, white space collapsed to one space
    /// (see ``PhraseTable`` for `*` and word starts).
    typealias Phrase = String

    /// Codes that decide alone, whatever the words: each names its cause precisely, and the
    /// words around them (Gmail explains a DMARC rejection with "spam" and "blocked") only
    /// repeat it. Keyed by `subject.detail`; the class does not change the cause.
    static let decisiveCodes: [String: BounceReason] = [
        // X.1.6: moved, no forwarding address; X.7.17/18: the mailbox's or domain's owner changed (RFC 7293).
        "1.6": .hasMoved, "7.17": .hasMoved, "7.18": .hasMoved,
        // X.2.3 per-mailbox and X.3.4 per-system size limits; X.7.16 too big for its priority (RFC 6710).
        "2.3": .messageTooLarge, "3.4": .messageTooLarge, "7.16": .messageTooLarge,
        // X.4.7: delivery time expired. If the MTA had known the cause it should have said so.
        "4.7": .expired,
        // X.7.20–X.7.22 DKIM (RFC 7372), X.7.23/24 SPF, X.7.25 reverse DNS, X.7.26 several checks,
        // X.7.27 sender null MX (RFC 7505), X.7.29 ARC: all about proving who sends.
        "7.20": .authentication, "7.21": .authentication, "7.22": .authentication, "7.23": .authentication,
        "7.24": .authentication, "7.25": .authentication, "7.26": .authentication, "7.27": .authentication,
        "7.29": .authentication,
        // Gmail's bulk-sender rules: 7.30 DKIM, 7.32 From not aligned, 7.40 no DMARC record.
        "7.30": .authentication, "7.32": .authentication, "7.40": .authentication,
        // Exchange Online's three-digit details are precise and documented:
        // 5.7.509 DMARC, 5.7.515 authentication level; 5.7.501–503, 511, 513, 606–649, 700–749
        // banned or blocked senders and tenants; 5.7.508 and 5.2.121/122 rate limits;
        // 5.4.300/316 expired in the queue.
        "7.509": .authentication, "7.515": .authentication,
        "7.501": .blocked, "7.502": .blocked, "7.503": .blocked, "7.511": .blocked, "7.513": .blocked,
        "7.508": .rateLimited, "2.121": .rateLimited, "2.122": .rateLimited,
        "4.300": .expired, "4.316": .expired,
    ]

    /// Codes that decide when no well-known words say otherwise; many servers use X.1.1 for a
    /// disabled account or X.2.2 for a sending quota, and say so in words.
    static let codes: [String: BounceReason] = [
        // X.1.1 bad mailbox; X.1.10 null MX per RFC 7505, but Exchange Online sends 5.1.10 for
        // RecipientNotFound, which is by far the commoner; X.1.0 and X.1.3 (bad syntax) also
        // name an address that can never work (Cisco IronPort: "#5.1.0 Address rejected").
        "1.1": .userUnknown, "1.10": .userUnknown, "1.0": .userUnknown, "1.3": .userUnknown,
        // X.1.2 bad destination system; 5.4.4 unable to route (adjusted to a network error for 4.x.x).
        "1.2": .hostUnknown, "4.4": .hostUnknown,
        // X.2.1 mailbox disabled; X.7.13 user account disabled (RFC 7293).
        "2.1": .accountSuspended, "7.13": .accountSuspended,
        "2.2": .mailboxFull,
        // X.4.x: no answer, bad connection, directory (DNS) failure, congestion, loops.
        "4.0": .networkError, "4.1": .networkError, "4.2": .networkError, "4.3": .networkError,
        "4.5": .networkError, "4.6": .networkError, "4.8": .networkError,
        // X.5.3 too many recipients: split the transaction and come back.
        "5.3": .rateLimited,
        // X.7.28: a flood of similar abusive messages (RFC 8689 era registry).
        "7.28": .spam,
    ]

    /// Words that decide before the code (unless the code is decisive). Groups are tried in
    /// order and the first group with a phrase in the text wins, so each group comes before
    /// the groups whose words its messages also contain.
    static let phrases: [(BounceReason, [Phrase])] = [
        // Lotus Domino says an unknown user is "not listed in" its directory: no block list.
        (.userUnknown, ["not listed in public name", "not listed in domino directory", "not listed in the directory"]),

        // SPF, DKIM, DMARC first: their rejections also say "spam", "blocked" or "rate limited"
        // (Gmail 5.7.26 "…not accepted due to domain's DMARC policy…", Yahoo "…sender is
        // unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM",
        // Exchange Online 5.7.509), and the cure is ours: publish and align the records.
        (.authentication, [
            "dmarc", "spf", "dkim", "sender policy framework", "domainkeys", "unauthenticated email",
            "is unauthenticated", "sender is unauthenticated", "authentication checks", "authentication information",
            "authentication requirements", "required authentication level", "authenticate with", "not aligned with",
            "reverse dns", "ptr record", "no ptr", "rdns",
        ]),

        // Our own sender address refused (Postfix "Sender address rejected", Exim "Sender verify
        // failed", whose lines also say "No Such User Here" of our return path): the receiver's
        // rule about senders, never a fault of the recipient's address.
        (.policy, [
            "sender address rejected", "sender verify failed", "verification failed for", "sender rejected", "sender denied",
            "sender blocked", "sender domain does not exist", "sender domain must exist", "sender domain not found",
            "domain of sender address",
        ]),

        // Throttling: the receiver will take the mail later, slower. Before block lists, since
        // Gmail and Outlook explain a rate limit with "your IP address" and "reputation";
        // Yahoo's TSS04 "temporarily deferred due to unexpected volume or user complaints".
        (.rateLimited, [
            "rate limit", "rate-limit", "ratelimit", "rate limited", "too many connections", "too many messages",
            "too many recipients", "too many concurrent", "too many sessions", "try again slower", "slow down",
            "receiving mail too quickly", "receiving mail at a rate", "sending too fast", "too fast", "throttl",
            "deferred due to", "temporarily deferred", "exceeded the maximum number of connections",
            "submission quota", "per hour message receive limit", "exceeded their limit", "exceeded permitted limits",
            "greylist", "graylist", "grey-list", "gray-list", "max message per connection", "recipient thread limit",
            "frequency limit",
        ]),

        // Block lists and reputation: about the sending IP or domain, not this message or this
        // address (Spamhaus, Spamcop, Barracuda, SORBS; Outlook S3150 "part of their network is
        // on our block list"; Yahoo BL21/BL23 and TSS09; Proofpoint "ipcheck"). Before spam:
        // "blocked using zen.spamhaus.org" names a list, not the content.
        (.blocked, [
            "spamhaus", "spamcop", "barracudacentral", "barracuda reputation", "sorbs", "abuseat", "uceprotect",
            "blocked using", "block list", "blocklist", "blacklist", "denylist", "deny list",
            "dnsbl", "rbl", "is listed", "are listed", "ip is listed", "listed at", "listed on", "listed in the",
            "reputation", "banned sending ip", "banned sender", "access denied, banned", "bad ip", "your ip",
            "sending ip", "sender ip", "ip address", "client host", "dynamic ip", "dynamic/zombied",
            "not currently accepting mail from your", "permanently deferred", "too many spams", "ipcheck",
            "blocked - see", "refused - see", "part of their network", "confirm this mail server", "[bl",
        ]),

        // The recipient's mailbox is over quota. Before size limits, since "mailbox size limit
        // exceeded" (Yandex, Exchange) is a full mailbox, not a big message.
        (.mailboxFull, [
            "mailbox full", "mailbox is full", "mailbox*full", "full mailbox", "over quota", "overquota", "quota exceeded",
            "quota*exceeded", "exceeded*quota", "exceeds*quota", "over*quota", "out of storage", "storage space",
            "exceeded storage allocation", "mailbox size limit", "mailbox exceeds", "mailbox would exceed",
            "mailfolder is full", "disk quota", "not enough space", "insufficient space", "boite du destinataire pleine",
            "boîte du destinataire pleine", "postfach voll", "postfach ist voll", "buzón lleno", "casella piena",
            "ящик переполнен",
        ]),

        (.messageTooLarge, [
            "message too large", "message too big", "message is too large", "message is too big", "too big for",
            "too large for", "message size exceeds", "size exceeds", "size limit", "message length exceeds",
            "message file too big", "maximum message size", "max message size", "exceeds the maximum size",
            "taille limite", "zu groß", "demasiado grande",
        ]),

        // Moved without forwarding (also "has been replaced by" from Japanese carriers).
        (.hasMoved, ["has moved", "have moved", "has been moved to", "has been replaced by", "no longer in use", "changed address", "address has changed"]),

        // The mailbox exists but takes nothing: disabled, suspended, inactive, frozen (Gmail 5.2.1
        // "…is disabled"/"…is inactive", Yahoo/AOL "This mailbox is disabled (554.30)", QQ "is a
        // deactivated mailbox", NetEase "User suspended"). Not a bare "suspended": Postfix says
        // "delivery temporarily suspended" of the queue.
        (.accountSuspended, [
            "account*disabled", "mailbox*disabled", "user*disabled", "recipient*disabled", "address*disabled",
            "disabled account", "disabled mailbox", "account*suspended", "mailbox*suspended", "user suspended",
            "recipient suspend", "suspended account", "inactive account", "account*inactive", "mailbox*inactive",
            "user*inactive", "recipient*inactive", "address*inactive", "deactivated", "account*not active", "user not active",
            "mailbox*not active", "no longer active", "is no longer valid", "account*locked", "mailbox is frozen",
            "archived recipient", "user is terminated",
            "account expired", "account has expired",
        ]),

        // The domain part: no such domain, no MX, null MX (RFC 7505). Before unknown users,
        // since "host not found" contains "not found". A 4.x.x here is a DNS hiccup (adjusted below).
        (.hostUnknown, [
            "host unknown", "unknown host", "host not found", "domain not found", "no such domain", "domain does not exist",
            "domain doesn't exist", "unknown domain", "domain is not reachable", "name or service not known", "nxdomain",
            "no mx", "null mx", "domain does not accept mail", "unrouteable address", "unroutable address",
            "host or domain name not found", "domain must exist", "domain mentioned in email address is unknown",
            "couldn't find any host", "could not find any host",
        ]),

        // The local part: the words of Postfix, Sendmail, Exim, qmail, Exchange ("mailbox
        // unavailable", "RecipientNotFound", "Recipient address rejected: Access denied"), Gmail,
        // Yahoo ("This user doesn't have a yahoo.com account"), iCloud, Zimbra, Mimecast
        // ("Invalid Recipient"), Barracuda, IronPort, GMX/Web.de, Orange ("destinataire invalide"),
        // Yandex ("No such user!"), Mail.ru ("user not found"), QQ ("Mailbox not found").
        (.userUnknown, [
            "user unknown", "unknown user", "unknown recipient", "recipient unknown", "unknown mailbox", "mailbox unknown",
            "address unknown", "unknown address", "unknown local part", "unknown e-mail address", "unknown email address",
            "no such user", "no such mailbox", "no such recipient", "no such address", "no such person", "no such account",
            "no mailbox", "no account", "not a valid mailbox", "not a valid recipient", "not a valid user", "not a known user",
            "invalid recipient", "invalid mailbox", "invalid address", "invalid user", "destinataire invalide",
            "bad recipient", "bad destination", "bad address", "does not exist", "doesn't exist", "does not exists",
            "not exist", "user not found", "recipient not found", "recipientnotfound", "mailbox not found",
            "address not found", "account not found", "recipient not ok", "mailbox unavailable", "mailbox is unavailable",
            "mailbox not available", "recipient address rejected: access denied", "recipient address rejected: user",
            "recipient address rejected: unknown", "recipient address rejected: invalid", "recipient rejected",
            "address rejected", "user doesn't have a", "this user doesn't have", "no longer accepts mail",
            "utilisateur inconnu", "destinataire inconnu", "n'existe pas", "benutzer unbekannt", "empfänger unbekannt",
            "unbekannt", "existiert nicht", "usuario desconocido", "no existe", "utente sconosciuto", "non esiste",
            "пользователь не найден", "нет такого пользователя",
        ]),

        // The content: spam and virus filters (SpamAssassin, Gmail "likely unsolicited mail",
        // Yandex "under suspicion of SPAM", Mail.ru "spam message rejected", QQ "Mail content
        // denied"). After block lists and authentication, whose messages also say "spam".
        (.spam, [
            "spam", "antispam", "anti-spam", "unsolicited", "bulk mail", "bulk email", "junk", "content rejected",
            "message content", "content denied", "content filter", "unacceptable content", "rejected due to content",
            "virus", "malware", "infected", "phishing", "uribl", "surbl", "blacklisted url", "suspicious",
        ]),

        // The sending side gave up: Exim "retry timeout exceeded", Exchange "message expired".
        // After the reasons above, whose bounces end with qmail's "Giving up on …".
        (.expired, [
            "delivery time expired", "message expired", "queue expired", "delivery expired", "expired after",
            "retry timeout exceeded", "retry time not reached", "too long in queue", "in the queue too long",
            "in queue too long", "could not be delivered for", "has been delayed for", "giving up", "gave up",
        ]),

        // Could not talk to the receiver at all: time-outs, refusals, loops, DNS and TLS failures.
        (.networkError, [
            "timed out", "timeout", "time out", "connection refused", "connection reset", "connection closed",
            "connection dropped", "lost connection", "no route to host", "network is unreachable", "host is unreachable",
            "host unreachable", "could not connect", "unable to connect", "failed to connect", "can't connect", "able to establish",
            "mail loop", "loops back to myself", "too many hops", "hop count exceeded", "routing loop", "forwarding loop",
            "name server", "nameserver", "name service", "dns", "name resolution", "starttls", "tls", "handshake",
            "certificate", "broken pipe",
        ]),

        // The receiver's own rules (Postfix "Relay access denied", Exim "administrative
        // prohibition", Mimecast and GMX "policy", iCloud CS01 "local policy", mailing lists for members only).
        (.policy, [
            "relay access denied", "relaying denied", "relay not permitted", "relaying not allowed", "not permitted to relay",
            "unable to relay", "we do not relay", "relay denied", "administrative prohibition", "policy", "prohibited",
            "attachment", "members only", "members-only", "not a member", "recipient preferences", "only accepts mail from",
            "not authorized", "unauthorized", "forbidden",
        ]),
    ]

    /// Words too common to overrule a code, used when the code says nothing definite (X.0.0,
    /// X.7.0, X.7.1, a bare 550): they still tell a block from a policy from a throttle.
    static let weakPhrases: [(BounceReason, [Phrase])] = [
        // "Message blocked" under 5.7.1 is a block of us more often than of the content.
        (.blocked, ["blocked", "block"]),
        (.rateLimited, ["too many", "try again later", "try later", "rate"]),
        (.policy, ["denied", "refused", "not allowed", "not accepted", "rejected", "restricted", "filtered", "declined"]),
    ]

    static func classify(status: String?, diagnostic: String?) -> BounceReason {
        let text = diagnostic.map(normalized) ?? []
        let given = status.flatMap { BounceText.enhancedStatus(in: $0) }.flatMap { EnhancedStatusCode(Substring($0)) }
        let said = diagnostic.flatMap { BounceText.enhancedStatus(in: $0) }.flatMap { EnhancedStatusCode(Substring($0)) }
        let code = preferred(given, said)
        let reply = diagnostic.flatMap(replyCode)
        let transient = code.map { $0.statusClass == 4 } ?? reply.map { $0 / 100 == 4 } ?? false

        var reason = decide(code: code, reply: reply, text: text)
        // A domain that "does not exist" for a while is a DNS failure that may pass.
        if transient && reason == .hostUnknown { reason = .networkError }
        return reason
    }

    static func decide(code: EnhancedStatusCode?, reply: Int?, text: [UInt8]) -> BounceReason {
        let key = code.map { "\($0.subject).\($0.detail)" }
        if let key, let reason = decisiveCodes[key] { return reason }
        // Exchange Online's ranges of three-digit details: banned IPs and tenants.
        if let code, code.subject == 7, (606...649).contains(code.detail) || (700...749).contains(code.detail) { return .blocked }
        if let reason = firstMatch(phrases, phraseTable, in: text) { return reason }
        if let key, let reason = codes[key] {
            // 5.4.4 is "unable to route" only when permanent; 4.4.4 is a routing hiccup.
            return reason == .hostUnknown && code?.statusClass == 4 ? .networkError : reason
        }
        if let reason = firstMatch(weakPhrases, weakPhraseTable, in: text) { return reason }
        // What the class and subject still say.
        switch (code?.statusClass, code?.subject) {
        case (4, 7): return .rateLimited
        case (5, 7): return .policy
        case (_, 4): return .networkError
        default: break
        }
        // RFC 5321 §4.2.2: 421 closes the channel, in practice for load or throttling.
        if reply == 421 { return .rateLimited }
        return .other
    }

    /// The code to read: the one in the diagnostic when it says more than the Status field
    /// (a subject or detail where the Status has 0), else the Status field.
    static func preferred(_ given: EnhancedStatusCode?, _ said: EnhancedStatusCode?) -> EnhancedStatusCode? {
        guard let given else { return said }
        guard let said else { return given }
        func precision(_ code: EnhancedStatusCode) -> Int { (code.subject != 0 ? 2 : 0) + (code.detail != 0 ? 1 : 0) }
        guard precision(said) > precision(given) else { return given }
        // The class stays the Status field's: it is the final outcome, the reply was one attempt.
        return EnhancedStatusCode(statusClass: given.statusClass, subject: said.subject, detail: said.detail)
    }

    /// The first SMTP reply code in a diagnostic (`550`, `smtp; 421-…`), nil when there is none.
    static func replyCode(_ text: String) -> Int? {
        let bytes = Array(text.utf8.prefix(400))
        var index = 0
        while index + 3 <= bytes.count {
            let (a, b, c) = (bytes[index], bytes[index + 1], bytes[index + 2])
            let before = index == 0 ? UInt8(ascii: " ") : bytes[index - 1]
            // A code ends the text or is followed by a space or, on continued lines, a hyphen.
            let after = index + 3 < bytes.count ? bytes[index + 3] : UInt8(ascii: " ")
            if a == UInt8(ascii: "4") || a == UInt8(ascii: "5"), isDigit(b), isDigit(c), !isDigit(before), before != UInt8(ascii: "."),
               after == UInt8(ascii: " ") || after == UInt8(ascii: "-") {
                return Int(a - 48) * 100 + Int(b - 48) * 10 + Int(c - 48)
            }
            index += 1
        }
        return nil
    }

    /// Lower case, white space runs as one space, addresses replaced by `address`, at most
    /// 4 000 bytes: the words a server puts in a reply come first, and a bound keeps
    /// classifying cheap whatever the input. An address is no word of the server's: the reply
    /// about `<dmarc@example.org>` may say no more than "user unknown".
    static func normalized(_ text: String) -> [UInt8] {
        var bytes = Array(text.prefix(4000).lowercased().utf8)
        var stripped: [UInt8] = []
        var copied = 0
        for match in BounceText.addressMatches(in: bytes) {
            stripped += bytes[copied..<match.start]
            stripped += Array("address".utf8)
            copied = match.end
        }
        if copied > 0 {
            stripped += bytes[copied...]
            bytes = stripped
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var space = false
        for byte in bytes {
            if byte == 32 || byte == 9 || byte == 10 || byte == 13 {
                space = true
                continue
            }
            if space && !out.isEmpty { out.append(32) }
            space = false
            out.append(byte)
        }
        return out
    }

    static let phraseTable = PhraseTable(phrases.map(\.1))
    static let weakPhraseTable = PhraseTable(weakPhrases.map(\.1))

    static func firstMatch(_ groups: [(BounceReason, [Phrase])], _ table: PhraseTable, in text: [UInt8]) -> BounceReason? {
        table.firstGroup(in: text).map { groups[$0].0 }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
}
