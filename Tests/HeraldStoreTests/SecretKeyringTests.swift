import Foundation
import HeraldCore
import HeraldStore
import SQLKit
import Testing

/// Secrets are stored sealed under a key kept outside the database, open for Herald, and
/// sealed anew when the key rotates.
@Suite struct SecretKeyringTests {
    static func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("herald-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func stored(_ store: Store) async throws -> [String] {
        try await store.database.read { db in
            let settings = try await db.raw("SELECT value FROM settings").all().map { try $0.decode(column: "value", as: String.self) }
            let keys = try await db.raw("SELECT private_key FROM domain_keys").all().map { try $0.decode(column: "private_key", as: String.self) }
            return settings + keys
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func secretsAreStoredSealedAndRotate(kind: DatabaseKind) async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/state/secret.key"
        let (location, cleanup) = try await TestDatabase.fresh(kind)
        do {
            try await Self.sealAndRotate(location: location, file: file, dir: dir)
        } catch {
            try? await cleanup()
            throw error
        }
        try await cleanup()
    }

    static func sealAndRotate(location: DatabaseLocation, file: String, dir: String) async throws {
        let keyring = try SecretKeyring.load(file: file, environment: [:])
        #expect(!FileManager.default.fileExists(atPath: file), "made only by opening a database")
        var store = try await Store.open(location, logger: TestDatabase.logger, keyring: keyring)
        #expect(FileManager.default.fileExists(atPath: file))
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600)
        let relay = "smtp://herald:s3cret-pass@127.0.0.1:2525"
        try await store.settings.set(SettingsStore.transportURLKey, to: relay)
        try await store.settings.set(SettingsStore.webhookSecretKey("postmark"), to: "hook-secret-1")
        let signing = try await store.settings.engagementSecret()
        _ = try await store.domains.create(name: "example.com", keys: [
            .init(selector: "h1", algorithm: .rsa, privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nMIIabc\n-----END PRIVATE KEY-----", publicRecord: "v=DKIM1; p=x"),
        ], now: 1)
        try await store.settings.set(SettingsStore.organisationName, to: "Acme")
        let raw = try await Self.stored(store)
        for secret in ["s3cret-pass", "hook-secret-1", signing, "MIIabc"] {
            #expect(!raw.contains { $0.contains(secret) }, "\(secret) is stored sealed")
        }
        #expect(raw.contains("Acme"), "what is not secret stays readable")
        #expect(try await store.settings.value(SettingsStore.transportURLKey) == relay)
        #expect(try await store.domains.signingKeys().first?.privateKeyPEM.contains("MIIabc") == true)

        // A secret stored before sealing began is sealed when the store opens.
        try await store.database.transaction { db in
            try await db.raw("UPDATE settings SET value = 'plain-hook' WHERE key = \(bind: SettingsStore.webhookSecretKey("postmark"))").run()
        }
        await store.close()
        store = try await Store.open(location, logger: TestDatabase.logger, keyring: keyring)
        #expect(try await !Self.stored(store).contains("plain-hook"))
        #expect(try await store.settings.value(SettingsStore.webhookSecretKey("postmark")) == "plain-hook")

        // Rotation: a new key seals everything; the old one leaves the file.
        let old = keyring.currentID
        let new = try keyring.rotate()
        #expect(new != old)
        #expect(try await store.sealSecrets(reseal: true) == 5, "four secrets and the key check")
        #expect(try await store.secretKeyIDs() == [new])
        #expect(try keyring.prune(keeping: try await store.secretKeyIDs()) == [old])
        #expect(try await store.settings.value(SettingsStore.transportURLKey) == relay)
        await store.close()

        // Another process's keyring that has never seen the new key reads it from the file.
        store = try await Store.open(location, logger: TestDatabase.logger, keyring: try SecretKeyring.load(file: file, environment: [:]))
        #expect(try await store.settings.engagementSecret() == signing)
        await store.close()

        // A process with other keys refuses to start, saying what to do.
        let stranger = try SecretKeyring.load(file: dir + "/other/secret.key", environment: [:])
        let refused = await #expect(throws: HeraldError.self) { _ = try await Store.open(location, logger: TestDatabase.logger, keyring: stranger) }
        #expect(refused?.message.contains("key file of the server that made it") == true)
        #expect(!FileManager.default.fileExists(atPath: dir + "/other/secret.key"), "no stray key is left behind")
    }

    @Test func processesStartingTogetherAgreeOnOneKey() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/secret.key"
        let rings = try (0..<8).map { _ in try SecretKeyring.load(file: file, environment: [:]) }
        await withThrowingTaskGroup(of: Void.self) { group in
            for ring in rings { group.addTask { try ring.persist() } }
        }
        #expect(Set(rings.map(\.currentID)).count == 1)
        let sealed = rings[3].seal("relay password")
        for ring in rings { #expect(try ring.open(sealed) == "relay password") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["secret.key"], "no temporary file is left")
    }

    @Test func keysFromTheEnvironment() throws {
        let current = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let previous = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let old = try SecretKeyring.load(file: "/nonexistent/never-made", environment: ["HERALD_SECRET_KEY": previous])
        let sealed = old.seal("relay password")
        let both = try SecretKeyring.load(file: "/nonexistent/never-made", environment: ["HERALD_SECRET_KEY": current, "HERALD_SECRET_KEY_PREVIOUS": previous])
        #expect(try both.open(sealed) == "relay password")
        #expect(SecretKeyring.keyID(of: both.seal("x")) == both.currentID && both.currentID != old.currentID)
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/never-made"))
        #expect(throws: HeraldError.self) { _ = try SecretKeyring.load(file: "/x", environment: ["HERALD_SECRET_KEY": "too-short"]) }
        #expect(throws: HeraldError.self) { _ = try SecretKeyring.load(file: "/x", environment: ["HERALD_SECRET_KEY": current]).open(sealed) }
        #expect(try both.open("not sealed") == "not sealed", "a value from before sealing reads as it is")
    }
}

@Suite struct StoreClosingTests {
    /// A delivery loop may still be writing when its store closes: closing waits for its
    /// connection rather than leave it unclosed (which SQLiteNIO traps on) or close it under it.
    @Test func closingWaitsForAConnectionInUse() async throws {
        let (location, cleanup) = try await TestDatabase.fresh(.sqlite)
        let store = try await Store.open(location, logger: TestDatabase.logger)
        let (inside, signal) = AsyncStream.makeStream(of: Void.self)
        let writer = Task {
            try await store.database.transaction { db in
                signal.yield()
                try await Task.sleep(for: .milliseconds(300))
                try await db.raw("INSERT INTO settings (key, value) VALUES ('late', 'write')").run()
            }
        }
        for await _ in inside { break }
        await store.close()
        try await writer.value
        try await cleanup()
    }
}
