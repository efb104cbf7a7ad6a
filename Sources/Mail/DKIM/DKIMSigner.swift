import Crypto
import _CryptoExtras
import Foundation

/// Signs messages with DKIM (RFC 6376), relaxed/relaxed canonicalisation, with an RSA key
/// (`rsa-sha256`) or an Ed25519 key (`ed25519-sha256`, RFC 8463).
///
/// ```swift
/// let signer = try DKIMSigner(domain: "example.com", selector: "herald", privateKeyPEM: pem)
/// let signed = try signer.sign(message)          // DKIM-Signature: … prepended
/// print(signer.dnsRecord)                        // publish at herald._domainkey.example.com
/// ```
public struct DKIMSigner: Sendable {
    public enum Algorithm: String, Sendable {
        case rsaSHA256 = "rsa-sha256"
        case ed25519SHA256 = "ed25519-sha256"
    }

    enum Key: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        /// The 32-byte seed: `Curve25519.Signing.PrivateKey` is not `Sendable`, the bytes are.
        case ed25519(seed: [UInt8])
    }

    public let domain: String
    public let selector: String
    public let algorithm: Algorithm
    /// Lower-case names of the header fields signed when present (RFC 6376 §5.4.1).
    public var signedHeaders: [String] = [
        "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc", "mime-version",
        "content-type", "content-transfer-encoding", "in-reply-to", "references",
        "list-unsubscribe", "list-unsubscribe-post",
    ]
    private let key: Key

    /// Reads the key from PEM: `BEGIN RSA PRIVATE KEY` / `BEGIN PRIVATE KEY` (RSA, at least
    /// 1024 bits; RFC 8301 asks for 2048) or a PKCS#8 Ed25519 `BEGIN PRIVATE KEY`.
    public init(domain: String, selector: String, privateKeyPEM: String) throws(MailError) {
        for (name, value) in [("domain", domain), ("selector", selector)] {
            guard !value.isEmpty, value.unicodeScalars.allSatisfy({ HeaderEncoding.isAtext($0) || $0 == "." }), !value.contains(";") else {
                throw MailError(.dkimKey, "DKIM \(name) '\(value)' is not a domain name")
            }
        }
        self.domain = domain
        self.selector = selector
        if let seed = Self.ed25519Seed(pem: privateKeyPEM) {
            do {
                _ = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            } catch {
                throw MailError(.dkimKey, "the Ed25519 key could not be read: \(error)")
            }
            key = .ed25519(seed: seed)
            algorithm = .ed25519SHA256
            return
        }
        do {
            key = .rsa(try _RSA.Signing.PrivateKey(unsafePEMRepresentation: privateKeyPEM))
        } catch {
            throw MailError(.dkimKey, "the private key PEM is neither RSA nor Ed25519: \(error)")
        }
        algorithm = .rsaSHA256
    }

    /// The TXT record to publish at `selector._domainkey.domain`.
    public var dnsRecord: String {
        switch key {
        case .rsa(let key):
            return "v=DKIM1; k=rsa; p=" + Base64.encode(Array(key.publicKey.derRepresentation))
        case .ed25519(let seed):
            // RFC 8463 §4.2: the raw 32-byte public key.
            let key = try! Curve25519.Signing.PrivateKey(rawRepresentation: seed) // checked in init
            return "v=DKIM1; k=ed25519; p=" + Base64.encode(Array(key.publicKey.rawRepresentation))
        }
    }

    /// The message with a `DKIM-Signature:` field in front.
    public func sign(_ message: [UInt8], timestamp: Date = Date()) throws(MailError) -> [UInt8] {
        try Self.sign(message, with: [self], timestamp: timestamp)
    }

    /// The message signed by each of `signers` (say an RSA key and an Ed25519 key of the same
    /// domain: verifiers that do not know Ed25519 ignore its signature, RFC 8463 §4), their
    /// `DKIM-Signature:` fields in front, the first signer's on top. The body is canonicalised and hashed once, whatever
    /// the number of signatures: every signer here hashes with SHA-256, relaxed.
    public static func sign(_ message: [UInt8], with signers: [DKIMSigner], timestamp: Date = Date()) throws(MailError) -> [UInt8] {
        guard !signers.isEmpty else { return message }
        let (headerFields, body) = split(message)
        let bodyHash = bodyHash(body)
        var fields = ""
        for signer in signers {
            fields += try signer.signatureField(headers: headerFields, bodyHash: bodyHash, timestamp: timestamp)
        }
        var signed = Array(fields.utf8)
        signed.reserveCapacity(signed.count + message.count)
        signed += message
        return signed
    }

    /// §3.7 `bh=`: the base64 SHA-256 of the relaxed body.
    static func bodyHash(_ body: ArraySlice<UInt8>) -> String {
        var hasher = SHA256()
        canonicalBody(body) { hasher.update(bufferPointer: $0) }
        return Base64.encode(Array(hasher.finalize()))
    }

    /// The `DKIM-Signature:` field (folded, ending in CRLF) for a message's header fields.
    private func signatureField(headers headerFields: [HeaderField], bodyHash: String, timestamp: Date) throws(MailError) -> String {
        // RFC 6376 §5.4.2: for each name, the last unused instance, bottom-up.
        var remaining = headerFields
        var used: [String] = []
        var hashInput: [UInt8] = []
        for name in signedHeaders {
            if let index = remaining.lastIndex(where: { $0.name == name }) {
                hashInput += Self.canonicalHeader(remaining[index].raw)
                hashInput += [13, 10]
                remaining.remove(at: index)
                used.append(name)
            }
        }
        let time = Int(timestamp.timeIntervalSince1970)
        var tags = "v=1; a=\(algorithm.rawValue); c=relaxed/relaxed; d=\(domain); s=\(selector);\r\n"
        tags += "\tt=\(time); h=" + used.joined(separator: ":") + ";\r\n"
        tags += "\tbh=\(bodyHash);\r\n\tb="
        let unsigned = "DKIM-Signature: " + tags
        // §3.7: the signature field itself, with an empty b=, without its final CRLF.
        hashInput += Self.canonicalHeader(Array(unsigned.utf8))
        let signature: [UInt8]
        do {
            switch key {
            case .rsa(let key):
                signature = Array(try key.signature(for: SHA256.hash(data: hashInput), padding: .insecurePKCS1v1_5).rawRepresentation)
            case .ed25519(let seed):
                // RFC 8463 §3: Ed25519 signs the SHA-256 hash, not the data.
                let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
                signature = Array(try key.signature(for: Array(SHA256.hash(data: hashInput))))
            }
        } catch {
            throw MailError(.dkimKey, "DKIM signing failed: \(error)")
        }
        // Whitespace inside b= is ignored by verifiers (§3.5), so fold it at 72 columns.
        let encoded = Base64.encode(signature)
        var folded = ""
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 72, limitedBy: encoded.endIndex) ?? encoded.endIndex
            if !folded.isEmpty { folded += "\r\n\t " }
            folded += encoded[index..<end]
            index = end
        }
        return unsigned + folded + "\r\n"
    }

    // MARK: - Canonicalisation (RFC 6376 §3.4)

    struct HeaderField {
        var name: String
        var raw: [UInt8]
    }

    /// Header fields (with continuation lines, without the final CRLF) and the body.
    static func split(_ message: [UInt8]) -> ([HeaderField], ArraySlice<UInt8>) {
        var fields: [HeaderField] = []
        var index = 0
        var lineStart = 0
        var bodyStart = message.count
        while index < message.count {
            guard message[index] == 10 else { index += 1; continue }
            let lineEnd = index > lineStart && message[index - 1] == 13 ? index - 1 : index
            if lineEnd == lineStart {
                bodyStart = index + 1
                break
            }
            let line = Array(message[lineStart..<lineEnd])
            if (line.first == 32 || line.first == 9), !fields.isEmpty {
                fields[fields.count - 1].raw += [13, 10] + line
            } else {
                let name = line.firstIndex(of: UInt8(ascii: ":")).map { String(decoding: line[..<$0], as: UTF8.self) } ?? ""
                fields.append(HeaderField(name: name.trimmingCharacters(in: .whitespaces).lowercased(), raw: line))
            }
            index += 1
            lineStart = index
        }
        return (fields, message[min(bodyStart, message.count)...])
    }

    /// §3.4.2: lower-case name, unfolded, runs of WSP to one space, no WSP at the ends.
    static func canonicalHeader(_ raw: [UInt8]) -> [UInt8] {
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return raw }
        let name = String(decoding: raw[..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
        var value: [UInt8] = []
        var pendingSpace = false
        for byte in raw[(colon + 1)...] {
            if byte == 13 || byte == 10 { continue }
            if byte == 32 || byte == 9 {
                pendingSpace = true
                continue
            }
            if pendingSpace && !value.isEmpty { value.append(32) }
            pendingSpace = false
            value.append(byte)
        }
        return Array(name.utf8) + [UInt8(ascii: ":")] + value
    }

    /// §3.4.4: WSP runs to one space, none at line ends, no empty lines at the end.
    static func canonicalBody(_ body: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        canonicalBody(body) { out.append(contentsOf: $0) }
        return out
    }

    /// The relaxed body, handed to `emit` a line at a time (never built whole): empty lines
    /// are held back until a line with text follows, so that those at the end are dropped.
    static func canonicalBody(_ body: ArraySlice<UInt8>, emit: (UnsafeRawBufferPointer) -> Void) {
        let crlf: [UInt8] = [13, 10]
        var line: [UInt8] = []
        line.reserveCapacity(1000)
        var heldEmptyLines = 0
        var pendingSpace = false
        func endLine() {
            if line.isEmpty {
                heldEmptyLines += 1
            } else {
                for _ in 0..<heldEmptyLines { crlf.withUnsafeBytes(emit) }
                heldEmptyLines = 0
                line.append(contentsOf: crlf)
                line.withUnsafeBytes(emit)
                line.removeAll(keepingCapacity: true)
            }
            pendingSpace = false
        }
        var index = body.startIndex
        while index < body.endIndex {
            let byte = body[index]
            if byte == 10 || (byte == 13 && index + 1 < body.endIndex && body[index + 1] == 10) {
                endLine()
                index += byte == 13 ? 2 : 1
                continue
            }
            if byte == 32 || byte == 9 {
                pendingSpace = true
            } else {
                if pendingSpace { line.append(32) }
                pendingSpace = false
                line.append(byte)
            }
            index += 1
        }
        if !line.isEmpty { endLine() }
    }

    /// The 32-byte seed of a PKCS#8 Ed25519 key (RFC 8410 §7), or nil for other keys.
    static func ed25519Seed(pem: String) -> [UInt8]? {
        let lines = pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }
        guard pem.contains("BEGIN PRIVATE KEY"), let der = Base64.decode(lines.joined()) else { return nil }
        guard der.count == 48, Array(der.prefix(16)) == ed25519PKCS8Prefix else { return nil }
        return Array(der.suffix(32))
    }

    /// RFC 8410 §7, the DER of an Ed25519 private key before its 32-byte seed: SEQUENCE {
    /// INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }.
    static let ed25519PKCS8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
}
