/// Lets at most `limit` callers in at once; the rest wait their turn, first come first
/// served, up to a time they choose, and are then turned away.
///
/// For work that holds a scarce outside resource while it runs: a spam check holds one of
/// spamd's few children for up to half a minute, and a user pressing the button again and
/// again should not take them all.
actor TurnGate {
    private let limit: Int
    private var inside = 0
    private var waiting: [(id: Int, turn: CheckedContinuation<Bool, Never>)] = []
    private var nextID = 0

    init(limit: Int) {
        precondition(limit > 0, "a gate lets someone in")
        self.limit = limit
    }

    /// Takes a turn: true at once when one is free, or when one frees up within `wait`;
    /// false when none did. Every `true` must be followed by one ``leave()``.
    func enter(waitingUpTo wait: Duration) async -> Bool {
        if inside < limit {
            inside += 1
            return true
        }
        let id = nextID
        nextID += 1
        let timer = Task { [weak self] in
            try? await Task.sleep(for: wait)
            await self?.giveUp(id)
        }
        let entered = await withCheckedContinuation { waiting.append((id, $0)) }
        timer.cancel()
        return entered
    }

    /// Gives the turn to the longest waiting, or frees it.
    func leave() {
        if waiting.isEmpty {
            inside -= 1
        } else {
            waiting.removeFirst().turn.resume(returning: true)
        }
    }

    private func giveUp(_ id: Int) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        waiting.remove(at: index).turn.resume(returning: false)
    }
}
