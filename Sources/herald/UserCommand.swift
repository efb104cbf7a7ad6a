import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore
import HeraldWeb

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage users.",
        discussion: """
            The operator at the command line may do what an admin may, with one rule kept: the \
            organisation always has an active admin.
            """,
        subcommands: [Create.self, List.self, Token.self, SetRole.self, Deactivate.self, Activate.self, Password.self, HandOver.self])

    /// Opens the store, runs `body`, closes the store, and turns Herald's errors into CLI messages.
    /// - Parameter mustExist: false only for `user create`, which may start a new database.
    static func withStore(_ db: DatabaseOptions, mustExist: Bool = true, _ body: (Store) async throws -> Void) async throws {
        let store = try await db.openStore(logger: try db.logger("herald.user"), mustExist: mustExist)
        do {
            try await body(store)
            await store.close()
        } catch let error as HeraldError {
            await store.close()
            throw CLIError(error.cliText)
        } catch {
            await store.close()
            throw error
        }
    }

    /// Applies `change` to the user with `email` as the operator, and says what happened.
    static func change(_ db: DatabaseOptions, email: String, _ change: UserChange, saying: (User) -> String) async throws {
        try await withStore(db) { store in
            print(saying(try await store.users.change(try await find(email, in: store).id, change, by: nil)))
        }
    }

    /// HERALD_PASSWORD, or a random one that the command prints once (`made`).
    static func password() -> (password: String, made: Bool) {
        if let given = ProcessInfo.processInfo.environment["HERALD_PASSWORD"] { return (given, false) }
        return (Secrets.random(bytes: 12), true)
    }

    static func find(_ email: String, in store: Store, option: String = "--email") async throws -> User {
        guard let user = try await store.users.find(email: email) else { throw CLIError("\(option): there is no user \(email)") }
        return user
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user.",
            discussion: "The password is read from HERALD_PASSWORD, or made at random and printed once.")

        @OptionGroup var db: DatabaseOptions
        @Option(help: "The user's email, used to log in.") var email: String
        @Option(help: "The user's name.") var name: String
        @Option(help: "admin or user.") var role: String = "user"
        @Option(help: "IANA time zone, e.g. Europe/Berlin.") var timeZone: String = "UTC"

        func run() async throws {
            guard let role = User.Role(rawValue: role) else { throw ValidationError("--role: '\(role)' is not admin or user") }
            try await UserCommand.withStore(db, mustExist: false) { store in
                let (password, made) = UserCommand.password()
                let user = try await Accounts(store: store).createUser(email: email, name: name, role: role, password: password, timeZone: timeZone)
                print("Created \(user.role.rawValue) \(user.email) (id \(user.id)).")
                if made { print("Password (shown once): \(password)") }
            }
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an API token for a user and print it (once).",
            discussion: "Use it as `Authorization: Bearer TOKEN` with the JSON API (see /api/openapi.json).")

        @OptionGroup var db: DatabaseOptions
        @Option(help: "The user's email.") var email: String
        @Option(help: "A name to recognise the token by.") var name: String = "command line"
        @Option(help: "Refuse the token after this many days (1–3650); without it the token lasts until revoked.")
        var expiresInDays: Int?

        func run() async throws {
            try await UserCommand.withStore(db) { store in
                let user = try await UserCommand.find(email, in: store)
                print(try await store.tokens.create(for: user.id, name: name, expiresInDays: expiresInDays).secret)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users: id, role, active or not, email, name.")
        @OptionGroup var db: DatabaseOptions

        func run() async throws {
            try await UserCommand.withStore(db) { store in
                for user in try await store.users.all() {
                    print("\(user.id)\t\(user.role.rawValue)\t\(user.isActive ? "active" : "deactivated")\t\(user.email)\t\(user.name)")
                }
            }
        }
    }

    struct SetRole: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-role", abstract: "Make a user an admin, or an admin a user.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "The user's email.") var email: String
        @Option(help: "admin or user.") var role: String

        func run() async throws {
            guard let role = User.Role(rawValue: role) else { throw ValidationError("--role: '\(role)' is not admin or user") }
            try await UserCommand.change(db, email: email, UserChange(role: role)) { "\($0.email) is now \($0.isAdmin ? "an admin" : "a user")." }
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a user from logging in: ends their sessions and revokes their API tokens.",
            discussion: "Their records and mass emails stay; hand them over with `herald user hand-over`.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "The user's email.") var email: String

        func run() async throws {
            try await UserCommand.change(db, email: email, UserChange(isActive: false)) { "Deactivated \($0.email): logged out everywhere, API tokens revoked." }
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a deactivated user log in again (with a password, not with their old sessions or tokens).")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "The user's email.") var email: String

        func run() async throws {
            try await UserCommand.change(db, email: email, UserChange(isActive: true)) { "Activated \($0.email)." }
        }
    }

    struct Password: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's password; their sessions end and their API tokens are revoked.",
            discussion: "The password is read from HERALD_PASSWORD, or made at random and printed once.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "The user's email.") var email: String

        func run() async throws {
            try await UserCommand.withStore(db) { store in
                let user = try await UserCommand.find(email, in: store)
                let (password, made) = UserCommand.password()
                _ = try await Accounts(store: store).setPassword(of: user.id, to: password, by: nil)
                print("Set a new password for \(user.email); their sessions ended and their API tokens were revoked.")
                if made { print("Password (shown once): \(password)") }
            }
        }
    }

    struct HandOver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hand-over",
            abstract: "Give everything one user owns to another: records, mass emails, open tasks, scheduled calls, views, lists, templates.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "The email of the user who owns them now.") var from: String
        @Option(help: "The email of the active user who takes them over.") var to: String

        func run() async throws {
            try await UserCommand.withStore(db) { store in
                let source = try await UserCommand.find(from, in: store, option: "--from")
                let target = try await UserCommand.find(to, in: store, option: "--to")
                let moved = try await store.users.handOver(from: source.id, to: target.id, by: nil)
                print("Handed \(moved.records) records, \(moved.massEmails) mass emails, \(moved.openTasks) open tasks, "
                      + "\(moved.scheduledCalls) scheduled calls, \(moved.views) views, \(moved.lists) lists and "
                      + "\(moved.templates) templates from \(source.email) to \(target.email).")
            }
        }
    }
}
