import Foundation
import HeraldCore
import HeraldStore
import HummingbirdBcrypt
import NIOPosix

/// Passwords and logins. Hashing is bcrypt, run on a thread pool: at cost 12 it takes a
/// quarter of a second, which must not stall the server's event loops.
public struct Accounts: Sendable {
    let store: Store
    let bcryptCost: UInt8

    public init(store: Store, bcryptCost: UInt8 = 12) {
        self.store = store
        self.bcryptCost = bcryptCost
    }

    /// The shortest password Herald accepts.
    public static let minimumPasswordLength = 10

    public func hash(_ password: String) async throws -> String {
        let cost = bcryptCost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// The user whose email and password these are, if both match and the user is active.
    public func login(email: String, password: String) async throws -> User? {
        guard let (user, hash) = try await store.users.credentials(email: email) else {
            // Hash anyway, so a wrong email takes as long as a wrong password.
            _ = try await self.hash(password)
            return nil
        }
        let ok = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        return ok && user.isActive ? user : nil
    }

    /// Creates a user after checking the password's length.
    public func createUser(email: String, name: String, role: User.Role, password: String, timeZone: String) async throws -> User {
        guard password.count >= Accounts.minimumPasswordLength else {
            throw HeraldError.invalid(field: "password", "must be at least \(Accounts.minimumPasswordLength) characters")
        }
        guard password.utf8.count <= 72 else {
            // bcrypt reads only the first 72 bytes; a longer password would be silently cut.
            throw HeraldError.invalid(field: "password", "must be at most 72 bytes")
        }
        return try await store.users.create(email: email, name: name, role: role, passwordHash: try await hash(password), timeZone: timeZone)
    }

    /// On a database with no users, creates the first admin with a random one-time password
    /// and returns both; otherwise nil. There is no fixed default password.
    public func bootstrapAdmin(email: String = "admin@herald.local", timeZone: String = "UTC") async throws -> (User, String)? {
        guard try await store.users.count() == 0 else { return nil }
        let password = Secrets.random(bytes: 12)
        let user = try await createUser(email: email, name: "Admin", role: .admin, password: password, timeZone: timeZone)
        return (user, password)
    }
}
