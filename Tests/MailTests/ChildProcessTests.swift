import ChildProcess
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The posix_spawn runner the tests and the benchmarks start programs with.
@Suite struct ChildProcessTests {
    @Test func capturesOutputErrorAndStatus() throws {
        let result = try ChildProcess.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(result.status == 3)
        #expect(result.stdout == "out\n")
        #expect(result.stderr == "err\n")
    }

    @Test func feedsInputLargerThanAPipeWhileReadingOutput() throws {
        // 1 MB through cat: writing all of it before reading would fill both pipes and hang.
        let input = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        let result = try ChildProcess.run(["cat"], input: input)
        #expect(result.status == 0)
        #expect(result.stdout.utf8.count == input.count)
    }

    @Test func aChildThatStopsReadingEndsTheWriteNotUs() throws {
        let result = try ChildProcess.run(["head", "-c", "1"], input: [UInt8](repeating: 65, count: 1 << 20))
        #expect(result.status == 0 && result.stdout == "A")
    }

    @Test func aSignalIsReportedAs128Plus() throws {
        let child = try ChildProcess(["sleep", "30"])
        #expect(child.isRunning)
        child.send(SIGKILL)
        #expect(child.wait() == 128 + SIGKILL)
        #expect(!child.isRunning)
        // Reaped once: asking again gives the same answer.
        #expect(child.wait() == 128 + SIGKILL)
    }

    @Test func aChildStartsWithDefaultSignalsWhateverWeIgnore() throws {
        // The kernel lists a process's ignored signals as a mask: SIGHUP ignored here would be bit 0.
        let previous = signal(SIGHUP, SIG_IGN)
        defer { signal(SIGHUP, previous) }
        // (Signals 32 and 33 are glibc's own, which it keeps ignored: only 1–31 count.)
        let line = try ChildProcess.run(["grep", "SigIgn", "/proc/self/status"]).stdout
        let mask = UInt64(line.split(separator: "\t").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "", radix: 16)
        #expect(mask.map { $0 & 0x7fff_ffff } == 0, "\(line)")
    }

    @Test func aMissingProgramIsAClearError() {
        #expect(throws: ChildProcess.Failure.self) { try ChildProcess(["/nonexistent/program"]) }
    }
}
