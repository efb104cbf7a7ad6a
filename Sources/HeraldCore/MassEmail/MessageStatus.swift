/// Where one message of a mass email is on its way out.
public enum MessageStatus: String, Sendable, CaseIterable, Codable {
    /// Waiting for a worker.
    case queued
    /// Claimed by a worker, being rendered and handed to SMTP.
    case sending
    /// The server accepted it (250 after the data).
    case sent
    /// A temporary failure (4xx): tried again at `next_attempt_at`.
    case deferred
    /// The data went out and the connection was lost before the server's reply (RFC 5321
    /// §3.8): most likely delivered, but no server said so. Tried again at `next_attempt_at`
    /// until one accepts it; counted apart, never as sent.
    case uncertain
    /// Gave up: temporary failures past the retry limit, or it could not be built.
    case failed
    /// The server refused it for good (5xx): a hard bounce.
    case bounced
    /// Not in an A/B test's share: waits for the test's winner, then is queued with it.
    case held

    /// Not yet decided: a mass email with such messages is still sending.
    public var isPending: Bool { self == .queued || self == .sending || self == .deferred || self == .uncertain || self == .held }

    /// What a Stop leaves unsent for good: every pending status but `uncertain`, whose data may
    /// have been delivered and which stays counted apart.
    public static let unsentWhenStopped: Set<MessageStatus> = [.queued, .sending, .deferred, .held]
}

/// Where the addresses of a module's records come from: its own email field, or (for deals)
/// the email of the record a lookup field names.
public enum RecipientAddressSource: Sendable, Hashable {
    case own(email: Field, optOut: Field?)
    case lookup(Field, target: Module, email: Field, optOut: Field?)

    /// How `module`'s records are reached by email, given the other modules (for lookups);
    /// nil when they cannot be.
    public static func of(_ module: Module, among modules: [Module]) -> RecipientAddressSource? {
        if let email = module.emailField { return .own(email: email, optOut: module.optOutField) }
        for field in module.fields where field.type == .lookup {
            if let target = modules.first(where: { $0.apiName == field.lookupModule }), let email = target.emailField {
                return .lookup(field, target: target, email: email, optOut: target.optOutField)
            }
        }
        return nil
    }

    /// Why `module`'s records cannot be mailed (a mass email's failure, a refused form).
    public static func unreachable(_ module: Module) -> String {
        "\(module.pluralLabel) have no email field, nor a lookup to a module that has one"
    }
}
