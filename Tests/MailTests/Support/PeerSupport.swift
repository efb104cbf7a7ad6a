import ChildProcess
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Helpers to run real peers (aiosmtpd, smtp-sink, Python's email and dkimpy) as
/// subprocesses on free loopback ports.
///
/// With `HERALD_REQUIRE_PEERS=1` (set by scripts/test.sh) a missing peer fails the test;
/// otherwise the test is skipped with a message saying what is missing.
enum Peers {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Peers").path
    static let required = ProcessInfo.processInfo.environment["HERALD_REQUIRE_PEERS"] == "1"

    static func python() -> String? {
        for candidate in ["/usr/bin/env"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return nil
    }

    /// True when `module` can be imported by python3.
    static func hasPythonModule(_ module: String) async -> Bool {
        (try? await run(["python3", "-c", "import \(module)"]).status) == 0
    }

    static func smtpSinkPath() -> String? {
        ["/usr/sbin/smtp-sink", "/usr/bin/smtp-sink"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Records the absence of a peer: a failure when peers are required, else a skip note.
    /// Returns false so callers can `guard Peers.available(…) else { return }`.
    static func available(_ present: Bool, _ what: String) -> Bool {
        if present { return true }
        if required {
            Issue.record("\(what) is missing and HERALD_REQUIRE_PEERS=1")
        } else {
            print("SKIPPED: \(what) is not installed (set HERALD_REQUIRE_PEERS=1 to make this a failure)")
        }
        return false
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a command to completion on a thread of its own (used for short helper scripts only).
    ///
    /// Waiting for a child process blocks a thread; on the few threads of the concurrency pool
    /// that starved our own SMTP server's async handler while Python waited on it, so the
    /// wait happens on a detached thread instead.
    static func run(_ arguments: [String], input: Data? = nil) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try runBlocking(arguments, input: input) })
            }
        }
    }

    /// Runs a command to completion, blocking the calling thread: only through ``run(_:input:)``.
    private static func runBlocking(_ arguments: [String], input: Data? = nil) throws -> Output {
        let result = try ChildProcess.run(arguments, input: input.map { [UInt8]($0) })
        return Output(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// A port nobody listens on right now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "mail-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A self-signed certificate for `localhost` and 127.0.0.1, made with the openssl CLI.
    static func makeCertificate(in directory: String) async throws -> (cert: String, key: String, pem: String) {
        let cert = directory + "/cert.pem", key = directory + "/key.pem"
        let result = try await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                              "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        guard result.status == 0 else { throw PeerError("openssl failed: \(result.stderr)") }
        return (cert, key, try String(contentsOfFile: cert, encoding: .utf8))
    }
}

struct PeerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A long-running peer process, stopped by ``stop()`` (stdin closed, then SIGKILL).
final class PeerProcess: Sendable {
    let process: ChildProcess
    let logPath: String

    init(_ arguments: [String], logPath: String) throws {
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process = try ChildProcess(arguments, input: .pipe, output: .file(logPath), error: .file(logPath))
    }

    /// Waits until the log contains `marker` (or the port accepts connections).
    func waitUntilReady(marker: String? = "READY", port: Int? = nil, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let marker, let text = try? String(contentsOfFile: logPath, encoding: .utf8), text.contains(marker) { return }
            if let port, Self.canConnect(port) { return }
            guard process.isRunning else {
                throw PeerError("peer exited: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw PeerError("peer not ready after \(timeout): \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// SIGKILL: peers hold nothing that needs a clean exit.
    func stop() {
        process.closeInput()
        process.send(SIGKILL)
        process.wait()
    }
}
