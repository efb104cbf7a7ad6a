import Foundation
import Hummingbird
import HeraldCore
import HeraldStore
import NIOPosix
import Synchronization

/// Uploaded CSV files waiting between the import steps.
struct ImportUploads: Sendable {
    let folder: String
    /// The page's imports by upload, running and done (see ``ImportRuns``).
    let runs = ImportRuns()

    /// Uploads older than this are removed when the next one arrives.
    static let maxAge: TimeInterval = 24 * 3600

    /// Streams a multipart body's file part to disk; returns the new upload's id, or nil
    /// when the form held no file (or an empty one). With `csrf` (a session's upload), the
    /// form's `_csrf` field, which comes before the file, must match before anything is stored.
    func receive(_ body: RequestBody, boundary: String, user: Int64, limit: Int, csrf: String?) async throws -> String? {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let id = Secrets.random(bytes: 18)
        let path = "\(folder)/\(user)-\(id).csv"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw HeraldError(.invalid, "the upload could not be stored")
        }
        let reader = MultipartFileReader(boundary: boundary)
        var total = 0
        do {
            for try await buffer in body {
                total += buffer.readableBytes
                guard total <= limit else {
                    throw HeraldError.invalid(field: "file", "is larger than \(limit / 1024 / 1024) MB")
                }
                let out = try reader.feed(buffer.readableBytesView)
                if let csrf, reader.sawFile || reader.fields["_csrf"] != nil {
                    guard let presented = reader.fields["_csrf"], Secrets.constantTimeEquals(presented, csrf) else {
                        throw HeraldError.forbidden("the form has expired or did not come from Herald; reload the page and try again")
                    }
                }
                if !out.isEmpty { try await NIOThreadPool.singleton.runIfActive { handle.write(Data(out)) } }
            }
            try handle.close()
        } catch {
            try? handle.close()
            remove(path)
            throw error
        }
        guard reader.sawFile, reader.fileBytes > 0 else {
            remove(path)
            return nil
        }
        // Only now, with the form's token checked: a forged upload must not clear someone's.
        sweep(for: user, keeping: path)
        return id
    }

    /// Writes a whole request body (an API import's CSV) to a new file and returns its path;
    /// 413 beyond `limit` bytes, with nothing left behind.
    func spool(_ body: RequestBody, user: Int64, limit: Int) async throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = "\(folder)/api-\(user)-\(Secrets.random(bytes: 18)).csv"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw HeraldError(.invalid, "the upload could not be stored")
        }
        var total = 0
        do {
            for try await buffer in body {
                total += buffer.readableBytes
                guard total <= limit else {
                    throw HTTPError(.contentTooLarge, message: "the CSV is larger than \(limit / 1024 / 1024) MB; split it")
                }
                let bytes = Data(buffer.readableBytesView)
                try await NIOThreadPool.singleton.runIfActive { handle.write(bytes) }
            }
            try handle.close()
        } catch {
            try? handle.close()
            remove(path)
            throw error
        }
        return path
    }

    /// The file of upload `id`, if it exists and belongs to `user`.
    func path(_ id: String, user: Int64) throws -> String {
        // Ids are base64url: anything else (a slash, dots) never names an upload.
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw HeraldError.notFound("no upload '\(id)'")
        }
        let path = "\(folder)/\(user)-\(id).csv"
        guard FileManager.default.fileExists(atPath: path) else {
            throw HeraldError.notFound("the uploaded file is gone (it was imported, cancelled or is older than a day); upload it again")
        }
        return path
    }

    func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// Removes uploads older than ``maxAge``, and `user`'s oldest beyond ``maxPerUser`` with
    /// `newest` (just stored): the disk an importer can fill is bounded.
    func sweep(for user: Int64, keeping newest: String) {
        let cutoff = Date().addingTimeInterval(-ImportUploads.maxAge)
        var mine: [(path: String, modified: Date)] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let path = "\(folder)/\(name)"
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { continue }
            if modified < cutoff {
                remove(path)
            } else if name.hasPrefix("\(user)-"), path != newest {
                mine.append((path, modified))
            }
        }
        for old in mine.sorted(by: { $0.modified > $1.modified }).dropFirst(ImportUploads.maxPerUser - 1) { remove(old.path) }
    }

    /// Uploads a user may have waiting for their column mapping at once.
    static let maxPerUser = 3

    /// The header and the first data row, read from the start of the file.
    static func preview(_ path: String) async throws -> (header: [String], sample: [String]) {
        var parser = CSVParser()
        var rows: [CSVParser.Row] = []
        do {
            for try await chunk in chunks(path, chunkSize: 16 * 1024) {
                rows += try parser.feed(chunk)
                if rows.count >= 2 { break }
            }
            if rows.count < 2 { rows += try parser.finish() }
        } catch let error as CSVParser.Error {
            if rows.isEmpty { throw HeraldError.invalid(field: "file", error.description) }
        }
        guard let header = rows.first?.fields, !header.isEmpty else {
            throw HeraldError.invalid(field: "file", "the file is empty; the first line must name the columns")
        }
        return (header, rows.count > 1 ? rows[1].fields : [])
    }

    /// The file's bytes, read a chunk at a time on the thread pool as the importer asks.
    static func chunks(_ path: String, chunkSize: Int = 64 * 1024) -> ByteChunks {
        let file = ReadOnlyFile(path: path)
        return ByteChunks(unfolding: { try await file.read(chunkSize) })
    }
}

/// A file read from start to end, one chunk at a time.
///
/// `@unchecked Sendable` is sound: its only user is `AsyncThrowingStream(unfolding:)`, which
/// calls `read` again only after the previous call returned, so the handle is never used
/// by two tasks at once.
private final class ReadOnlyFile: @unchecked Sendable {
    let path: String
    var handle: FileHandle?
    var done = false
    init(path: String) { self.path = path }
    deinit { try? handle?.close() }

    func read(_ count: Int) async throws -> [UInt8]? {
        if done { return nil }
        return try await NIOThreadPool.singleton.runIfActive { () throws -> [UInt8]? in
            if self.handle == nil {
                guard let h = FileHandle(forReadingAtPath: self.path) else {
                    throw HeraldError.notFound("the uploaded file is gone; upload it again")
                }
                self.handle = h
            }
            let data = try self.handle!.read(upToCount: count) ?? Data()
            if data.isEmpty {
                self.done = true
                try? self.handle?.close()
                self.handle = nil
                return nil
            }
            return [UInt8](data)
        }
    }
}

/// The imports the page started, by user and upload: at most one runs for a file, and its
/// report is kept for a day after the file is deleted. A second click on Import, a reload of
/// the report or the back button then shows the import that ran, instead of running the file
/// twice (with duplicates allowed, every row again) or saying that the file is gone. Held in
/// memory: after a restart the records are there and only the report is forgotten.
final class ImportRuns: Sendable {
    enum State: Sendable {
        case running
        case done(ImportReport, at: Date)
    }

    private let states = Mutex<[String: State]>([:])
    /// Reports kept at most, the oldest dropped first.
    static let kept = 200

    static func key(_ id: String, user: Int64) -> String { "\(user)-\(id)" }

    func state(_ id: String, user: Int64) -> State? {
        states.withLock { $0[Self.key(id, user: user)] }
    }

    /// Marks the upload's import as running and returns nil, or returns the state of the
    /// import that already ran or runs for it (and marks nothing).
    func begin(_ id: String, user: Int64) -> State? {
        states.withLock { states in
            let key = Self.key(id, user: user)
            if let state = states[key] { return state }
            states[key] = .running
            return nil
        }
    }

    /// Ends the upload's run: with a report when its rows are committed; without, the upload
    /// may be imported again (a dry run, a rolled-back or failed import).
    func finish(_ id: String, user: Int64, report: ImportReport?) {
        states.withLock { states in
            let key = Self.key(id, user: user)
            guard let report else { states[key] = nil; return }
            let now = Date()
            states[key] = .done(report, at: now)
            let cutoff = now.addingTimeInterval(-ImportUploads.maxAge)
            states = states.filter { if case .done(_, let at) = $0.value { at > cutoff } else { true } }
            let done = states.compactMap { entry -> (String, Date)? in
                if case .done(_, let at) = entry.value { (entry.key, at) } else { nil }
            }
            for (old, _) in done.sorted(by: { $0.1 > $1.1 }).dropFirst(Self.kept) { states[old] = nil }
        }
    }
}
