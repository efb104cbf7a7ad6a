import Foundation
import HeraldCore
import HeraldStore
import Synchronization

/// An append-only file in which the engine notes each message's outcome the moment the SMTP
/// server answers, before the outcome reaches the database in a batch.
///
/// A `write(2)` lands in the kernel's page cache, which survives the process being killed
/// (`kill -9`); after a restart the engine replays the journal into the database before it
/// gives back the messages it had claimed. So a message whose transaction completed is not
/// sent again: the only messages that can be are those whose final "." was sent and whose
/// reply had not been noted — at most one per open connection (see ``DeliveryEngine``).
/// (A power cut can lose what the page cache held; the journal does not fsync per message.)
/// A line that cannot be written is an error, never ignored: see ``append(_:)``.
///
/// Lines go to numbered segment files; a segment is deleted once every outcome in it is in
/// the database, so the journal stays small however long a mass email is.
public final class DeliveryJournal: Sendable {
    private struct State {
        /// The open segment's file descriptor; -1 when none is open.
        var descriptor: Int32 = -1
        var segment = 0
        var linesInSegment = 0
        /// Outcomes written and not yet committed, per segment.
        var pending: [Int: Int] = [:]
    }

    let directory: URL
    let segmentLines: Int
    private let state = Mutex(State())

    /// Opens the journal in `directory` (made if missing). Call ``replay()`` before writing.
    public init(directory: URL, segmentLines: Int = 20_000) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.directory = directory
        self.segmentLines = segmentLines
    }

    /// The outcomes noted in the segments left by an earlier run, oldest first.
    public func replay() throws -> [MessageOutcome] {
        var outcomes: [MessageOutcome] = []
        for file in try segmentFiles() {
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                // A line cut short by the kill has fewer fields and is ignored: its message
                // counts as unanswered.
                if let outcome = Self.decode(line) { outcomes.append(outcome) }
            }
        }
        return outcomes
    }

    /// Deletes every segment (after their outcomes are in the database).
    public func clear() throws {
        state.withLock { state in
            if state.descriptor >= 0 { close(state.descriptor) }
            state = State()
        }
        for file in try segmentFiles() { try FileManager.default.removeItem(at: file) }
    }

    /// The journal could not be written.
    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Notes an outcome; returns the segment it went to, for ``committed(_:)``.
    ///
    /// - Throws: ``WriteError`` when the line could not be written (a full disk, a read-only
    ///   folder). The engine then hands nothing more to SMTP: an outcome that is not noted
    ///   could be sent again after a crash. The next line goes to a new segment, so that a
    ///   line cut short by the failure stays alone at the end of its file (replay skips it).
    @discardableResult
    public func append(_ outcome: MessageOutcome) throws(WriteError) -> Int {
        let line = Self.encode(outcome)
        let result: Result<Int, WriteError> = state.withLock { state in
            // Plain open(2) and write(2): one system call a line, nothing in between (this
            // runs for every message, on a connection's event loop).
            if state.descriptor < 0 || state.linesInSegment >= segmentLines {
                if state.descriptor >= 0 { close(state.descriptor) }
                state.descriptor = -1
                state.segment += 1
                state.linesInSegment = 0
                let path = directory.appendingPathComponent(String(format: "journal-%08d.log", state.segment)).path
                let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
                guard descriptor >= 0 else {
                    return .failure(WriteError(description: "cannot create \(path): \(String(cString: strerror(errno)))"))
                }
                state.descriptor = descriptor
            }
            var done = 0
            while done < line.count {
                let n = line.withUnsafeBytes { write(state.descriptor, $0.baseAddress! + done, $0.count - done) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    let reason = n < 0 ? String(cString: strerror(errno)) : "nothing was written"
                    close(state.descriptor)
                    state.descriptor = -1
                    return .failure(WriteError(description: "cannot write to \(directory.path): \(reason)"))
                }
                done += n
            }
            state.linesInSegment += 1
            state.pending[state.segment, default: 0] += 1
            return .success(state.segment)
        }
        return try result.get()
    }

    /// Whether a line can be written now: a small file is written and removed. After a
    /// failure, the engine asks this before it sends again.
    public func probe() throws(WriteError) {
        let url = directory.appendingPathComponent("journal-probe.tmp")
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            try Data(repeating: 0x2E, count: 512).write(to: url)
        } catch {
            throw WriteError(description: "cannot write to \(directory.path): \(FileError.reason(error))")
        }
    }

    /// Marks outcomes as in the database: a segment none of whose outcomes is pending, and
    /// that is no longer being written, is deleted.
    public func committed(_ segments: [Int]) {
        let done: [Int] = state.withLock { state in
            for segment in segments { state.pending[segment, default: 0] -= 1 }
            let finished = state.pending.filter { $0.value <= 0 && $0.key != state.segment }.map(\.key)
            for segment in finished { state.pending[segment] = nil }
            return finished
        }
        for segment in done {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(String(format: "journal-%08d.log", segment)))
        }
    }

    private func segmentFiles() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasPrefix("journal-") && $0.pathExtension == "log" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    // id, claim, status, attempts, next attempt, code, enhanced code, sent at, text; tab-separated.
    // (A journal of before claim numbers has the attempt number in the second field, which
    // migration 20 made the claim number of every message claimed then.)
    // Built byte by byte: one line a message, written while the SMTP connection waits.
    static func encode(_ o: MessageOutcome) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(96 + (o.text?.utf8.count ?? 0))
        func field(_ text: some StringProtocol) {
            line.append(contentsOf: text.utf8)
            line.append(9)
        }
        field(String(o.id))
        field(String(o.claim))
        field(o.status.rawValue)
        field(String(o.attempts))
        field(o.nextAttemptAt.map(String.init) ?? "")
        field(o.code.map(String.init) ?? "")
        field(o.enhancedCode ?? "")
        field(o.sentAt.map(String.init) ?? "")
        // The text is the last field but one: a tab or line break in it would split the line.
        for byte in (o.text ?? "").prefix(500).utf8 { line.append(byte == 9 || byte == 10 || byte == 13 ? 32 : byte) }
        line.append(contentsOf: "\tend\n".utf8)
        return line
    }

    static func decode(_ line: Substring) -> MessageOutcome? {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard f.count == 10, f[9] == "end", let id = Int64(f[0]), let claim = Int(f[1]),
              let status = MessageStatus(rawValue: String(f[2])), let attempts = Int(f[3]) else { return nil }
        return MessageOutcome(id: id, claim: claim, status: status, attempts: attempts, nextAttemptAt: Int64(f[4]),
                              code: Int(f[5]), enhancedCode: f[6].isEmpty ? nil : String(f[6]), text: f[8].isEmpty ? nil : Outcome.storable(String(f[8])),
                              sentAt: Int64(f[7]))
    }
}
