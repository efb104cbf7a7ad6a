import Crypto
import _CryptoExtras

/// Makes DKIM keys, as PEM that ``DKIMSigner`` reads.
///
/// ```swift
/// let pem = try DKIMKeyGenerator.make(.rsa2048)
/// let signer = try DKIMSigner(domain: "example.com", selector: "hd20261202", privateKeyPEM: pem)
/// print(signer.dnsRecord)   // "v=DKIM1; k=rsa; p=MIIBIjANBgkq…"
/// ```
public enum DKIMKeyGenerator {
    public enum Kind: String, Sendable, CaseIterable {
        /// RSA with a 2048-bit modulus: what RFC 8301 recommends and every verifier knows.
        case rsa2048 = "rsa"
        /// Ed25519 (RFC 8463): small and fast, but not every verifier knows it yet; sign with
        /// it beside RSA, not instead.
        case ed25519
    }

    /// A new private key as PEM: PKCS#8 (`BEGIN PRIVATE KEY`) for Ed25519, PKCS#1 for RSA.
    public static func make(_ kind: Kind) throws(MailError) -> String {
        switch kind {
        case .rsa2048:
            do {
                return try _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation
            } catch {
                throw MailError(.dkimKey, "an RSA key could not be made: \(error)")
            }
        case .ed25519:
            let der = DKIMSigner.ed25519PKCS8Prefix + Array(Curve25519.Signing.PrivateKey().rawRepresentation)
            let body = Base64.encode(der)
            return "-----BEGIN PRIVATE KEY-----\n\(body)\n-----END PRIVATE KEY-----\n"
        }
    }
}
