import Foundation
import HeraldCore
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import PostgresNIO
import SQLKit

/// Herald on PostgreSQL, through PostgresNIO's `PostgresClient` pool, for several
/// `herald` processes sharing one database.
public final class PostgresStorage: HeraldDatabase {
    public let kind = DatabaseKind.postgres
    private let client: PostgresClient
    // The pool must run for as long as the storage is used, by CLI commands too, which have
    // no ServiceGroup; so the storage owns the task that runs it and ends it in `close()`.
    private let runTask: Task<Void, Never>
    /// host:port, for messages (never the password).
    private let location: String
    /// For the probe's one direct connection.
    private let connectionConfiguration: PostgresConnection.Configuration
    private let logger: Logger

    public init(url: String, maxConnections: Int = 20, logger: Logger) throws {
        guard let sqlConfiguration = try? SQLPostgresConfiguration(url: url) else {
            throw HeraldError.invalid(field: "database", "cannot read PostgreSQL URL \(DatabaseLocation.redacted(url)); expected postgres://user:pass@host:port/db")
        }
        let core = sqlConfiguration.coreConfiguration
        guard let host = core.host, let port = core.port else {
            throw HeraldError.invalid(field: "database", "PostgreSQL URL needs a host and port")
        }
        let tls: PostgresClient.Configuration.TLS = switch (core.tls.isEnforced, core.tls.isAllowed) {
        case (true, _): .require(core.tls.sslContext!.configuration)
        case (_, true): .prefer(core.tls.sslContext!.configuration)
        default: .disable
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: core.username, password: core.password, database: core.database, tls: tls)
        configuration.options.maximumConnections = maxConnections
        // The pool starts a timer each time a connection goes back idle (its idle timeout, its
        // keep-alive query) and cancels it at the next lease; a cancelled Task.sleep keeps its
        // task and dispatch timer until its deadline. At thousands of leases a second the
        // defaults (60 s, 30 s) held about 20 MB of dead timers while a mass email was sent.
        // No keep-alive query (a connection found dead on use fails that write, which is
        // retried) and idle connections closed after 3 s.
        configuration.options.keepAliveBehavior = nil
        configuration.options.connectionIdleTimeout = .seconds(3)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.location = "\(host):\(port)"
        self.connectionConfiguration = core
        self.logger = logger
        self.runTask = Task { await client.run() }
    }

    /// Answers within `timeout` whether the server can be reached, so that a wrong URL fails
    /// at start with a plain message instead of retrying in the background.
    func probe(timeout: Duration = .seconds(10)) async throws {
        let where_ = location
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // One connection of its own, not the pool's: the pool retries a refused login
                // or a missing database in the background until the timeout, which would then
                // read as a server that does not answer.
                do {
                    let connection = try await PostgresConnection.connect(configuration: self.connectionConfiguration, id: 0, logger: self.logger)
                    try await connection.close()
                } catch let error as PSQLError where error.code == .server {
                    throw HeraldError.invalid(field: "database", "PostgreSQL at \(where_) refused: \(error.serverInfo?[.message] ?? "an error")")
                } catch let error as PSQLError {
                    throw HeraldError.invalid(field: "database", "cannot connect to PostgreSQL at \(where_): \(Self.reason(error.underlying))")
                } catch {
                    throw HeraldError.invalid(field: "database", "cannot connect to PostgreSQL at \(where_): \(Self.reason(error))")
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw HeraldError.invalid(field: "database", "PostgreSQL at \(where_) did not answer within \(timeout.components.seconds) s")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// What went wrong connecting, in words (the system's for a refused or unreachable port).
    static func reason(_ error: (any Error)?) -> String {
        switch error {
        case let error as IOError: String(cString: strerror(error.errnoCode))
        case let error as NIOConnectionError: reason(error.connectionErrors.first?.error ?? error.dnsAAAAError ?? error.dnsAError)
        case nil: "no reason given"
        case let error?: "\(error)"
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(PostgresSQLDatabase(connection))
        }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await PostgresSQLDatabase(connection).inTransaction(begin: "BEGIN", body)
        }
    }

    public func statement<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await read(body)
    }

    public func bulkTransaction<T: Sendable>(_ body: @Sendable (any SQLDatabase, any RowInserter) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await client.withConnection { connection in
            try await PostgresSQLDatabase(connection).inTransaction(begin: "BEGIN") { db in
                try await body(db, PostgresRowInserter(connection: connection, logger: logger))
            }
        }
    }

    public func close() async {
        runTask.cancel()
        await runTask.value
    }
}

/// PostgreSQL's bulk insert: `COPY … FROM STDIN` in text format on the transaction's own
/// connection, sent in chunks of about 64 KB as the rows are written out.
struct PostgresRowInserter: RowInserter {
    let connection: PostgresConnection
    let logger: Logger

    func insert(into table: String, columns: [String], rows: [[SQLCell]]) async throws {
        guard !columns.isEmpty, !rows.isEmpty else { return }
        precondition(rows.allSatisfy { $0.count == columns.count }, "a cell for each column")
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(72 * 1024)
            for row in rows {
                for (index, cell) in row.enumerated() {
                    if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
                    Self.write(cell, to: &buffer)
                }
                buffer.writeInteger(UInt8(ascii: "\n"))
                if buffer.readableBytes >= 64 * 1024 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
    }

    /// A value in COPY's text format: `\N` for NULL; backslash, tab, newline and carriage
    /// return escaped in text.
    static func write(_ cell: SQLCell, to buffer: inout ByteBuffer) {
        switch cell {
        case .null: buffer.writeStaticString("\\N")
        case .integer(let value): buffer.writeString(String(value))
        case .real(let value): buffer.writeString("\(value)")
        case .text(let value):
            let escaped = value.utf8.contains { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }
            guard escaped else { buffer.writeString(value); return }
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
                case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
                default: buffer.writeInteger(byte)
                }
            }
        }
    }
}
