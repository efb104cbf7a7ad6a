import Foundation
import HeraldCore
#if canImport(Glibc)
import Glibc
#endif

/// The folder where a `herald` process keeps what is its own: its node name (which names
/// its claims on messages) and its delivery journal. Each process needs its own; the folder
/// is locked while the process runs, so a second one on it fails at start with a clear error.
public final class StateDirectory: Sendable {
    public let url: URL
    /// Stable across restarts: a restarted process recognises its claims by it.
    public let node: String
    private let lockDescriptor: Int32

    public init(path: String) throws {
        url = URL(fileURLWithPath: path).standardizedFileURL
        if let reason = FileError.makeFolder(url.path) {
            throw HeraldError.invalid(field: "state-dir", "cannot make the folder \(url.path): \(reason)")
        }
        let lockPath = url.appendingPathComponent("lock").path
        let fd = open(lockPath, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw HeraldError.invalid(field: "state-dir", "cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw HeraldError.conflict("another herald process is using the state folder \(url.path); give each process its own --state-dir")
        }
        lockDescriptor = fd
        let nodeFile = url.appendingPathComponent("node")
        if let saved = try? String(contentsOf: nodeFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !saved.isEmpty {
            node = saved
        } else {
            let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "herald"
            node = "\(host)-\(UUID().uuidString.prefix(8).lowercased())"
            try Data((node + "\n").utf8).write(to: nodeFile, options: .atomic)
        }
    }

    /// Where the delivery journal lives.
    public var journal: URL { url.appendingPathComponent("journal") }

    deinit { close(lockDescriptor) }
}
