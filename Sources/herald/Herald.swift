import ArgumentParser
import Foundation

@main
struct Herald: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "Herald: a CRM with mass email at its heart.",
        discussion: """
            Every option can also be set by an environment variable, named in its help \
            (HERALD_DATABASE, HERALD_HOST, HERALD_PORT, …). Flags win over the environment.
            """,
        subcommands: [Serve.self, Migrate.self, UserCommand.self, SecretsCommand.self, Import.self, Export.self, Bench.self, MassEmailBench.self, SendTest.self],
        defaultSubcommand: nil
    )
}
