import Crypto
import Foundation
import HeraldCore
import Synchronization

/// Seals the secrets Herald keeps in its database (the relay URL with its password, webhook
/// secrets, the key that signs tracking links and Message-IDs, DKIM private keys) with a key
/// kept outside it, so that a copy of the database alone gives none of them away.
///
/// The keys live in a file (`secret.key` in the state folder by default; one line a key, the
/// first seals, all open) or in `HERALD_SECRET_KEY` (and `HERALD_SECRET_KEY_PREVIOUS`, comma
/// separated, while rotating). A sealed value reads `enc1:<key id>:<ChaCha20-Poly1305 box, base64>`;
/// a value without the prefix is one stored before sealing began, sealed at the next start.
public final class SecretKeyring: Sendable {
    struct Key: Sendable {
        var id: String
        /// The key's 32 bytes (SymmetricKey itself is not Sendable).
        var bytes: Data
        var key: SymmetricKey { SymmetricKey(data: bytes) }
    }

    /// The file the keys came from; nil for keys from the environment (or a test's).
    public let file: String?
    private let keys: Mutex<[Key]>

    static let prefix = "enc1:"

    init(file: String?, keys: [Key]) {
        self.file = file
        self.keys = Mutex(keys)
    }

    /// A key for one process's tests: nothing is written anywhere.
    public static let ephemeral = SecretKeyring(file: nil, keys: [SecretKeyring.newKey()])

    /// The keys from `HERALD_SECRET_KEY` when it is set, else from `file`, which is made with
    /// a new key (readable by its owner only) when it does not exist yet.
    public static func load(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SecretKeyring {
        if let current = environment["HERALD_SECRET_KEY"], !current.isEmpty {
            let previous = (environment["HERALD_SECRET_KEY_PREVIOUS"] ?? "").split(separator: ",").map(String.init)
            return SecretKeyring(file: nil, keys: try ([current] + previous).map { try key(fromBase64: $0, name: "HERALD_SECRET_KEY") })
        }
        if !FileManager.default.fileExists(atPath: file) {
            try write([newKey()], to: file)
        }
        return SecretKeyring(file: file, keys: try read(file))
    }

    /// The id of the key that seals.
    public var currentID: String { keys.withLock { $0[0].id } }

    /// `text` sealed with the current key.
    public func seal(_ text: String) -> String {
        let key = keys.withLock { $0[0] }
        // ChaChaPoly.seal fails only for a key of the wrong size, which `Key` never holds.
        let box = try! ChaChaPoly.seal(Data(text.utf8), using: key.key)
        return Self.prefix + key.id + ":" + box.combined.base64EncodedString()
    }

    /// Whether `stored` is sealed at all, and with which key.
    public static func keyID(of stored: String) -> String? {
        guard stored.hasPrefix(prefix) else { return nil }
        return stored.dropFirst(prefix.count).split(separator: ":", maxSplits: 1).first.map(String.init)
    }

    /// The text of a sealed value (a value stored before sealing began is returned as it is).
    /// A key it does not have is looked for again in the file, which a rotation by another
    /// process may have changed; then it fails with what to do.
    public func open(_ stored: String) throws -> String {
        guard let id = Self.keyID(of: stored) else { return stored }
        let box = String(stored.dropFirst(Self.prefix.count + id.count + 1))
        var key = keys.withLock { $0.first { $0.id == id } }
        if key == nil, let file, let reread = try? Self.read(file) {
            keys.withLock { $0 = reread }
            key = reread.first { $0.id == id }
        }
        guard let key else {
            throw HeraldError(.upstream, """
                a secret in the database was sealed with key \(id), which \(file.map { "the key file \($0)" } ?? "HERALD_SECRET_KEY(_PREVIOUS)") \
                does not hold: give this process the key file of the server that made it (see Secrets at rest in the README)
                """)
        }
        guard let data = Data(base64Encoded: box), let sealed = try? ChaChaPoly.SealedBox(combined: data),
              let plain = try? ChaChaPoly.open(sealed, using: key.key) else {
            throw HeraldError(.upstream, "a secret in the database sealed with key \(id) does not open with it: it was changed or damaged")
        }
        return String(decoding: plain, as: UTF8.self)
    }

    /// Puts a new key first in the file, keeping the others so that what they sealed still
    /// opens; returns its id. Keys from the environment are rotated by changing the environment.
    public func rotate() throws -> String {
        guard let file else {
            throw HeraldError.invalid(field: "HERALD_SECRET_KEY", "set a new key there and the old one in HERALD_SECRET_KEY_PREVIOUS, then run this again")
        }
        let fresh = Self.newKey()
        let all = [fresh] + (try Self.read(file))
        try Self.write(all, to: file)
        keys.withLock { $0 = all }
        return fresh.id
    }

    /// Drops from the file every key but the current one and those in `used`.
    public func prune(keeping used: Set<String>) throws -> [String] {
        guard let file else { return [] }
        let all = try Self.read(file)
        let kept = all.enumerated().filter { $0.offset == 0 || used.contains($0.element.id) }.map(\.element)
        try Self.write(kept, to: file)
        keys.withLock { $0 = kept }
        return all.map(\.id).filter { id in !kept.contains { $0.id == id } }
    }

    static func newKey() -> Key {
        Key(id: Secrets.random(bytes: 6), bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    static func key(fromBase64 text: String, name: String) throws -> Key {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)), data.count == 32 else {
            throw HeraldError.invalid(field: name, "must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)")
        }
        // The id names the key without revealing it.
        return Key(id: String(Secrets.sha256(text.trimmingCharacters(in: .whitespaces)).prefix(8)), bytes: data)
    }

    static func read(_ file: String) throws -> [Key] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw HeraldError.invalid(field: "secret-key-file", "cannot read \(file)")
        }
        let keys = try text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map { line -> Key in
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                guard parts.count == 2, let data = Data(base64Encoded: String(parts[1])), data.count == 32 else {
                    throw HeraldError.invalid(field: "secret-key-file", "\(file) has a line that is not `<id> <32 bytes in base64>`")
                }
                return Key(id: String(parts[0]), bytes: data)
            }
        guard !keys.isEmpty else { throw HeraldError.invalid(field: "secret-key-file", "\(file) holds no key") }
        return keys
    }

    static func write(_ keys: [Key], to file: String) throws {
        let folder = (file as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let text = "# Herald's secret keys: the first seals, every one opens. Back it up apart from the database.\n"
            + keys.map { "\($0.id) \($0.bytes.base64EncodedString())" }.joined(separator: "\n") + "\n"
        // Written whole to a new file, then renamed over the old one: a crash leaves one or the other.
        let temporary = file + ".new"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw HeraldError.invalid(field: "secret-key-file", "cannot write \(temporary)")
        }
        if rename(temporary, file) != 0 { throw HeraldError.invalid(field: "secret-key-file", "cannot replace \(file)") }
    }
}
