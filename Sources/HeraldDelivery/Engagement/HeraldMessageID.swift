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
        let head = "herald.\(massEmail).\(step)."
        return withCode(massEmail: massEmail, step: step, address: address, signer: signer) { code in
            String(unsafeUninitializedCapacity: head.utf8.count + code.count + 1 + domain.utf8.count) { out in
                var at = out.put(head.utf8, at: 0)
                at = out.put(code, at: at)
                at = out.put("@".utf8, at: at)
                return out.put(domain.utf8, at: at)
            }
        }
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
        withCode(massEmail: massEmail, step: step, address: address, signer: signer) { String(decoding: $0, as: UTF8.self) }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Calls `body` with the 16 hex digits of the code, made on the stack: every message of a
    /// mass email gets one.
    private static func withCode<T>(massEmail: Int64, step: Int, address: String, signer: MessageTokenSigner,
                                    _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        // What is signed: "message-id", the mass email, the step and the lower-cased address, NUL between.
        let head = "message-id\u{0}\(massEmail)\u{0}\(step)\u{0}"
        let lowered = address.utf8.allSatisfy { $0 < 0x80 } ? address : address.lowercased()
        let length = head.utf8.count + lowered.utf8.count
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(length, 16)) { input in
            let afterHead = input.put(head.utf8, at: 0)
            let at = input.put(lowered.utf8.lazy.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, at: afterHead)
            let mac = signer.code(for: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: input[..<at])))
            // The input is spent: its first 16 bytes take the digits.
            mac.withUnsafeBytes { mac in
                for i in 0..<8 {
                    input[2 * i] = hex[Int(mac[i] >> 4)]
                    input[2 * i + 1] = hex[Int(mac[i] & 15)]
                }
            }
            return body(UnsafeBufferPointer(rebasing: input[..<16]))
        }
    }
}
