import Foundation
import Testing
@testable import Mail

/// Lookups through glibc's resolver against a real DNS server on loopback (dnsmasq).
@Suite(.serialized) struct DNSResolverTests {
    /// dnsmasq answering for example.test only, with the records given.
    static func dnsmasq(_ records: [String]) async throws -> (PeerProcess, Int)? {
        let path = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard Peers.available(path != nil, "dnsmasq (apt-get install dnsmasq-base)"), let path else { return nil }
        var failures: [String] = []
        // A free port may be taken by another test's server before dnsmasq binds it (its TCP
        // listener then fails and it exits): a new port, up to three times.
        for _ in 0..<3 {
            let port = Peers.freePort()
            let directory = Peers.temporaryDirectory()
            let process = try PeerProcess([path, "--no-daemon", "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces",
                                           "--no-resolv", "--no-hosts", "--user=root", "--local=/example.test/"] + records,
                                          logPath: directory + "/dnsmasq.log")
            do {
                // It listens on TCP beside UDP, both bound before it serves: once TCP accepts, it answers.
                try await process.waitUntilReady(marker: nil, port: port, timeout: .seconds(20))
                let resolver = try DNSResolver(server: "127.0.0.1:\(port)")
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    if (try? await resolver.txt("ready.example.test")) != nil { return (process, port) }
                    try await Task.sleep(for: .milliseconds(50))
                }
                failures.append("no answer on port \(port) within 20 s")
            } catch {
                failures.append("\(error)")
            }
            process.stop()
        }
        throw PeerError("dnsmasq did not answer: \(failures.joined(separator: "; "))")
    }

    @Test func txtMXAndMissingNames() async throws {
        let long = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 380)
        guard let (dns, port) = try await Self.dnsmasq([
            "--txt-record=sel._domainkey.example.test,\(long)",
            "--txt-record=example.test,v=spf1 a:relay.example.test ~all",
            "--txt-record=example.test,google-site-verification=abc",
            "--mx-host=bounce.example.test,mx2.example.test,20", "--mx-host=bounce.example.test,mx1.example.test,10",
        ]) else { return }
        defer { dns.stop() }
        let resolver = try DNSResolver(server: "127.0.0.1:\(port)")
        // A value longer than 255 bytes comes as several strings, read as one.
        #expect(try await resolver.txt("sel._domainkey.example.test") == .records([long]))
        #expect(Set(try await resolver.txt("example.test").records) == ["v=spf1 a:relay.example.test ~all", "google-site-verification=abc"])
        #expect(try await resolver.mx("bounce.example.test") == .records([
            DNSResolver.MX(preference: 10, host: "mx1.example.test"), DNSResolver.MX(preference: 20, host: "mx2.example.test")]))
        #expect(try await resolver.txt("nothing.example.test") == .noSuchName)
        #expect(try await resolver.mx("example.test") == .noRecords)
    }

    @Test func aServerThatDoesNotAnswerIsAnErrorNotAMissingRecord() async throws {
        let resolver = try DNSResolver(server: "127.0.0.1:\(Peers.freePort())")
        await #expect(throws: MailError.self) { try await resolver.txt("example.test") }
    }

    @Test func serverAddresses() throws {
        #expect(try DNSResolver(server: "127.0.0.1:5353").server! == ("127.0.0.1", 5353))
        #expect(try DNSResolver(server: "10.0.0.1").server! == ("10.0.0.1", 53))
        for bad in ["localhost:53", "127.0.0.1:0", "127.0.0.1:x", "::1", "1.2.3:53", ""] {
            #expect(throws: MailError.self, "\(bad)") { try DNSResolver(server: bad) }
        }
    }
}
