import Crypto
import Foundation
import HeraldCore
import SQLKit

/// Random secrets and their hashes.
public enum Secrets {
    /// `bytes` random bytes from the system's secure generator, base64url without padding.
    public static func random(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func sha256(_ text: String) -> String {
        Hex.encode(SHA256.hash(data: Data(text.utf8)))
    }
}
