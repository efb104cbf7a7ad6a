import Foundation
import Testing
@testable import Mail

/// DKIM signatures checked by dkimpy, an independent implementation.
@Suite struct DKIMTests {
    static func key(_ arguments: [String]) async throws -> String {
        let output = try await Peers.run(["openssl"] + arguments)
        guard output.status == 0 else { throw PeerError("openssl: \(output.stderr)") }
        return output.stdout
    }

    static func rsaKey() async throws -> String { try await key(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]) }
    static func ed25519Key() async throws -> String { try await key(["genpkey", "-algorithm", "ed25519"]) }

    static func verify(_ signed: [UInt8], record: String) async throws -> Bool {
        let path = Peers.temporaryDirectory() + "/signed.eml"
        try Data(signed).write(to: URL(fileURLWithPath: path))
        let output = try await Peers.run(["python3", Peers.directory + "/dkim_verify.py", path, record])
        if output.status != 0 { print("dkim_verify: \(output.stdout) \(output.stderr)") }
        return output.status == 0 && output.stdout.contains("PASS")
    }

    @Test(arguments: ["rsa", "ed25519"])
    func dkimpyVerifiesOurSignatures(kind: String) async throws {
        guard Peers.available(await Peers.hasPythonModule("dkim"), "python module dkim (pip install dkimpy)") else { return }
        let pem = kind == "rsa" ? try await Self.rsaKey() : try await Self.ed25519Key()
        let signer = try DKIMSigner(domain: "example.com", selector: "s1", privateKeyPEM: pem)
        #expect(signer.algorithm == (kind == "rsa" ? .rsaSHA256 : .ed25519SHA256))
        for (name, message) in MIMETests.samples() {
            let signed = try signer.sign(try message.render())
            #expect(try await Self.verify(signed, record: signer.dnsRecord), "\(kind) \(name)")
            // Tampering with the body must break it.
            var tampered = signed
            tampered.replaceSubrange(tampered.count - 10..<tampered.count - 9, with: Array("Z".utf8))
            #expect(try await !Self.verify(tampered, record: signer.dnsRecord), "\(kind) \(name) tampered")
        }
        // Raw messages with odd whitespace and trailing empty lines exercise relaxed canonicalisation.
        let raw = Array("From: a@example.com\r\nSubject:   spaced \t out  \r\nTo: b@example.org\r\n  continued\r\n\r\nbody  with \t space \r\n\r\n\r\n".utf8)
        #expect(try await Self.verify(try signer.sign(raw), record: signer.dnsRecord))
        // A signed message in the outbox still verifies below the envelope headers.
        let directory = Peers.temporaryDirectory()
        let name = try FileTransport(directory: directory).write(try Envelope(returnPath: "b@example.com", recipients: ["c@example.org"]), message: try signer.sign(raw))
        #expect(try await Self.verify(Array(Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))), record: signer.dnsRecord))
    }

    @Test func canonicalisation() {
        #expect(String(decoding: DKIMSigner.canonicalHeader(Array("SubJect : a  b \t\r\n\tc ".utf8)), as: UTF8.self) == "subject:a b c")
        #expect(String(decoding: DKIMSigner.canonicalBody(Array("a  b \r\n\r\n\r\n".utf8)[...]), as: UTF8.self) == "a b\r\n")
        #expect(DKIMSigner.canonicalBody(Array("\r\n\r\n".utf8)[...]).isEmpty)
    }

    @Test func badKeys() {
        #expect(throws: MailError.self) { try DKIMSigner(domain: "example.com", selector: "s", privateKeyPEM: "nonsense") }
        #expect(throws: MailError.self) { try DKIMSigner(domain: "exa;mple.com", selector: "s", privateKeyPEM: "") }
    }
}
