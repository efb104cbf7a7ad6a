import ArgumentParser
import HeraldCore
import HeraldStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring the database's schema up to date, then exit.")

    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        let logger = try db.logger("herald.migrate")
        let location = try db.location()
        let database: any HeraldDatabase
        do {
            database = try await location.open(logger: logger)
        } catch let error as HeraldError {
            throw CLIError("cannot open the database \(location): \(error.message)")
        }
        let applied: [Int]
        do {
            applied = try await Migrator(database: database, logger: logger).migrate()
        } catch let error as HeraldError {
            await database.close()
            throw CLIError("cannot migrate the database \(location): \(error.message)")
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        print(applied.isEmpty ? "The schema is up to date." : "Applied migrations \(applied.map(String.init).joined(separator: ", ")).")
    }
}
