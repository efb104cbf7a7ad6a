import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore
import HeraldWeb

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage users.", subcommands: [Create.self, List.self, Token.self])

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
            let store = try await db.openStore(logger: try db.logger("herald.user"))
            let given = ProcessInfo.processInfo.environment["HERALD_PASSWORD"]
            let password = given ?? Secrets.random(bytes: 12)
            do {
                let user = try await Accounts(store: store).createUser(email: email, name: name, role: role, password: password, timeZone: timeZone)
                print("Created \(user.role.rawValue) \(user.email) (id \(user.id)).")
                if given == nil { print("Password (shown once): \(password)") }
                await store.close()
            } catch let error as HeraldError {
                await store.close()
                throw CLIError(error.cliText)
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

        func run() async throws {
            let store = try await db.openStore(logger: try db.logger("herald.user"))
            do {
                guard let user = try await store.users.all().first(where: { $0.email.lowercased() == email.lowercased() }) else {
                    throw CLIError("--email: no user \(email)")
                }
                print(try await store.tokens.create(for: user.id, name: name).secret)
                await store.close()
            } catch {
                await store.close()
                throw error
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var db: DatabaseOptions

        func run() async throws {
            let store = try await db.openStore(logger: try db.logger("herald.user"))
            for user in try await store.users.all() {
                print("\(user.id)\t\(user.role.rawValue)\t\(user.email)\t\(user.name)")
            }
            await store.close()
        }
    }
}
