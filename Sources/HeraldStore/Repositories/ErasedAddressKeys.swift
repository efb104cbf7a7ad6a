import Crypto
import Foundation
import HeraldCore

/// How the suppression list holds an erased person's address: `hmac:` and 64 hex digits of an
/// HMAC-SHA256 of the normalised address, under a key derived from the server's secret (the
/// one that signs tracking tokens and Message-IDs), so that an address is recognised when it
/// comes back but cannot be read off the list: an unkeyed hash of an address is easily
/// reversed by trying addresses.
///
/// The key is derived once per value: the recipient check hashes a whole list with one.
public struct ErasedAddressKeys {
    private let key: SymmetricKey

    public init(secret: String) {
        key = SymmetricKey(data: SHA256.hash(data: Data(("herald erased address\u{0}" + secret).utf8)))
    }

    /// The suppression list's entry for `address`.
    public func key(for address: String) -> String {
        "hmac:" + Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(EmailAddress.normalized(address).utf8), using: key))
    }
}
