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
        try await verify(signed, arguments: [record])
    }

    /// Every signature, each against its selector's record.
    static func verify(_ signed: [UInt8], records: [String: String]) async throws -> Bool {
        try await verify(signed, arguments: records.map { "\($0.key)=\($0.value)" })
    }

    private static func verify(_ signed: [UInt8], arguments: [String]) async throws -> Bool {
        let path = Peers.temporaryDirectory() + "/signed.eml"
        try Data(signed).write(to: URL(fileURLWithPath: path))
        let output = try await Peers.run(["python3", Peers.directory + "/dkim_verify.py", path] + arguments)
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
        // Empty lines between lines with text stay; a line of blanks is empty; bare LF ends a line too.
        #expect(String(decoding: DKIMSigner.canonicalBody(Array("a\r\n\r\n \t \nb \r\n \r\n".utf8)[...]), as: UTF8.self) == "a\r\n\r\n\r\nb\r\n")
        #expect(String(decoding: DKIMSigner.canonicalBody(Array("no final line break".utf8)[...]), as: UTF8.self) == "no final line break\r\n")
    }

    /// Keys Herald makes itself sign messages that dkimpy verifies; with both kinds, one
    /// message carries two signatures and each verifies against its own selector's record.
    @Test func generatedKeysAndTwoSignatures() async throws {
        guard Peers.available(await Peers.hasPythonModule("dkim"), "python module dkim (pip install dkimpy)") else { return }
        let rsa = try DKIMSigner(domain: "example.com", selector: "r1", privateKeyPEM: try DKIMKeyGenerator.make(.rsa2048))
        let ed = try DKIMSigner(domain: "example.com", selector: "e1", privateKeyPEM: try DKIMKeyGenerator.make(.ed25519))
        #expect(rsa.algorithm == .rsaSHA256 && ed.algorithm == .ed25519SHA256)
        #expect(rsa.dnsRecord.hasPrefix("v=DKIM1; k=rsa; p=MIIBIjAN"))
        let message = try MIMETests.samples()[0].1.render()
        let signed = try DKIMSigner.sign(message, with: [rsa, ed])
        let text = String(decoding: signed, as: UTF8.self)
        // The first signer's field on top: a verifier that reads only the first finds RSA.
        #expect(text.hasPrefix("DKIM-Signature: v=1; a=rsa-sha256"))
        #expect(text.components(separatedBy: "DKIM-Signature:").count == 3)
        #expect(try await Self.verify(signed, records: ["r1": rsa.dnsRecord, "e1": ed.dnsRecord]))
    }

    @Test func badKeys() {
        #expect(throws: MailError.self) { try DKIMSigner(domain: "example.com", selector: "s", privateKeyPEM: "nonsense") }
        #expect(throws: MailError.self) { try DKIMSigner(domain: "exa;mple.com", selector: "s", privateKeyPEM: "") }
    }
}
