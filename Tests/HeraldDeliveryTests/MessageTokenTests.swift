import Crypto
import Foundation
@testable import HeraldDelivery
import Testing

@Suite struct MessageTokenTests {
    let signer = MessageTokenSigner(secret: "a server secret of some length, for tests")

    @Test(arguments: [MessageToken.Purpose.open, .click(link: 0), .click(link: 513), .unsubscribe, .bounce, .trap])
    func roundTrips(purpose: MessageToken.Purpose) {
        let token = MessageToken(purpose, message: 9_876_543_210)
        let text = signer.sign(token)
        #expect(signer.verify(text) == token)
        #expect(signer.verify(text.uppercased()) == token, "a return path may come back in capitals")
        #expect(text.allSatisfy { $0.isLowercase || $0.isNumber })
    }

    /// The precomputed inner and outer states give exactly HMAC-SHA256, so tokens already
    /// sent keep verifying.
    @Test func theCodeIsHMACSHA256() {
        let secret = "a server secret of some length, for tests"
        let key = SymmetricKey(data: SHA256.hash(data: Data(("herald message token\u{0}" + secret).utf8)))
        for length in [0, 1, 9, 11, 63, 64, 65, 200] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255) }
            #expect(Array(signer.code(for: bytes)) == Array(HMAC<SHA256>.authenticationCode(for: bytes, using: key)))
        }
    }

    /// Tokens already sent must keep verifying, so their text never changes: these were
    /// made by Python's `hmac` and `base64` (purpose, id, link, then 12 bytes of the code).
    @Test(arguments: [
        (MessageToken(.open, message: 9_876_543_210), "aeaaaaacjsybn2rrxypuhf7rvgpii24ay4"),
        (MessageToken(.click(link: 3), message: 42), "aiaaaaaaaaaaakqaao3kgmii3fz3cysi3zat6"),
        (MessageToken(.unsubscribe, message: 1), "amaaaaaaaaaaaangr6z6veg6knnrzt5nj4"),
        (MessageToken(.bounce, message: 7), "aqaaaaaaaaaaab6k2xxxortgwtrkdi64ru"),
        (MessageToken(.trap, message: 123_456), "auaaaaaaaaa6eqb7licvvoe3jmsqwiysa4"),
    ])
    func aTokensTextIsFixed(token: MessageToken, text: String) {
        #expect(signer.sign(token) == text)
        #expect(signer.verify(text) == token)
    }

    /// A Message-ID already sent must keep naming its recipient (replies and bounces are
    /// matched by it), so its text never changes: made by Python's `hmac` of the lower-cased address.
    @Test(arguments: [
        (Int64(12), 1, "Ann@Example.org", "herald.12.1.c06fdb328aa53285@example.com"),
        (Int64(7), 0, "zoë.ÉMILE@example.org", "herald.7.0.19f2772133103221@example.com"),
        (Int64(9_876_543_210), 3, "x@y.z", "herald.9876543210.3.b49f7e0f725c2fd1@example.com"),
    ])
    func aMessageIDsTextIsFixed(massEmail: Int64, step: Int, address: String, id: String) throws {
        #expect(HeraldMessageID.make(massEmail: massEmail, step: step, address: address, domain: "example.com", signer: signer) == id)
        #expect(try #require(HeraldMessageID(parsing: id)).names(address.uppercased(), signer: signer))
    }

    /// A URL or an address made around a token in one go is the same text as one joined.
    @Test(arguments: [MessageToken.Purpose.open, .click(link: 7), .bounce])
    func aTokenSignedInPlaceIsTheTokenWithItsNeighbours(purpose: MessageToken.Purpose) {
        let token = MessageToken(purpose, message: 31)
        #expect(signer.sign(token, after: "https://crm.example.com", "/t/c/") == "https://crm.example.com/t/c/" + signer.sign(token))
        #expect(signer.sign(token, after: "bounce+", before: "@bounces.exämple.com") == "bounce+" + signer.sign(token) + "@bounces.exämple.com")
        #expect(signer.sign(token, after: "") == signer.sign(token))
    }

    @Test func refusesEveryAlteration() {
        let text = signer.sign(MessageToken(.click(link: 3), message: 42))
        var refused = 0
        var tried = 0
        for index in text.indices {
            for replacement in "a7" where text[index] != replacement {
                var altered = text
                altered.replaceSubrange(index...index, with: String(replacement))
                tried += 1
                if signer.verify(altered) == nil { refused += 1 }
            }
        }
        #expect(refused == tried)
        #expect(signer.verify(String(text.dropLast())) == nil)
        #expect(signer.verify(text + "a") == nil)
        #expect(signer.verify("") == nil)
        #expect(signer.verify("not-base32!") == nil)
    }

    @Test func anotherSecretsTokensAreRefused() {
        let other = MessageTokenSigner(secret: "another secret")
        #expect(other.verify(signer.sign(MessageToken(.open, message: 1))) == nil)
    }

    @Test func purposesAreNotInterchangeable() {
        let open = signer.sign(MessageToken(.open, message: 5))
        #expect(signer.verify(open)?.purpose == .open)
        #expect(signer.verify(open) != MessageToken(.unsubscribe, message: 5))
    }

    @Test func base32MatchesRFC4648() {
        #expect(Base32.encode(Array("foobar".utf8)) == "mzxw6ytboi")
        for (plain, encoded) in [("", ""), ("f", "my"), ("fo", "mzxq"), ("foo", "mzxw6"), ("foob", "mzxw6yq"), ("fooba", "mzxw6ytb")] {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
        }
        #expect(Base32.decode("MZXW6YTBOI").map { String(decoding: $0, as: UTF8.self) } == "foobar")
    }
}

/// The token code's two directions over whole values, for checking them against RFC 4648's
/// examples; the code itself writes into and reads from a token's own buffer.
extension Base32 {
    static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: encodedCount(bytes.count)) { encode(bytes, into: $0, at: 0) }
        }
    }

    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Substring(text).utf8
        var out = [UInt8](repeating: 0, count: utf8.count * 5 / 8)
        guard let count = out.withUnsafeMutableBufferPointer({ decode(utf8, into: $0) }) else { return nil }
        return Array(out.prefix(count))
    }
}
