import ArgumentParser
import Foundation
import HeraldStore

struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets", abstract: "Manage the keys that seal the secrets kept in the database.",
        subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal every stored secret with a new key and drop the keys no longer needed.",
            discussion: """
                Adds a new key at the top of the key file, seals every secret again with it, then \
                removes the old keys. Processes that share the file pick the new key up by \
                themselves; a server with a copy of its own needs the new file copied to it. With \
                HERALD_SECRET_KEY, set the new key there and the old one in HERALD_SECRET_KEY_PREVIOUS \
                and run this to seal everything with the new one.
                """)

        @OptionGroup var db: DatabaseOptions
        @Option(help: "The state folder whose secret.key to use when --secret-key-file is not given. Env: HERALD_STATE_DIR.")
        var stateDir: String?

        func run() async throws {
            let keyring = try db.keyring(stateDir: stateDir)
            let logger = try db.logger("herald.secrets")
            let store = try await Store.open(try db.location(), logger: logger, keyring: keyring)
            do {
                if keyring.file != nil { _ = try keyring.rotate() }
                let sealed = try await store.sealSecrets(reseal: true)
                let dropped = try keyring.prune(keeping: try await store.secretKeyIDs())
                print("Sealed \(sealed) secrets with key \(keyring.currentID)"
                      + (dropped.isEmpty ? "." : "; removed the keys \(dropped.joined(separator: ", ")) from \(keyring.file ?? "")."))
                await store.close()
            } catch {
                await store.close()
                throw error
            }
        }
    }
}
