import HeraldCore
import Synchronization

/// Herald's public URL, as recipients' mail programs reach it: set at start, or once the
/// server knows its port (`--port 0`).
public final class PublicURL: Sendable {
    private let value: Mutex<String>

    public init(_ url: String) { value = Mutex(Self.trimmed(url)) }

    /// `https://crm.example.com`, without a trailing slash.
    public var url: String { value.withLock { $0 } }

    public func set(_ url: String) { value.withLock { $0 = Self.trimmed(url) } }

    static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}

/// The addresses that a sent message carries back to Herald: its open pixel, its click
/// redirects, the hidden trap link and its unsubscribe link, each with a signed token, under
/// the public URL that recipients' mail programs can reach.
public struct EngagementLinks: Sendable {
    /// Paths under the public URL, which the web layer serves.
    public enum Path {
        public static let open = "/t/o/"
        public static let click = "/t/c/"
        public static let trap = "/t/t/"
        public static let unsubscribe = "/u/"
    }

    public let signer: MessageTokenSigner
    public let publicURL: PublicURL

    /// - Parameter publicURL: an `http` or `https` URL (checked where it is configured).
    public init(secret: String, publicURL: PublicURL) {
        self.signer = MessageTokenSigner(secret: secret)
        self.publicURL = publicURL
    }

    public func url(_ token: MessageToken) -> String {
        url(token, base: publicURL.url)
    }

    private func url(_ token: MessageToken, base: String) -> String {
        let path = switch token.purpose {
        case .open: Path.open
        case .click: Path.click
        case .trap: Path.trap
        case .unsubscribe, .bounce: Path.unsubscribe
        }
        return signer.sign(token, after: base, path)
    }

    /// The merge values of one message's tracked template: see ``LinkTracking``.
    ///
    /// - Parameter firstLink: the number the template's first tracked link has in its mass
    ///   email (an A/B test numbers its variants' links on from one another).
    public func mergeValues(message: Int64, links: Int, firstLink: Int = 0) -> [String: String] {
        let base = publicURL.url
        var values: [String: String] = [:]
        values.reserveCapacity(links + 3)
        values[LinkTracking.openName] = url(MessageToken(.open, message: message), base: base)
        values[LinkTracking.trapName] = url(MessageToken(.trap, message: message), base: base)
        values[LinkTracking.unsubscribeName] = url(MessageToken(.unsubscribe, message: message), base: base)
        for link in 0..<links {
            values[LinkTracking.clickName(link)] = url(MessageToken(.click(link: firstLink + link), message: message), base: base)
        }
        return values
    }

    /// The `List-Unsubscribe` addresses of a message: the one-click URL (RFC 8058), and a
    /// `mailto:` at the bounce domain when one is configured (the inbound listener reads it).
    ///
    /// - Parameter oneClick: the message's unsubscribe URL when the caller has it already
    ///   (its merge value from ``mergeValues(message:links:)``), so that it is not signed twice.
    public func listUnsubscribe(message: Int64, mailDomain: String?, oneClick: String? = nil) -> [String] {
        let token = MessageToken(.unsubscribe, message: message)
        var urls = [oneClick ?? url(token)]
        if let mailDomain { urls.append(signer.sign(token, after: "mailto:unsubscribe+", before: "@\(mailDomain)?subject=unsubscribe")) }
        return urls
    }
}
