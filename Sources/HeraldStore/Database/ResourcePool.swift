import HeraldCore

/// A FIFO queue of waiters for a fixed set of resources: SQLite connections, handed out one
/// task at a time, so that no two tasks use the same connection at once.
actor ResourcePool<Resource: Sendable> {
    private var free: [Resource]
    private var waiters: [CheckedContinuation<Resource, any Error>] = []
    private let total: Int
    /// Set by ``drain()`` while resources are still out: resumed when the last comes back.
    private var draining: CheckedContinuation<[Resource], Never>?
    /// Set when ``drain()`` begins: a task that asks for a resource after it (a checkpoint
    /// started as the store closes, a request arriving during shutdown) fails at once rather
    /// than waiting for a resource that nobody will give back.
    private var closed = false

    init(_ resources: [Resource]) {
        self.free = resources
        self.total = resources.count
    }

    func take() async throws -> Resource {
        if closed { throw Self.closedError }
        if let r = free.popLast() { return r }
        return try await withCheckedThrowingContinuation { waiters.append($0) }
    }

    static var closedError: HeraldError { HeraldError(.upstream, "the database is closed") }

    func give(_ resource: Resource) {
        if !waiters.isEmpty {
            waiters.removeFirst().resume(returning: resource)
            return
        }
        free.append(resource)
        if free.count == total, let draining {
            self.draining = nil
            draining.resume(returning: takeAll())
        }
    }

    /// Every resource, once all are back: closing a connection that a task is still using (a
    /// delivery loop finishing its last write) would leave it unclosed, or closed under it.
    /// A task that never gives its resource back does not hold closing up for more than
    /// `patience`: then the ones that are back are closed and the rest left as they are.
    /// Those already waiting when it begins are still served; those left waiting when the
    /// patience runs out get an error.
    /// A second drain returns nothing at once (the first has them all, or will).
    func drain(patience: Duration = .seconds(10)) async -> [Resource] {
        guard !closed else { return [] }
        closed = true
        if free.count == total { return takeAll() }
        Task { [weak self] in
            try? await Task.sleep(for: patience)
            await self?.giveUpWaiting()
        }
        return await withCheckedContinuation { draining = $0 }
    }

    private func giveUpWaiting() {
        guard let draining else { return }
        self.draining = nil
        draining.resume(returning: takeAll())
    }

    private func takeAll() -> [Resource] {
        for waiter in waiters { waiter.resume(throwing: Self.closedError) }
        waiters = []
        defer { free = [] }
        return free
    }
}

extension ResourcePool {
    /// Runs `body` with a resource, returning it to the pool afterwards, even on error.
    nonisolated func with<T: Sendable>(_ body: (Resource) async throws -> T) async throws -> T {
        let r = try await take()
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
