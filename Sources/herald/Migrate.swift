import ArgumentParser
import HeraldStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring the database's schema up to date, then exit.")

    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        let logger = try db.logger("herald.migrate")
        let database = try await db.location().open(logger: logger)
        let applied: [Int]
        do {
            applied = try await Migrator(database: database, logger: logger).migrate()
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        print(applied.isEmpty ? "The schema is up to date." : "Applied migrations \(applied.map(String.init).joined(separator: ", ")).")
    }
}
