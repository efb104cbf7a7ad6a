import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore
import Logging

/// Options every command that opens the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Where the data lives: a path or sqlite:///path for SQLite, or postgres://user:pass@host:port/db. Env: HERALD_DATABASE.",
        valueName: "url"))
    var database: String = ProcessInfo.processInfo.environment["HERALD_DATABASE"] ?? "herald.sqlite"

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
        do { return try DatabaseLocation(parsing: database) } catch let error as HeraldError {
            throw ValidationError("--database: \(error.message)")
        }
    }

    /// Opens the store, migrating it, with errors a user can act on.
    func openStore(logger: Logger) async throws -> Store {
        let location = try location()
        do {
            return try await Store.open(location, logger: logger)
        } catch let error as HeraldError {
            throw CLIError("cannot open the database \(location): \(error.message)")
        } catch {
            throw CLIError("cannot open the database \(location): \(error)")
        }
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
}
