@testable import HeraldDelivery
import Testing

/// The bound on work that holds a scarce outside resource (spam checks).
@Suite struct TurnGateTests {
    @Test func letsInUpToTheLimitAndTurnsAwayAfterTheWait() async {
        let gate = TurnGate(limit: 2)
        #expect(await gate.enter(waitingUpTo: .zero))
        #expect(await gate.enter(waitingUpTo: .zero))
        #expect(await !gate.enter(waitingUpTo: .milliseconds(50)))
        await gate.leave()
        #expect(await gate.enter(waitingUpTo: .zero))
    }

    @Test func aLeavingCallerHandsItsTurnToTheLongestWaiting() async throws {
        let gate = TurnGate(limit: 1)
        #expect(await gate.enter(waitingUpTo: .zero))
        let first = Task { await gate.enter(waitingUpTo: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        let second = Task { await gate.enter(waitingUpTo: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        await gate.leave()
        #expect(await first.value)
        // The second still waits: the turn went to the first, not to both.
        #expect(await !gate.enter(waitingUpTo: .milliseconds(20)))
        await gate.leave()
        #expect(await second.value)
        await gate.leave()
        #expect(await gate.enter(waitingUpTo: .zero))
    }
}
