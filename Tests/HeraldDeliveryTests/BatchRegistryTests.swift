import HeraldCore
import Testing

@testable import HeraldDelivery

/// The registry of batches in flight: a failed journal cancels what runs and holds back
/// every batch started after it, until the journal works again.
struct BatchRegistryTests {
    private func idle() -> Task<Void, Never> {
        Task { try? await Task.sleep(for: .seconds(30)) }
    }

    @Test func aHaltCancelsWhatRunsAndWhatStartsUntilResumed() async {
        let registry = BatchRegistry()
        let unit = MassEmailStep(massEmailID: 1, step: 0)
        let running = idle()
        registry.add(1, unit: unit, task: running)
        registry.halt()
        #expect(running.isCancelled)
        let startedAfter = idle()
        registry.add(2, unit: unit, task: startedAfter)
        #expect(startedAfter.isCancelled, "a batch started after the journal failed hands nothing to SMTP")
        registry.resume()
        let startedLater = idle()
        registry.add(3, unit: unit, task: startedLater)
        #expect(!startedLater.isCancelled)
        #expect(registry.cancelAll().count == 3)
        #expect(startedLater.isCancelled)
    }
}
