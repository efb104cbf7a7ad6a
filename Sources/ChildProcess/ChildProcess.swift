#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A child process started with `posix_spawnp`, for the few places Herald (its benchmarks)
/// and its tests run another program.
///
/// Why not Foundation's `Process`: on Linux, up to at least Swift 6.3.1, `Process.run()`
/// copies every `/proc/self/fd` entry's whole 256-byte name, reading past the end of glibc's
/// directory buffer when an entry sits at its end (swift-corelibs-foundation pull request
/// 5472). A process with hundreds of descriptors open, like our test runner, crashed on it
/// now and then (signal 11 in `memmove` under `Process.run()`). Go back to `Process` once
/// the toolchain has that fix.
///
/// The pipes made here are close-on-exec, so one child never holds another's pipe open;
/// the child gets only standard input, output and error and what the parent left open
/// without close-on-exec (SwiftNIO's sockets and SQLite's files are close-on-exec).
public final class ChildProcess: Sendable {
    /// Where a child's standard input comes from.
    public enum Input: Sendable {
        /// `/dev/null`.
        case none
        /// A pipe this process writes to (``run(_:input:)``), or closes (``closeInput()``).
        case pipe
    }

    /// Where a child's standard output or error goes.
    public enum Output: Sendable {
        /// This process's own.
        case inherit
        /// `/dev/null`.
        case discard
        /// Appended to a file (created when missing).
        case file(String)
        /// A pipe this process reads (``run(_:input:)``).
        case capture
    }

    /// What a finished child said and how it ended.
    public struct Result: Sendable {
        /// Its exit status, or 128 + the signal that ended it.
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// A child that could not be started, and why.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The child's process id.
    public let pid: pid_t
    private let input: Int32?
    private let output: Int32?
    private let error: Int32?
    /// The exit status once reaped; `waitpid` is called under this lock, so only once.
    private let reaped = Mutex<Int32?>(nil)
    private let inputOpen = Mutex(true)
    private static let spawning = SpawnLock()

    /// Starts `arguments[0]` (looked up on `PATH` when it has no slash) with the rest as its arguments.
    public init(_ arguments: [String], input: Input = .none, output: Output = .inherit, error: Output = .inherit) throws {
        guard let program = arguments.first else { throw Failure(description: "no program to run") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { for fd in childEnds { close(fd) } }
        func fail(_ what: String) -> Failure {
            for fd in parentEnds { close(fd) }
            return Failure(description: "\(what) for \(program): \(String(cString: strerror(errno)))")
        }
        // A pipe whose ends both close on exec; dup2 in the child clears the flag on the copy.
        // (pipe2 with O_CLOEXEC is hidden from Swift; the spawning lock stands in for its atomicity.)
        func makePipe() throws -> (read: Int32, write: Int32) {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { throw fail("a pipe could not be made") }
            for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (ends[0], ends[1])
        }
        // Held from the first pipe to the spawn: no other child of ours starts while a pipe is
        // not yet close-on-exec and inherits it (its reader would wait for that child's end).
        Self.spawning.lock()
        defer { Self.spawning.unlock() }

        var inputEnd: Int32?
        switch input {
        case .none:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .pipe:
            let ends = try makePipe()
            parentEnds.append(ends.write)
            childEnds.append(ends.read)
            inputEnd = ends.write
            posix_spawn_file_actions_adddup2(&actions, ends.read, 0)
        }
        func route(_ destination: Output, to target: Int32) throws -> Int32? {
            switch destination {
            case .inherit:
                return nil
            case .discard:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
                return nil
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                return nil
            case .capture:
                let ends = try makePipe()
                parentEnds.append(ends.read)
                childEnds.append(ends.write)
                posix_spawn_file_actions_adddup2(&actions, ends.write, target)
                return ends.read
            }
        }
        let outputEnd = try route(output, to: 1)
        let errorEnd = try route(error, to: 2)

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // The child starts with every signal at its default and none blocked, whatever this
        // process ignores or blocks (a test runner may ignore SIGTERM, and SIGPIPE below).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let started = posix_spawnp(&pid, program, &actions, &attributes, &argv, environ)
        guard started == 0 else {
            errno = started
            throw fail("the program could not be started")
        }
        self.pid = pid
        self.input = inputEnd
        self.output = outputEnd
        self.error = errorEnd
    }

    deinit {
        // Each descriptor is closed once: a second close could hit a number reused meanwhile
        // by someone else's socket.
        closeInput()
        for fd in [output, error].compactMap({ $0 }) { close(fd) }
        if isRunning { kill(pid, SIGKILL) }
        wait()
    }

    /// Runs a program to completion, feeding it `input` (nil: nothing) and capturing its
    /// output and error. Blocks the calling thread.
    public static func run(_ arguments: [String], input: [UInt8]? = nil) throws -> Result {
        let child = try ChildProcess(arguments, input: input == nil ? .none : .pipe, output: .capture, error: .capture)
        let (stdout, stderr) = child.exchange(input ?? [])
        return Result(status: child.wait(), stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Writes `bytes` to a piped standard input, then reads captured output and error to
    /// their ends, all at once with poll(2), so that a child filling one pipe while we
    /// write to another cannot deadlock us.
    private func exchange(_ bytes: [UInt8]) -> (stdout: [UInt8], stderr: [UInt8]) {
        var pending = bytes[...]
        var writing = input
        if let fd = writing {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if pending.isEmpty { closeInput(); writing = nil }
        }
        var reading: [Int32: [UInt8]] = [:]
        for fd in [output, error].compactMap({ $0 }) { reading[fd] = [] }
        var open = Set(reading.keys)
        var chunk = [UInt8](repeating: 0, count: 65_536)
        // A child that ends before reading all its input would end us with SIGPIPE; ignored
        // (for good: restoring it would race with other threads), the write says EPIPE.
        if writing != nil { signal(SIGPIPE, SIG_IGN) }
        while !open.isEmpty || writing != nil {
            var polled = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if let fd = writing { polled.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            guard poll(&polled, nfds_t(polled.count), -1) >= 0 || errno == EINTR else { break }
            for entry in polled where entry.revents != 0 {
                if entry.fd == writing {
                    let n = pending.withUnsafeBytes { Glibc.write(entry.fd, $0.baseAddress, $0.count) }
                    if n > 0 { pending = pending.dropFirst(n) }
                    if n < 0 && errno != EAGAIN && errno != EINTR || pending.isEmpty {
                        closeInput()
                        writing = nil
                    }
                } else {
                    let n = chunk.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                    if n > 0 {
                        reading[entry.fd]!.append(contentsOf: chunk[0..<n])
                    } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                        open.remove(entry.fd)
                    }
                }
            }
        }
        return (output.flatMap { reading[$0] } ?? [], error.flatMap { reading[$0] } ?? [])
    }

    /// Closes a piped standard input: the child reads end of file.
    public func closeInput() {
        guard let input else { return }
        inputOpen.withLock { open in
            if open { close(input) }
            open = false
        }
    }

    /// Whether the child has not ended yet.
    public var isRunning: Bool { status() == nil }

    /// Sends `signal` to the child, unless it has ended and been reaped.
    public func send(_ signal: Int32) {
        reaped.withLock { status in if status == nil { _ = kill(pid, signal) } }
    }

    /// Waits for the child to end; its exit status, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        if let status = status() { return status }
        // Waits without reaping, outside the lock, so that send(_:) and isRunning still answer.
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        return status() ?? -1
    }

    /// The exit status once the child has ended (reaping it), else nil.
    private func status() -> Int32? {
        reaped.withLock { reaped in
            if let reaped { return reaped }
            var raw: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &raw, WNOHANG) } while result < 0 && errno == EINTR
            guard result == pid else { return result < 0 ? -1 : nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not see.
            let signal = raw & 0x7f
            let status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
            reaped = status
            return status
        }
    }
}

/// A plain lock held across the calls that start a child (``ChildProcess/init(_:input:output:error:)``).
private final class SpawnLock: @unchecked Sendable {
    // @unchecked: the pthread mutex is the synchronisation.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        return mutex
    }()

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
