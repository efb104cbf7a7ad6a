@testable import HeraldDelivery
import Testing

/// The engine's and the scheduler's sleep: a ring ends one wait, and a wait's own timer ends
/// nothing but that wait.
@Suite struct DoorbellTests {
    @Test func aRingEndsTheWaitAndTheNextWaitLastsItsTime() async throws {
        let bell = Doorbell()
        let clock = ContinuousClock()
        for _ in 0..<3 {
            let waiting = Task { await bell.wait(upTo: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(20))
            await bell.ring()
            let start = clock.now
            await waiting.value
            #expect(clock.now - start < .seconds(10), "the ring ended the wait")
            // The timer of the wait that was rung is cancelled: it must not end this one.
            let next = clock.now
            await bell.wait(upTo: .milliseconds(200))
            #expect(clock.now - next >= .milliseconds(190), "a wait that nobody rang lasts its time")
        }
    }

    @Test func aRingWithNobodyWaitingEndsTheNextWaitAtOnceAndOnlyThatOne() async {
        let bell = Doorbell()
        let clock = ContinuousClock()
        await bell.ring()
        await bell.ring()
        var start = clock.now
        await bell.wait(upTo: .seconds(30))
        #expect(clock.now - start < .seconds(10))
        start = clock.now
        await bell.wait(upTo: .milliseconds(100))
        #expect(clock.now - start >= .milliseconds(90))
    }
}
