import Foundation
import HeraldCore
@testable import HeraldStore
import SQLKit
import Testing

/// The SQLite file's housekeeping and its connections' lifetime.
@Suite struct SQLiteStorageTests {
    /// A transaction larger than the limit grows the WAL past it; once SQLite starts the WAL
    /// again, the file is cut back to the limit instead of keeping that size until the end.
    @Test func theWALIsCutBackAfterALargeTransaction() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("herald-wal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("wal.sqlite").path
        let storage = try await SQLiteStorage(path: path, readers: 1, logger: TestDatabase.logger)
        func walSize() throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? NSNumber)?.intValue ?? 0
        }
        try await storage.transaction { db in try await db.raw("CREATE TABLE filler (b BLOB)").run() }
        let rows = SQLiteStorage.walSizeLimit / 4000 + 2_000
        try await storage.transaction { db in
            try await db.raw("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(literal: rows))
                INSERT INTO filler SELECT randomblob(4000) FROM n
                """).run()
        }
        let grown = try walSize()
        #expect(grown > SQLiteStorage.walSizeLimit, "the test's transaction must outgrow the limit")
        // The commit above checkpointed the WAL (it holds far more than 1,000 pages, and no one
        // reads); the next transaction starts it again from its beginning, and cuts the file.
        for i in 0..<3 {
            try await storage.transaction { db in try await db.raw("INSERT INTO filler VALUES (\(bind: i))").run() }
        }
        let after = try walSize()
        #expect(after <= SQLiteStorage.walSizeLimit, "WAL of \(after) bytes after a restart (grown to \(grown))")
        await storage.close()
    }

    /// After the store closed, a task that asks for a connection (a checkpoint started as it
    /// closed, a request during shutdown) gets an error at once instead of waiting forever.
    @Test func aClosedStorageAnswersWithAnError() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("herald-closed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let storage = try await SQLiteStorage(path: dir.appendingPathComponent("closed.sqlite").path, readers: 1, logger: TestDatabase.logger)
        await storage.close()
        await #expect(throws: HeraldError.self) { try await storage.read { db in try await db.raw("SELECT 1").run() } }
        await #expect(throws: HeraldError.self) { try await storage.transaction { db in try await db.raw("SELECT 1").run() } }
    }
}

/// The pool of SQLite connections, on plain values.
@Suite struct ResourcePoolTests {
    @Test func afterDrainingEveryRequestFails() async throws {
        let pool = ResourcePool([1, 2])
        #expect(try await pool.with { $0 } > 0)
        #expect(await pool.drain().sorted() == [1, 2])
        await #expect(throws: HeraldError.self) { try await pool.with { $0 } }
    }

    /// A resource never given back: the drain gives up after its patience with what came
    /// back, and a task that was waiting for a resource then gets an error, not silence.
    @Test func waitersLeftWhenTheDrainGivesUpFail() async throws {
        let pool = ResourcePool([7])
        let held = try await pool.take()
        #expect(held == 7)
        let waiter = Task { try await pool.with { $0 } }
        // Let the waiter queue up before the drain begins.
        try await Task.sleep(for: .milliseconds(50))
        let drained = await pool.drain(patience: .milliseconds(100))
        #expect(drained.isEmpty)
        await #expect(throws: HeraldError.self) { try await waiter.value }
    }

    /// Those waiting when the drain begins are still served, and the drain waits for them.
    @Test func theDrainServesThoseAlreadyWaiting() async throws {
        let pool = ResourcePool([7])
        let held = try await pool.take()
        let waiter = Task { try await pool.with { $0 * 2 } }
        try await Task.sleep(for: .milliseconds(50))
        async let drained = pool.drain()
        try await Task.sleep(for: .milliseconds(50))
        await pool.give(held)
        #expect(try await waiter.value == 14)
        #expect(await drained == [7])
    }
}
