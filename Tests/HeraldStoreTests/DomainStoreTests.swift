import HeraldCore
import HeraldStore
import Testing

@Suite struct DomainStoreTests {
    static func key(_ selector: String, _ algorithm: DomainKey.Algorithm = .rsa) -> DomainStore.NewKey {
        DomainStore.NewKey(selector: selector, algorithm: algorithm, privateKeyPEM: "PEM of \(selector)", publicRecord: "v=DKIM1; p=\(selector)")
    }

    @Test(arguments: TestDatabase.kinds)
    func domainsKeysRotationAndChecks(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let domain = try await store.domains.create(name: "Example.com.", keys: [Self.key("r1"), Self.key("e1", .ed25519)], now: 100)
            #expect(domain.name == "example.com")
            #expect(domain.keys.map(\.selector) == ["r1", "e1"])
            await #expect(throws: HeraldError.self) { try await store.domains.create(name: "example.com", keys: [], now: 100) }
            await #expect(throws: HeraldError.self) { try await store.domains.create(name: "not a domain", keys: [], now: 100) }
            #expect(try await store.domains.signingKeys().map(\.selector).sorted() == ["e1", "r1"])
            #expect(try await store.domains.signingKeys().first { $0.selector == "r1" }?.privateKeyPEM == "PEM of r1")

            // A check verifies the keys it found, and unverifies one no longer found.
            try await store.domains.checked(domain.id, verifiedKeys: [domain.keys[0].id, domain.keys[1].id], now: 200)
            var found = try await store.domains.find(domain.id)
            #expect(found.checkedAt == 200 && found.isVerified(at: 200))
            try await store.domains.checked(domain.id, verifiedKeys: [domain.keys[0].id], now: 300)
            found = try await store.domains.find(domain.id)
            #expect(found.keys.map(\.verifiedAt) == [200, nil])

            // Rotation: the new keys sign; the old ones retire after their period.
            let rotated = try await store.domains.rotate(domain.id, to: [Self.key("r2")], keepOldUntil: 1000, now: 400)
            #expect(rotated.signingKeys(at: 400).map(\.selector) == ["r2"])
            #expect(rotated.keys.filter { $0.state(at: 400) == .retiring }.map(\.selector).sorted() == ["e1", "r1"])
            #expect(rotated.keys.filter { $0.state(at: 1000) == .retired }.count == 2)
            #expect(try await store.domains.signingKeys().map(\.selector) == ["r2"])

            try await store.domains.delete(domain.id)
            #expect(try await store.domains.all().isEmpty)
            #expect(try await store.domains.signingKeys().isEmpty)
            await #expect(throws: HeraldError.self) { try await store.domains.delete(domain.id) }
        }
    }
}
