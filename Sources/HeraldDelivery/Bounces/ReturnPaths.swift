import HeraldStore

/// VERP (variable envelope return path) addresses: each message's envelope sender is
/// `bounce+TOKEN@bounce-domain`, where the token is the message's signed ``MessageToken`` of
/// purpose `.bounce`, so a bounce names the message it is about, whatever its text says.
///
/// ```swift
/// let paths = ReturnPaths(domain: "bounces.example.com", signer: signer)
/// paths.bounceAddress(for: 42)                       // "bounce+ae…q@bounces.example.com"
/// paths.message(addressedTo: "BOUNCE+AE…Q@bounces.example.com")   // .bounce(42)
/// ```
public struct ReturnPaths: Sendable {
    /// What a recipient address at the bounce domain stands for.
    public enum Target: Sendable, Hashable {
        /// `bounce+TOKEN`: the bounce of message `id`.
        case bounce(Int64)
        /// `reply+TOKEN`: a reply to message `id` (the tracked Reply-To).
        case reply(Int64)
        /// `unsubscribe+TOKEN`: the `mailto:` of message `id`'s `List-Unsubscribe` (RFC 2369).
        case unsubscribe(Int64)
        /// `bounce+`, `reply+` or `unsubscribe+` with a token that is not ours (forged, altered, or signed
        /// under another secret).
        case badToken
        /// Any other local part at the bounce domain: a reply matched by its headers, if at all.
        case other
    }

    public let domain: String
    let signer: MessageTokenSigner
    /// "@" and the domain, made once: every message's return path ends with it.
    private let atDomain: String

    public init(domain: String, signer: MessageTokenSigner) {
        self.domain = domain.lowercased()
        self.signer = signer
        self.atDomain = "@" + self.domain
    }

    public func bounceAddress(for messageID: Int64) -> String {
        signer.sign(MessageToken(.bounce, message: messageID), after: "bounce+", before: atDomain)
    }

    /// The tracked reply address; the token is the same as the bounce address's (it names the
    /// message), the local part says which it is.
    public func replyAddress(for messageID: Int64) -> String {
        signer.sign(MessageToken(.bounce, message: messageID), after: "reply+", before: atDomain)
    }

    /// Whether `address` is at the bounce domain (case-insensitive).
    public func isLocal(_ address: String) -> Bool {
        guard let at = address.lastIndex(of: "@") else { return false }
        return address[address.index(after: at)...].lowercased() == domain
    }

    /// What `address` stands for; nil when it is not at the bounce domain.
    public func target(of address: String) -> Target? {
        guard isLocal(address), let at = address.lastIndex(of: "@") else { return nil }
        let local = address[..<at].lowercased()
        for (prefix, purpose, make) in [("bounce+", MessageToken.Purpose.bounce, Target.bounce), ("reply+", .bounce, Target.reply),
                                        ("unsubscribe+", .unsubscribe, Target.unsubscribe)] where local.hasPrefix(prefix) {
            guard let token = signer.verify(local.dropFirst(prefix.count)), token.purpose == purpose else { return .badToken }
            return make(token.messageID)
        }
        return .other
    }
}

/// Where the bounce domain comes from: `--bounce-domain` (or `HERALD_BOUNCE_DOMAIN`) wins over
/// the settings page; with neither, messages keep the sender's address as their return path.
public struct ReturnPathSource: Sendable {
    /// From the command line; the settings page cannot change it.
    public let override: String?
    let settings: SettingsStore
    let signer: MessageTokenSigner

    /// - Parameter signer: the server's token signer (``EngagementLinks/signer``): the secret
    ///   never changes once made, so one signer serves every batch.
    public init(override: String?, settings: SettingsStore, signer: MessageTokenSigner) {
        self.override = override.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        self.settings = settings
        self.signer = signer
    }

    public func domain() async throws -> String? {
        if let override { return override }
        return try await settings.bounceDomain()
    }

    /// The return paths to use now; nil when no bounce domain is configured.
    public func current() async throws -> ReturnPaths? {
        guard let domain = try await domain() else { return nil }
        return ReturnPaths(domain: domain, signer: signer)
    }
}

extension ReturnPaths {
    /// Why `domain` cannot be a bounce domain, nil when it can: a DNS name of letters, digits
    /// and hyphens, with at least one dot (RFC 1035 §2.3.1).
    public static func problem(withDomain domain: String) -> String? {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard domain.utf8.count <= 253, labels.count >= 2 else { return "'\(domain.prefix(80))' is not a domain name (like bounces.example.com)" }
        for label in labels {
            guard (1...63).contains(label.utf8.count), !label.hasPrefix("-"), !label.hasSuffix("-"),
                  label.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" })
            else { return "'\(domain.prefix(80))' is not a domain name: '\(label.prefix(63))' is not a DNS label" }
        }
        return nil
    }
}
