/// Lets a background loop sleep until someone rings or a time has passed: the engine and
/// the scheduler react at once to work that this process made, and poll for the rest.
actor Doorbell {
    private var waiter: (turn: CheckedContinuation<Void, Never>, id: Int)?
    private var rung = false
    private var lastID = 0

    /// Ends the wait in progress, or the next one at once.
    func ring() {
        if let waiter {
            self.waiter = nil
            waiter.turn.resume()
        } else {
            rung = true
        }
    }

    /// Returns when rung (at once if rung since the last wait) or after `duration`.
    func wait(upTo duration: Duration) async {
        if rung { rung = false; return }
        lastID += 1
        let id = lastID
        // The timer ends only its own wait. A cancelled sleep returns at once; when the timer
        // rang the bell then, it ended the loop's next wait straight away, whose timer did the
        // same, so that an engine rung once went round about 16,000 times a second.
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: duration)) != nil else { return }
            await self?.timeUp(id)
        }
        await withCheckedContinuation { waiter = ($0, id) }
        timer.cancel()
    }

    private func timeUp(_ id: Int) {
        guard let waiter, waiter.id == id else { return }
        self.waiter = nil
        waiter.turn.resume()
    }
}
