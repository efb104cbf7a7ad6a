import Crypto
import Foundation

/// A token that names one sent message (and, for a click, one link of it), signed so that it
/// can be neither forged nor guessed: the open pixel, click redirects, the unsubscribe link
/// and the VERP return path all carry one.
///
/// The token is lowercase base32 (RFC 4648 alphabet, no padding), so it survives mail systems
/// that lowercase a return path's local part and needs no escaping in a URL. Its bytes are the
/// purpose, the message's id, the link's index for a click, and the first 12 bytes of an
/// HMAC-SHA256 of those under the server's secret.
public struct MessageToken: Sendable, Hashable {
    public enum Purpose: Sendable, Hashable {
        case open
        case click(link: Int)
        case unsubscribe
        /// The VERP return path: a bounce names the message it is about.
        case bounce
        /// The hidden link that no person sees: whoever follows it is a machine.
        case trap

        fileprivate var code: UInt8 {
            switch self {
            case .open: 1
            case .click: 2
            case .unsubscribe: 3
            case .bounce: 4
            case .trap: 5
            }
        }
    }

    public var purpose: Purpose
    /// The `mail_messages` row.
    public var messageID: Int64

    public init(_ purpose: Purpose, message messageID: Int64) {
        self.purpose = purpose
        self.messageID = messageID
    }
}

/// Signs and checks ``MessageToken``s under the server's secret.
public struct MessageTokenSigner: Sendable {
    // RFC 2104 HMAC with both keyed states made once: a token's code is the inner hash, from
    // a copy of the state that has absorbed key ⊕ ipad, then the outer hash, from a copy of the
    // one that has absorbed key ⊕ opad. A mass email signs several tokens a message, and
    // HMAC<SHA256> would hash the opad block again for each. (SHA256 is not marked Sendable,
    // but these are never changed; copies are values.)
    nonisolated(unsafe) private let inner: SHA256
    nonisolated(unsafe) private let outer: SHA256
    static let macLength = 12

    /// - Parameter secret: the server's secret (``SettingsStore/engagementSecret()``), at least 32 bytes of it random.
    public init(secret: String) {
        // The key is a SHA-256 digest: 32 bytes, shorter than the 64-byte block, so it is padded, not hashed.
        let key = Array(SHA256.hash(data: Data(("herald message token\u{0}" + secret).utf8))) + Array(repeating: 0, count: 32)
        var inner = SHA256()
        inner.update(data: key.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: key.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    /// HMAC-SHA256 of `bytes` under the key.
    func code(for bytes: some DataProtocol) -> SHA256.Digest {
        var inner = self.inner
        inner.update(data: bytes)
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
    }

    public func sign(_ token: MessageToken) -> String {
        sign(token, after: "")
    }

    /// `prefix`, `path`, the signed token and `suffix` as one string: a mass email signs
    /// several tokens a message, each into a URL or an address, and this makes each with one
    /// allocation (the bytes and the code on the stack, the text written in place).
    public func sign(_ token: MessageToken, after prefix: String, _ path: String = "", before suffix: String = "") -> String {
        // purpose (1) + id (8) + link (2, a click's) + code (12): at most 23 bytes.
        var storage: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &storage) { bytes in
            bytes[0] = token.purpose.code
            bytes.storeBytes(of: UInt64(bitPattern: token.messageID).bigEndian, toByteOffset: 1, as: UInt64.self)
            var count = 9
            if case .click(let link) = token.purpose {
                bytes.storeBytes(of: UInt16(clamping: link).bigEndian, toByteOffset: 9, as: UInt16.self)
                count = 11
            }
            code(for: UnsafeRawBufferPointer(rebasing: bytes[..<count])).withUnsafeBytes { mac in
                UnsafeMutableRawBufferPointer(rebasing: bytes[count..<(count + Self.macLength)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: mac[..<Self.macLength]))
            }
            count += Self.macLength
            let signed = UnsafeRawBufferPointer(rebasing: bytes[..<count])
            let length = prefix.utf8.count + path.utf8.count + Base32.encodedCount(count) + suffix.utf8.count
            return String(unsafeUninitializedCapacity: length) { out in
                var at = out.put(prefix.utf8, at: 0)
                at = out.put(path.utf8, at: at)
                at = Base32.encode(signed, into: out, at: at)
                return out.put(suffix.utf8, at: at)
            }
        }
    }

    /// The token `text` stands for, or nil when it is malformed, altered or signed under
    /// another secret. Case does not matter.
    public func verify(_ text: String) -> MessageToken? {
        verify(Substring(text))
    }

    /// The token `text` stands for, as the `String` form says. Concrete, not generic, and
    /// without an allocation: every open pixel a recipient loads is checked here.
    public func verify(_ text: Substring) -> MessageToken? {
        guard text.utf8.count <= Self.longest else { return nil }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.longest * 5 / 8) { out -> MessageToken? in
            guard let count = Base32.decode(text.utf8, into: out), count >= 9 + Self.macLength else { return nil }
            let body = UnsafeBufferPointer(rebasing: out[..<(count - Self.macLength)])
            let mac = out[(count - Self.macLength)..<count]
            let differences = code(for: UnsafeRawBufferPointer(body)).withUnsafeBytes { expected in
                // Constant time, so that timing tells nothing about how much of a forged code was right.
                zip(expected.prefix(Self.macLength), mac).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) }
            }
            guard differences == 0 else { return nil }
            return Self.token(body)
        }
    }

    /// Longer text is no token; the limit also sizes the buffer it is decoded into.
    private static let longest = 64

    private static func token(_ body: UnsafeBufferPointer<UInt8>) -> MessageToken? {
        let id = body.dropFirst().prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let purpose: MessageToken.Purpose
        switch (body.first, body.count) {
        case (1, 9): purpose = .open
        case (2, 11): purpose = .click(link: Int(body.suffix(2).reduce(UInt16(0)) { $0 << 8 | UInt16($1) }))
        case (3, 9): purpose = .unsubscribe
        case (4, 9): purpose = .bounce
        case (5, 9): purpose = .trap
        default: return nil
        }
        return MessageToken(purpose, message: Int64(bitPattern: id))
    }
}

/// RFC 4648 base32 in lowercase, without padding.
enum Base32 {
    private static let alphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// The length of `count` bytes' encoding.
    static func encodedCount(_ count: Int) -> Int { (count * 8 + 4) / 5 }

    /// Writes the encoding of `bytes` into `out` from `start` (room for ``encodedCount(_:)``)
    /// and returns where it ended.
    static func encode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        var at = start
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out[at] = alphabet[Int(buffer >> UInt32(bits - 5) & 31)]
                at += 1
                bits -= 5
            }
        }
        if bits > 0 {
            out[at] = alphabet[Int(buffer << UInt32(5 - bits) & 31)]
            at += 1
        }
        return at
    }

    /// Decodes `utf8` into `out` (room for `utf8.count * 5 / 8` bytes) and returns how many it wrote.
    static func decode(_ utf8: Substring.UTF8View, into out: UnsafeMutableBufferPointer<UInt8>) -> Int? {
        var count = 0
        var buffer: UInt32 = 0
        var bits = 0
        for c in utf8 {
            let value: UInt8
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = c - UInt8(ascii: "a")
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = c - UInt8(ascii: "A")
            case UInt8(ascii: "2")...UInt8(ascii: "7"): value = c - UInt8(ascii: "2") + 26
            default: return nil
            }
            buffer = buffer << 5 | UInt32(value)
            bits += 5
            if bits >= 8 {
                out[count] = UInt8(buffer >> UInt32(bits - 8) & 255)
                count += 1
                bits -= 8
            }
        }
        // Leftover bits must be the zero padding of the last character, or the text was altered.
        guard bits < 5, buffer & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return count
    }
}
