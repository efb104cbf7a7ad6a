import Foundation
import Logging
import NIOCore
import NIOPosix

/// A transport described by a URL, parsed and checked with clear errors.
///
/// - `smtp://[user:password@]host[:port][?tls=required|opportunistic|none]` — STARTTLS.
///   Port 587 by default. `tls` defaults to `required` with credentials or `ca=`, else to
///   `opportunistic`, which encrypts when the server offers STARTTLS but checks no
///   certificate (RFC 7435), and goes on in clear when it does not.
/// - `smtps://[user:password@]host[:port]` — TLS from the first byte, port 465 by default.
/// - `file:///path/to/outbox` — a folder of `.eml` files.
///
/// Further query items: `ca=/path/to/ca.pem` trusts exactly that certificate (a private CA
/// or self-signed relay), `helo=name` sets the EHLO name, `auth=xoauth2` takes the
/// password as an OAuth 2 access token, `cleartext_auth=loopback` lets a relay on this
/// machine take credentials without TLS. Percent-encode special characters in the password.
///
/// ``description`` never shows the password.
public struct TransportURL: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case smtp(SMTPClientConfiguration.Security)
        case file(path: String)
    }

    public let kind: Kind
    public let host: String
    public let port: Int
    public let credentials: SMTPClientConfiguration.Credentials?
    public let caFile: String?
    public let clientName: String?
    /// `cleartext_auth=loopback`: credentials may go without TLS to a loopback relay.
    public let allowsCleartextAuthenticationOnLoopback: Bool
    private let redacted: String

    public init(_ string: String) throws(MailError) {
        let shown = Self.redact(string)
        guard let components = URLComponents(string: string), let scheme = components.scheme?.lowercased() else {
            throw MailError(.invalidURL, "transport URL '\(shown)' is not a URL (expected smtp://, smtps:// or file://)")
        }
        redacted = shown
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name.lowercased()] = item.value ?? "" }

        if scheme == "file" {
            let path = components.path
            guard path.hasPrefix("/"), components.host?.isEmpty ?? true else {
                throw MailError(.invalidURL, "transport URL '\(shown)': a file URL needs an absolute path, as in file:///var/outbox")
            }
            kind = .file(path: path)
            host = ""
            port = 0
            credentials = nil
            caFile = nil
            clientName = nil
            allowsCleartextAuthenticationOnLoopback = false
            return
        }
        guard scheme == "smtp" || scheme == "smtps" else {
            throw MailError(.invalidURL, "transport URL '\(shown)': unknown scheme '\(scheme)' (expected smtp, smtps or file)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw MailError(.invalidURL, "transport URL '\(shown)': no host name")
        }
        if let port = components.port {
            guard (1...65535).contains(port) else {
                throw MailError(.invalidURL, "transport URL '\(shown)': port \(port) is not between 1 and 65535")
            }
            self.port = port
        } else {
            self.port = scheme == "smtps" ? 465 : 587
        }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if let user = components.user, !user.isEmpty {
            let password = components.password ?? ""
            credentials = query["auth"]?.lowercased() == "xoauth2"
                ? .oauth2(username: user, accessToken: password)
                : .password(username: user, password: password)
        } else {
            credentials = nil
        }
        if scheme == "smtps" {
            if let tls = query["tls"], tls != "implicit" {
                throw MailError(.invalidURL, "transport URL '\(shown)': smtps:// always uses TLS; drop tls=\(tls) or use smtp://")
            }
            kind = .smtp(.implicitTLS)
        } else {
            switch query["tls"]?.lowercased() {
            case nil: kind = .smtp(credentials == nil && query["ca"] == nil ? .opportunisticStartTLS : .requiredStartTLS)
            case "required": kind = .smtp(.requiredStartTLS)
            case "opportunistic":
                guard query["ca"] == nil else {
                    throw MailError(.invalidURL, "transport URL '\(shown)': tls=opportunistic checks no certificate, so ca= would do nothing; use tls=required to check the server against it")
                }
                kind = .smtp(.opportunisticStartTLS)
            case "none": kind = .smtp(.none)
            case let other?:
                throw MailError(.invalidURL, "transport URL '\(shown)': tls=\(other) is not one of required, opportunistic, none")
            }
        }
        caFile = query["ca"]
        clientName = query["helo"]
        switch query["cleartext_auth"]?.lowercased() {
        case nil:
            allowsCleartextAuthenticationOnLoopback = false
        case "loopback":
            guard SMTPClientConfiguration.isLoopback(self.host) else {
                throw MailError(.invalidURL, "transport URL '\(shown)': cleartext_auth=loopback is only for a relay on this machine (127.0.0.1, ::1 or localhost), not \(self.host)")
            }
            allowsCleartextAuthenticationOnLoopback = true
        case let other?:
            throw MailError(.invalidURL, "transport URL '\(shown)': cleartext_auth=\(other) is not allowed; the only value is loopback (credentials in clear to a relay on this machine)")
        }
    }

    public var description: String { redacted }

    /// The client configuration this URL describes; `trust` overrides `ca=` when given.
    public func clientConfiguration(trust: SMTPClientConfiguration.Trust? = nil) throws(MailError) -> SMTPClientConfiguration {
        guard case .smtp(let security) = kind else {
            throw MailError(.invalidURL, "transport URL '\(redacted)' is not an SMTP URL")
        }
        var resolvedTrust = trust ?? .systemDefault
        if trust == nil, let caFile {
            guard let pem = try? String(contentsOfFile: caFile, encoding: .utf8) else {
                throw MailError(.invalidURL, "transport URL '\(redacted)': cannot read ca=\(caFile)")
            }
            resolvedTrust = .certificatesPEM([pem])
        }
        var configuration = SMTPClientConfiguration(
            host: host, port: port, security: security, trust: resolvedTrust, credentials: credentials,
            allowsPlaintextAuthenticationOnLoopback: allowsCleartextAuthenticationOnLoopback
        )
        if let clientName { configuration.clientName = clientName }
        return configuration
    }

    /// Makes the transport. For SMTP, add the result to your `ServiceGroup` (it is a
    /// `Service`) or call ``Transport/shutdown()`` when done.
    public func makeTransport(
        trust: SMTPClientConfiguration.Trust? = nil,
        timeouts: SMTPClientConfiguration.Timeouts = SMTPClientConfiguration.Timeouts(),
        poolConfiguration: SMTPPoolConfiguration = SMTPPoolConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mail.smtp", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(MailError) -> any Transport {
        switch kind {
        case .file(let path):
            return FileTransport(directory: path)
        case .smtp:
            var configuration = try clientConfiguration(trust: trust)
            configuration.timeouts = timeouts
            return SMTPTransport(configuration: configuration, poolConfiguration: poolConfiguration, eventLoopGroup: eventLoopGroup, logger: logger)
        }
    }

    /// Replaces the password in a URL string with `***`, even when the URL is malformed.
    ///
    /// A password typed without percent-encoding may hold `/`, `?`, `#` or `@`, so the
    /// userinfo is taken to end at the last `@` that is followed by something shaped like a
    /// host (and port); when that is ambiguous (`smtp://host:25/x@y`) more is hidden, never less.
    public static func redact(_ string: String) -> String {
        guard let schemeEnd = string.range(of: "://") else { return string }
        let rest = string[schemeEnd.upperBound...]
        func looksLikeHost(after at: Substring.Index) -> Bool {
            let tail = rest[rest.index(after: at)...]
            let host = tail[..<(tail.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? tail.endIndex)]
            return !host.isEmpty && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-_:[]%".contains($0)) }
        }
        guard let at = rest.indices.last(where: { rest[$0] == "@" && looksLikeHost(after: $0) }) else {
            // An @ but nothing like a host after it (`u:pw@smtp,example.com`): hide all before it.
            guard let last = rest.lastIndex(of: "@") else { return string }
            return String(string[..<schemeEnd.upperBound]) + "***" + String(rest[last...])
        }
        let userinfo = rest[..<at]
        let user = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return String(string[..<schemeEnd.upperBound]) + user + (userinfo.contains(":") ? ":***" : "") + String(rest[at...])
    }
}
