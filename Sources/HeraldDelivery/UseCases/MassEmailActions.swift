import HeraldCore
import HeraldStore

/// What a person can do to a mass email, in one place for the pages and the API: who may do
/// it (its owner or an admin; to anyone else it does not exist), the rules that go with each
/// action, and what must be woken after it (the scheduler for a mass email that is now
/// scheduled, the engine for one that may send again). A page handler and its API twin parse
/// their input, call one of these, and present the result.
public struct MassEmailActions: Sendable {
    let store: Store
    let engine: DeliveryEngine
    let scheduler: MassEmailScheduler
    let now: @Sendable () -> Int64

    init(store: Store, engine: DeliveryEngine, scheduler: MassEmailScheduler, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.engine = engine
        self.scheduler = scheduler
        self.now = now
    }

    /// The mass email `id`, if `user` may see it; "not found" otherwise, so that nothing is
    /// learnt from the answer.
    public func find(_ id: Int64, for user: User) async throws -> MassEmail {
        let massEmail = try await store.massEmails.find(id)
        guard user.role == .admin || massEmail.ownerID == user.id else {
            throw HeraldError.notFound("no mass email \(id)")
        }
        return massEmail
    }

    /// Saves a new mass email owned by `user`; one scheduled (now or later) wakes the scheduler.
    public func create(_ draft: MassEmailDraft, in module: Module, by user: User) async throws -> MassEmail {
        try await check(draft, in: module, by: user)
        let created = try await store.massEmails.create(draft, in: module, owner: user.id)
        if created.status == .scheduled { await scheduler.wake() }
        return created
    }

    /// Replaces a draft's or a scheduled mass email's settings (the store refuses others).
    public func update(_ id: Int64, with draft: MassEmailDraft, in module: Module, by user: User) async throws -> MassEmail {
        let existing = try await find(id, for: user)
        try await check(draft, in: module, by: user)
        let updated = try await store.massEmails.update(existing.id, draft, in: module)
        if updated.status == .scheduled { await scheduler.wake() }
        return updated
    }

    /// What only the person saving decides (422): selected records must be ones they may see
    /// (others' were left out silently when it sent, and are named as the store names records
    /// that do not exist, so that nothing is learnt); a field update that gives the record to
    /// another owner is for admins, as on the record form.
    func check(_ draft: MassEmailDraft, in module: Module, by user: User) async throws {
        var problems = ProblemList()
        if case .records(let ids) = draft.recipients, user.scope != .all {
            let unique = Array(Set(ids))
            let visible = try await store.records.find(in: module, ids: unique, scope: user.scope).count
            if visible < unique.count {
                problems.add("recipients.record_ids", "\(unique.count - visible) of the selected records do not exist in \(module.pluralLabel)")
            }
        }
        for (i, action) in draft.triggerActions.enumerated() {
            guard case .updateField(let name, let value) = action.effect, let field = module.field(name),
                  case .success(let parsed) = FieldValueParser.parse(.json(value), for: field) else { continue }
            do {
                try RecordActions.checkOwner(RecordChanges([name: parsed]), user: user)
            } catch let error as HeraldError {
                problems.add("trigger_actions[\(i)].value", error.message)
            }
        }
        if !problems.isEmpty { throw HeraldError.invalid(problems.problems) }
    }

    public func delete(_ id: Int64, by user: User) async throws {
        try await store.massEmails.delete(try await find(id, for: user).id)
    }

    /// Stops a mass email that is scheduled, sending or paused, with its follow-ups: when it
    /// returns, nothing more of it reaches SMTP. Of one that was sent, stops the follow-ups
    /// not sent yet (a conflict when there are none).
    public func stop(_ id: Int64, by user: User) async throws -> MassEmail {
        let m = try await find(id, for: user)
        if m.status == .sent {
            guard !(try await engine.stopFollowUps(m.id, step: nil)).isEmpty else {
                throw HeraldError.conflict("mass email \(m.id) is sent and has no follow-up left to stop", problems: [Problem(field: "status", reason: "sent")])
            }
            return try await store.massEmails.find(m.id)
        }
        return try await engine.stop(m.id)
    }

    /// Pauses a sending mass email; its page says who paused it.
    public func pause(_ id: Int64, by user: User) async throws -> MassEmail {
        try await store.massEmails.pause(try await find(id, for: user).id, reason: "paused by \(user.name)", now: now())
    }

    /// Resumes a paused mass email and wakes the engine.
    public func resume(_ id: Int64, by user: User) async throws -> MassEmail {
        let resumed = try await store.massEmails.resume(try await find(id, for: user).id, now: now())
        await engine.wake()
        return resumed
    }

    /// Stops follow-up `step` (1 for the first) and those counted from it.
    public func stopFollowUp(_ id: Int64, step: Int?, by user: User) async throws -> MassEmail {
        let m = try await find(id, for: user)
        try await engine.stopFollowUps(m.id, step: try Self.followUp(step, of: m))
        return try await store.massEmails.find(m.id)
    }

    /// Resumes a paused follow-up and wakes the engine.
    public func resumeFollowUp(_ id: Int64, step: Int?, by user: User) async throws -> MassEmail {
        let m = try await find(id, for: user)
        try await store.followUpRuns.resume(m.id, step: try Self.followUp(step, of: m), now: now())
        await engine.wake()
        return try await store.massEmails.find(m.id)
    }

    /// Picks an A/B test's winner by hand (`variant` 0 for A) and sends it to the rest.
    public func pickWinner(_ id: Int64, variant: Int, by user: User) async throws -> MassEmail {
        let m = try await find(id, for: user)
        try await scheduler.pickWinner(m.id, variant: variant, by: user.name)
        return try await store.massEmails.find(m.id)
    }

    /// A follow-up's step as the path names it: 1 up to the number of follow-ups.
    static func followUp(_ step: Int?, of m: MassEmail) throws -> Int {
        guard let step, step >= 1, step <= m.followUps.count else {
            throw HeraldError.notFound("mass email \(m.id) has no follow-up \(step.map(String.init) ?? "")")
        }
        return step
    }
}
