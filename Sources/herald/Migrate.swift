import ArgumentParser
import HeraldStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring the database's schema up to date, then exit.")

    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        let logger = try db.logger("herald.migrate")
        let database = try await db.location().open(logger: logger)
        defer { Task { await database.close() } }
        let applied = try await Migrator(database: database, logger: logger).migrate()
        print(applied.isEmpty ? "The schema is up to date." : "Applied migrations \(applied.map(String.init).joined(separator: ", ")).")
        await database.close()
    }
}
