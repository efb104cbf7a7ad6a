/// An address in a message header, with an optional display name (RFC 5322 §3.4).
///
/// ```swift
/// MailAddress("ann@example.org", name: "Ann Émile")   // =?UTF-8?B?…?= <ann@example.org>
/// ```
public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    /// The addr-spec, ASCII (use punycode for international domains).
    public var address: String
    /// The display name, any Unicode text.
    public var name: String?

    public init(_ address: String, name: String? = nil) {
        self.address = address
        self.name = name
    }

    /// Reads an address as people write it: `zoe@example.com`, `<zoe@example.com>`,
    /// `Zoë Sender <zoe@example.com>` or `"Sender, Zoë" <zoe@example.com>` (RFC 5322 §3.4
    /// name-addr, the display name any Unicode text; it is RFC 2047-encoded when rendered).
    ///
    /// - Throws: ``MailError`` (`invalidAddress`) naming `field` when there is no valid ASCII
    ///   address, or the name holds a line break.
    public init(parsing text: String, field: String = "address") throws(MailError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.lastIndex(of: "<") else {
            self = try MailAddress(trimmed).validated(field: field)
            return
        }
        guard trimmed.hasSuffix(">") else {
            throw MailError(.invalidAddress, "\(field): '\(text.prefix(80))' has a '<' without the closing '>'")
        }
        let address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]).trimmingCharacters(in: .whitespaces)
        var name = String(trimmed[..<open]).trimmingCharacters(in: .whitespaces)
        if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") {
            name = String(name.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
        }
        self = try MailAddress(address, name: name.isEmpty ? nil : name).validated(field: field)
    }

    /// The domain after the last `@`.
    public var domain: Substring {
        address.lastIndex(of: "@").map { address[address.index(after: $0)...] } ?? ""
    }

    public var description: String { name.map { "\($0) <\(address)>" } ?? address }

    /// Bytes an address may not hold besides controls, space and non-ASCII.
    private static let excluded = Array("<>,\"()".utf8)

    func validated(field: String) throws(MailError) -> MailAddress {
        let bad = address.utf8.contains { byte in
            byte <= 32 || byte >= 127 || Self.excluded.contains(byte)
        }
        // On bytes: `lastIndex(of:)` on the String walks Characters, for every message's From and To.
        guard !bad, let at = address.utf8.lastIndex(of: UInt8(ascii: "@")), at != address.utf8.startIndex,
              address.utf8.index(after: at) != address.utf8.endIndex else {
            throw MailError(.invalidAddress, "\(field): '\(address.prefix(80))' is not a valid ASCII address")
        }
        if let name { try HeaderEncoding.checkValue(name, field: field) }
        return self
    }

    /// The header form: the bare address, or `phrase <address>` where the phrase is an
    /// atom sequence, a quoted string, or RFC 2047 encoded-words (§5(3): words in a phrase).
    func headerTokens() -> [String] {
        guard let name, !name.isEmpty else { return [address] }
        var tokens: [String]
        if name.utf8.allSatisfy({ $0 >= 32 && $0 < 127 }) {
            if name.utf8.allSatisfy({ HeaderEncoding.isAtext($0) || $0 == 32 }) && !name.hasPrefix(" ") && !name.containsBytes("  ") {
                tokens = name.utf8.split(separator: 32).map { String(decoding: $0, as: UTF8.self) }
            } else {
                let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                tokens = ["\"\(escaped)\""]
            }
        } else {
            tokens = HeaderEncoding.encodedWords(name)
        }
        tokens.append("<\(address)>")
        return tokens
    }
}

import Foundation
