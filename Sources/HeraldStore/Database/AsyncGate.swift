/// A FIFO queue of waiters for a fixed set of resources: SQLite connections, handed out one
/// task at a time, so that no two tasks use the same connection at once.
actor ResourcePool<Resource: Sendable> {
    private var free: [Resource]
    private var waiters: [CheckedContinuation<Resource, Never>] = []

    init(_ resources: [Resource]) { self.free = resources }

    func take() async -> Resource {
        if let r = free.popLast() { return r }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func give(_ resource: Resource) {
        if waiters.isEmpty { free.append(resource) } else { waiters.removeFirst().resume(returning: resource) }
    }

    func drain() -> [Resource] {
        defer { free = [] }
        return free
    }
}

extension ResourcePool {
    /// Runs `body` with a resource, returning it to the pool afterwards, even on error.
    nonisolated func with<T: Sendable>(_ body: (Resource) async throws -> T) async throws -> T {
        let r = await take()
        do {
            let result = try await body(r)
            await give(r)
            return result
        } catch {
            await give(r)
            throw error
        }
    }
}
