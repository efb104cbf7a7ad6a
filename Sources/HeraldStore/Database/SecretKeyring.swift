import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HeraldCore
import Synchronization

/// Seals the secrets Herald keeps in its database (the relay URL with its password, webhook
/// secrets, the key that signs tracking links and Message-IDs, DKIM private keys) with a key
/// kept outside it, so that a copy of the database alone gives none of them away.
///
/// The keys live in a file (`secret.key` in the state folder by default, made by the first
/// process that opens a database holding no sealed secret; one line a key, the first seals,
/// all open) or in `HERALD_SECRET_KEY` (and `HERALD_SECRET_KEY_PREVIOUS`, comma
/// separated, while rotating). A sealed value reads `enc1:<key id>:<ChaCha20-Poly1305 box, base64>`;
/// a value without the prefix is one stored before sealing began, sealed at the next start.
public final class SecretKeyring: Sendable {
    struct Key: Sendable {
        var id: String
        /// The key's 32 bytes (SymmetricKey itself is not Sendable).
        var bytes: Data
        var key: SymmetricKey { SymmetricKey(data: bytes) }
    }

    struct State: Sendable {
        var keys: [Key]
        /// A key made in memory for a key file that does not exist yet: written by ``persist()``
        /// only once the database is known to hold no secrets sealed with another key.
        var pending: Bool
        /// The file's modification time when it was read, to notice a rotation by another process.
        var modified: Date?
    }

    /// The file the keys come from; nil for keys from the environment (or a test's).
    public let file: String?
    private let state: Mutex<State>

    static let prefix = "enc1:"

    init(file: String?, keys: [Key], pending: Bool = false, modified: Date? = nil) {
        self.file = file
        self.state = Mutex(State(keys: keys, pending: pending, modified: modified))
    }

    /// A key for one process's tests: nothing is written anywhere.
    public static let ephemeral = SecretKeyring(file: nil, keys: [SecretKeyring.newKey()])

    /// The keys from `HERALD_SECRET_KEY` when it is set, else from `file`. A missing file is
    /// not made here: ``Store/open(_:logger:keyring:)`` makes it, and only for a database that
    /// holds no sealed secrets yet, so that a command run from the wrong folder cannot seal
    /// anything with a stray key.
    public static func load(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SecretKeyring {
        if let current = environment["HERALD_SECRET_KEY"], !current.isEmpty {
            let previous = (environment["HERALD_SECRET_KEY_PREVIOUS"] ?? "").split(separator: ",").map(String.init)
            return SecretKeyring(file: nil, keys: try ([current] + previous).map { try key(fromBase64: $0, name: "HERALD_SECRET_KEY") })
        }
        guard FileManager.default.fileExists(atPath: file) else {
            return SecretKeyring(file: file, keys: [newKey()], pending: true)
        }
        return SecretKeyring(file: file, keys: try read(file), modified: modificationDate(file))
    }

    /// Whether the keys are still only in memory, their file not yet written.
    public var isPending: Bool { state.withLock { $0.pending } }

    /// Writes the key file of a pending keyring. When another process made the file first
    /// (several starting at once on a new database), its keys are taken instead of ours.
    public func persist() throws {
        guard let file, isPending else { return }
        let keys = state.withLock { $0.keys }
        let temporary = try Self.writeTemporary(keys, beside: file)
        defer { unlink(temporary) }
        // link(2) fails if the file exists: exactly one process's keys become the file.
        if link(temporary, file) != 0 && errno != EEXIST {
            throw HeraldError.invalid(field: "secret-key-file", "cannot write \(file)")
        }
        let stored = try Self.read(file)
        let modified = Self.modificationDate(file)
        state.withLock { $0 = State(keys: stored, pending: false, modified: modified) }
    }

    /// A short text that tells where the keys are, for messages.
    var source: String { file.map { "the key file \($0)" } ?? "HERALD_SECRET_KEY(_PREVIOUS)" }

    /// The id of the key that seals.
    public var currentID: String { current().id }

    /// The key that seals: the file's first, re-read when the file changed (a rotation by
    /// another process), so that nothing is sealed with a key a rotation is about to drop.
    /// The window left: a value sealed between this check and a rotation's prune, in another
    /// process, carries the dropped key; `herald secrets rotate` prunes only after resealing,
    /// so the window is that of one settings write during one rotation.
    private func current() -> Key {
        if let file, !isPending, let modified = Self.modificationDate(file), modified != state.withLock({ $0.modified }),
           let keys = try? Self.read(file) {
            state.withLock { $0 = State(keys: keys, pending: false, modified: modified) }
        }
        return state.withLock { $0.keys[0] }
    }

    /// `text` sealed with the current key.
    public func seal(_ text: String) -> String {
        let key = current()
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
        var key = state.withLock { $0.keys.first { $0.id == id } }
        if key == nil, let file, !isPending, let reread = try? Self.read(file) {
            let modified = Self.modificationDate(file)
            state.withLock { $0 = State(keys: reread, pending: false, modified: modified) }
            key = reread.first { $0.id == id }
        }
        guard let key else {
            throw HeraldError(.upstream, """
                a secret in the database was sealed with key \(id), which \(source) does not hold\(isPending ? " (there is no such file)" : ""): \
                give this process the key file of the server that made it, with --secret-key-file or \
                HERALD_SECRET_KEY_FILE (see Secrets at rest in the README)
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
        guard let file, !isPending else {
            throw HeraldError.invalid(field: "HERALD_SECRET_KEY", "set a new key there and the old one in HERALD_SECRET_KEY_PREVIOUS, then run this again")
        }
        let fresh = Self.newKey()
        try replace(with: [fresh] + (try Self.read(file)), in: file)
        return fresh.id
    }

    /// Drops from the file every key but the current one and those in `used`.
    public func prune(keeping used: Set<String>) throws -> [String] {
        guard let file, !isPending else { return [] }
        let all = try Self.read(file)
        let kept = all.enumerated().filter { $0.offset == 0 || used.contains($0.element.id) }.map(\.element)
        try replace(with: kept, in: file)
        return all.map(\.id).filter { id in !kept.contains { $0.id == id } }
    }

    private func replace(with keys: [Key], in file: String) throws {
        let temporary = try Self.writeTemporary(keys, beside: file)
        // Renamed over the old file: a crash leaves one whole file or the other.
        if rename(temporary, file) != 0 {
            unlink(temporary)
            throw HeraldError.invalid(field: "secret-key-file", "cannot replace \(file)")
        }
        let modified = Self.modificationDate(file)
        state.withLock { $0 = State(keys: keys, pending: false, modified: modified) }
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

    static func modificationDate(_ file: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: file))?[.modificationDate] as? Date
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

    /// Writes `keys` to a new file of a name of its own beside `file`, readable by its owner
    /// only from the moment it exists (open with O_EXCL and mode 0600, not chmod afterwards).
    static func writeTemporary(_ keys: [Key], beside file: String) throws -> String {
        let folder = (file as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            if let reason = FileError.makeFolder(folder, mode: 0o700) {
                throw HeraldError.invalid(field: "secret-key-file", "cannot make the folder \(folder) for \(file): \(reason)")
            }
        }
        let text = "# Herald's secret keys: the first seals, every one opens. Back it up apart from the database.\n"
            + keys.map { "\($0.id) \($0.bytes.base64EncodedString())" }.joined(separator: "\n") + "\n"
        let temporary = file + ".\(getpid()).\(Secrets.random(bytes: 6)).new"
        let descriptor = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw HeraldError.invalid(field: "secret-key-file", "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0 else {
            unlink(temporary)
            throw HeraldError.invalid(field: "secret-key-file", "cannot write \(temporary)")
        }
        return temporary
    }
}
