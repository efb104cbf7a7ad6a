/// Lets a background loop sleep until someone rings or a time has passed: the engine and
/// the scheduler react at once to work that this process made, and poll for the rest.
actor Doorbell {
    private var waiter: CheckedContinuation<Void, Never>?
    private var rung = false

    func ring() {
        rung = true
        waiter?.resume()
        waiter = nil
    }

    /// Returns when rung (at once if rung since the last wait) or after `duration`.
    func wait(upTo duration: Duration) async {
        if rung { rung = false; return }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: duration)
            await self?.ring()
        }
        await withCheckedContinuation { waiter = $0 }
        rung = false
        timer.cancel()
    }
}
