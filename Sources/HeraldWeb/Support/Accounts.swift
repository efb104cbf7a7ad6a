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

    /// Why `password` cannot be used, if it cannot.
    public static func passwordProblem(_ password: String) -> String? {
        if password.count < minimumPasswordLength { return "must be at least \(minimumPasswordLength) characters" }
        // bcrypt reads only the first 72 bytes; a longer password would be silently cut.
        if password.utf8.count > 72 { return "must be at most 72 bytes" }
        return nil
    }

    /// Creates a user after checking the password's length.
    public func createUser(email: String, name: String, role: User.Role, password: String, timeZone: String) async throws -> User {
        var problems = ProblemList()
        problems.add(contentsOf: Accounts.newUserProblems(email: email, name: name, password: password, timeZone: timeZone))
        try problems.check()
        return try await store.users.create(email: email, name: name, role: role, passwordHash: try await hash(password), timeZone: timeZone)
    }

    /// Every problem of a new user's details at once (the address's being taken is the store's
    /// to find), so that a form or a request is mended in one go.
    static func newUserProblems(email: String, name: String, password: String, timeZone: String) -> [Problem] {
        var problems = UserStore.problems(email: email, name: name, timeZone: timeZone)
        if let reason = Accounts.passwordProblem(password) { problems.append(Problem(field: "password", reason: reason)) }
        return problems
    }

    /// ``newUserProblems(email:name:password:timeZone:)``, and when there are any, the address's
    /// being taken too, so that it is not said only once the others are mended. (Alone, the
    /// clash is the store's to find: a 409.)
    func newUserProblemsWithClash(email: String, name: String, password: String, timeZone: String) async throws -> [Problem] {
        var problems = Accounts.newUserProblems(email: email, name: name, password: password, timeZone: timeZone)
        if !problems.isEmpty, !problems.contains(where: { $0.field == "email" }),
           try await store.users.find(email: email.trimmingCharacters(in: .whitespaces)) != nil {
            problems.append(Problem(field: "email", reason: "already in use"))
        }
        return problems
    }

    /// Sets a user's password, by themselves or an admin (nil: the operator). Every session of
    /// the user ends and every API token is revoked; the answer carries the new session epoch.
    public func setPassword(of userID: Int64, to password: String, field: String = "password", by actor: User?) async throws -> User {
        if let reason = Accounts.passwordProblem(password) { throw HeraldError.invalid(field: field, reason) }
        return try await store.users.setPassword(userID, hash: try await hash(password), by: actor)
    }

    /// A new API token of `user`, made from a logged-in session only (`viaToken` false): a
    /// token that could make tokens would outlive its own revocation through its offspring.
    /// The secret is returned once, here.
    public func createToken(for user: User, name: String, expiresInDays: Int?, viaToken: Bool) async throws -> (token: APIToken, secret: String) {
        guard !viaToken else {
            throw HeraldError.forbidden("API tokens are made from a logged-in session (the Account page), not with another token")
        }
        return try await store.tokens.create(for: user.id, name: name, expiresInDays: expiresInDays)
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
