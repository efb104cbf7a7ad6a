import HeraldCore
import Hummingbird
import HummingbirdAuth
import HeraldStore

/// What a browser session remembers: who is logged in, and the token that every form post must echo.
public struct WebSession: Codable, Sendable {
    public var userID: Int64
    public var csrf: String
    /// The user's session epoch when the session began; a session of an older epoch is over.
    public var epoch: Int64?
    /// What a form that worked says on the page it redirected to, once (see
    /// ``AppRequestContext/redirect(to:flash:)``). Never a secret: sessions are stored.
    public var flash: String?
    /// When the session's expiry was last moved on (see ``isDueForRenewal(at:)``).
    public var renewedAt: Int64?

    /// How long a session lasts after its last use.
    public static let idleLifetime: Duration = .seconds(12 * 3600)
    /// How often a session in use has its expiry moved on: each time is a write.
    public static let renewEvery: Int64 = 3600

    public init(for user: User) {
        self.userID = user.id
        self.csrf = Secrets.random(bytes: 24)
        self.epoch = user.sessionEpoch
        self.renewedAt = WallClock.epochSeconds()
    }

    /// Whether a session used at `now` is due to have its expiry moved on: it lasts
    /// ``idleLifetime`` from its last use, not from the login, so that a user at work is not
    /// logged out in the middle of a form (which the login would lose).
    public func isDueForRenewal(at now: Int64) -> Bool {
        now - (renewedAt ?? 0) >= WebSession.renewEvery
    }
}

/// The request context of every Herald route: the authenticated user, if any, and the session.
public struct AppRequestContext: AuthRequestContext, SessionRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The logged-in user, set by ``AuthenticationMiddleware``.
    public var identity: User?
    public let sessions: SessionContext<WebSession>
    /// True when the user came with an API token rather than a session cookie.
    public var viaToken = false
    /// The CSRF token that a streamed multipart form must carry in its `_csrf` field (see
    /// ``CSRFMiddleware``); nil when there is nothing to check.
    public var csrfInBody: String?

    /// The client's IP address (the proxy's, behind one), for throttling logins.
    public let clientAddress: String

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.identity = nil
        self.sessions = .init()
        self.clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// CSV uploads can be large; everything else is small.
    public var maxUploadSize: Int { 64 * 1024 * 1024 }

    /// The authenticated user; routes behind ``RequireUserMiddleware`` always have one.
    public func user() throws -> User {
        guard let identity else { throw HTTPError(.unauthorized) }
        return identity
    }

    /// The session's CSRF token, for forms.
    public var csrf: String { sessions.session?.csrf ?? "" }

    /// A 303 to `path`, whose page says `flash` once: the outcome of a form that worked is
    /// shown at a GET's address, so a reload shows the page again instead of posting the
    /// form again, and the message is not in the address to be shown again by a bookmark.
    func redirect(to path: String, flash: String) -> Response {
        sessions.withLockedSession { $0?.flash = flash }
        return Response.redirect(to: path, type: .normal)
    }

    /// The message a redirect left for the page now drawn, taken from the session so that it
    /// is said once.
    func takeFlash() -> String? {
        sessions.withLockedSession { data in
            guard let flash = data?.flash else { return nil }
            data?.flash = nil
            return flash
        }
    }
}
