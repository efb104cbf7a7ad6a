import Crypto
import Foundation

/// The Message-ID of every message Herald sends: `herald.<mass email>.<step>.<code>@<domain>`.
/// Stable (the same recipient's message has the same id however often it is built, so a
/// retry is recognisably the same message) and keyed: `code` is 16 hex digits of an
/// HMAC-SHA256, under the server's secret, of the mass email, the step and the address.
/// Mass email ids are sequential and addresses are known, so an unkeyed hash would let
/// anyone who can reach the inbound listener forge a bounce or a reply for any recipient;
/// this one names a message only to whoever holds the secret, or received it.
public struct HeraldMessageID: Sendable, Hashable {
    public var massEmail: Int64
    public var step: Int
    /// 16 lower-case hex digits.
    public var code: String

    /// The id (without angle brackets) of the message of `massEmail`'s `step` to `address`,
    /// at `domain` (the sender's).
    public static func make(massEmail: Int64, step: Int, address: String, domain: String, signer: MessageTokenSigner) -> String {
        "herald.\(massEmail).\(step).\(code(massEmail: massEmail, step: step, address: address, signer: signer))@\(domain)"
    }

    /// Reads one of Herald's Message-IDs (angle brackets or not); nil for anyone else's.
    public init?(parsing text: String) {
        var id = Substring(text.trimmingCharacters(in: .whitespaces))
        if id.hasPrefix("<") { id = id.dropFirst() }
        if id.hasSuffix(">") { id = id.dropLast() }
        guard let at = id.firstIndex(of: "@") else { return nil }
        let parts = id[..<at].split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "herald", let massEmail = Int64(parts[1]), let step = Int(parts[2]),
              parts[3].utf8.count == 16, parts[3].allSatisfy(\.isHexDigit) else { return nil }
        self.massEmail = massEmail
        self.step = step
        self.code = parts[3].lowercased()
    }

    /// Whether this id is that of the message to `address`.
    public func names(_ address: String, signer: MessageTokenSigner) -> Bool {
        Self.code(massEmail: massEmail, step: step, address: address, signer: signer) == code
    }

    static func code(massEmail: Int64, step: Int, address: String, signer: MessageTokenSigner) -> String {
        let mac = signer.code(for: Array("message-id\u{0}\(massEmail)\u{0}\(step)\u{0}\(address.lowercased())".utf8))
        let hex = Array("0123456789abcdef".utf8)
        var digits: [UInt8] = []
        digits.reserveCapacity(16)
        for byte in mac.prefix(8) {
            digits.append(hex[Int(byte >> 4)])
            digits.append(hex[Int(byte & 15)])
        }
        return String(decoding: digits, as: UTF8.self)
    }
}
