import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore
import Logging

/// Options every command that opens the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Where the data lives: a path or sqlite:///path for SQLite, or postgres://user:pass@host:port/db. Env: HERALD_DATABASE. (default: herald.sqlite)",
        valueName: "url"))
    var database: String?

    /// `--database`, HERALD_DATABASE, or herald.sqlite. Read here, not as the option's default:
    /// `--help` prints a default, and the environment's URL may hold a password.
    var databaseURL: String {
        database ?? Environment.value("HERALD_DATABASE") ?? "herald.sqlite"
    }

    @Option(name: .long, help: ArgumentHelp(
        """
        The file of the keys that seal the secrets kept in the database (relay password, webhook \
        secrets, signing key, DKIM keys), made at first use; every process on one database needs \
        the same. Default: secret.key in the state folder. Env: HERALD_SECRET_KEY_FILE, or the key \
        itself in HERALD_SECRET_KEY.
        """, valueName: "path"))
    var secretKeyFile: String? = Environment.value("HERALD_SECRET_KEY_FILE")

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error. Env: HERALD_LOG_LEVEL.")
    var logLevel: String = ProcessInfo.processInfo.environment["HERALD_LOG_LEVEL"] ?? "info"

    func logger(_ label: String) throws -> Logger {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level: '\(logLevel)' is not one of trace, debug, info, notice, warning, error")
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }

    func location() throws -> DatabaseLocation {
        do { return try DatabaseLocation(parsing: databaseURL) } catch let error as HeraldError {
            throw ValidationError("--database: \(error.message)")
        }
    }

    /// The keys that seal stored secrets: `--secret-key-file`, or `secret.key` in `stateDir`
    /// (the state folder's default when nil).
    func keyring(stateDir: String? = nil) throws -> SecretKeyring {
        try DatabaseOptions.keyring(file: secretKeyFile, stateDir: stateDir)
    }

    static func keyring(file: String?, stateDir: String? = nil) throws -> SecretKeyring {
        let folder = stateDir ?? Environment.value("HERALD_STATE_DIR") ?? "herald-state"
        do {
            return try SecretKeyring.load(file: file ?? folder + "/secret.key")
        } catch let error as HeraldError {
            throw CLIError(error.optionText)
        }
    }

    /// Opens the store, migrating it, with errors a user can act on.
    /// - Parameter mustExist: refuse a SQLite file that is not there, rather than make one: a
    ///   mistyped path for a command that reads (`user list`, `export`) made a new, empty database.
    func openStore(logger: Logger, stateDir: String? = nil, mustExist: Bool = false) async throws -> Store {
        let location = try location()
        if mustExist, case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
            throw CLIError("no database at \(path) (--database, or HERALD_DATABASE); `herald serve` or `herald migrate` makes a new one")
        }
        let keyring = try keyring(stateDir: stateDir)
        do {
            return try await Store.open(location, logger: logger, keyring: keyring)
        } catch let error as HeraldError where error.problems.first?.field == "secret-key-file" {
            // Not the database's fault: the key file (by default in the state folder) cannot be made.
            throw CLIError(error.optionText)
        } catch let error as HeraldError {
            throw CLIError("cannot open the database \(location): \(error.message)")
        } catch {
            throw CLIError("cannot open the database \(location): \(error)")
        }
    }
}

/// The CLI's settings from the environment.
enum Environment {
    /// The variable `name`'s value; nil when it is unset or empty (an empty one means "not given").
    static func value(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A failure the CLI reports in one line and exits non-zero for.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension HeraldError {
    /// The error as CLI output: the message, then each problem on its own line.
    var cliText: String {
        ([message] + (problems.count > 1 ? problems.map { "  - \($0)" } : [])).joined(separator: "\n")
    }

    /// The error's problems as the options they are about say them ("--state-dir: …"), for
    /// an error whose fields are named as the options are; ``cliText`` for one without problems.
    var optionText: String {
        problems.isEmpty ? cliText : problems.map { "--\($0.field): \($0.reason)" }.joined(separator: "\n")
    }
}
