import Foundation
import HeraldCore
@testable import HeraldStore
import Testing

/// A wrong PostgreSQL URL fails at once with what the server (or the system) said, not after
/// the pool's retries as a server that "did not answer".
@Suite struct PostgresConnectErrorTests {
    static func message(_ url: String) async -> String? {
        do {
            let database = try await DatabaseLocation.postgres(url: url).open(logger: TestDatabase.logger)
            await database.close()
            return nil
        } catch let error as HeraldError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func aMissingDatabaseOrRoleIsNamed() async throws {
        guard let base = TestDatabase.postgresURL, var components = URLComponents(string: base) else {
            if TestDatabase.required { Issue.record("HERALD_TEST_POSTGRES_URL is not set") }
            return
        }
        components.path = "/herald_no_such_database"
        let missing = await Self.message(components.string!)
        #expect(missing?.contains("refused: database \"herald_no_such_database\" does not exist") == true, "\(missing ?? "opened")")
        components.path = "/postgres"
        components.user = "herald_no_such_role"
        let role = await Self.message(components.string!)
        #expect(role?.contains("refused:") == true && role?.contains("herald_no_such_role") == true, "\(role ?? "opened")")
    }

    @Test func aClosedPortSaysConnectionRefused() async throws {
        let message = await Self.message("postgres://herald@127.0.0.1:1/postgres")
        #expect(message?.contains("cannot connect to PostgreSQL at 127.0.0.1:1: Connection refused") == true, "\(message ?? "opened")")
    }
}
