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
        #expect(Base32.decode("MZXW6YTBOI").map { String(decoding: $0, as: UTF8.self) } == "foobar")
    }
}
