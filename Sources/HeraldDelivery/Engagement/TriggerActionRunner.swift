import Foundation
import HeraldCore
import HeraldStore
import Logging

/// Runs the trigger actions of mass emails when their recipients open, click or bounce.
///
/// Each action runs once per recipient record per mass email, whatever step's message the
/// event came from and however often it repeats: ``TriggerRunStore/runOnce(massEmailID:index:module:recordID:event:effect:now:)``
/// notes the run in the transaction that writes the effect. Machines' opens and clicks are
/// ignored unless the mass email says otherwise.
///
/// ```swift
/// let runner = TriggerActionRunner(store: store, logger: logger)
/// try await runner.react(to: [EngagementEvent(kind: .opened, messageID: 7, massEmailID: 1, step: 0,
///                                             recordID: 42, address: "ann@example.com", at: now)])
/// ```
public struct TriggerActionRunner: EngagementReactor {
    let store: Store
    let logger: Logger

    public init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func react(to events: [EngagementEvent]) async throws {
        var massEmails: [Int64: MassEmail] = [:]
        var modules: [String: Module] = [:]
        var zone: TimeZone?
        for event in events {
            guard let trigger = TriggerAction.Event(event.kind) else { continue }
            let massEmail: MassEmail
            if let known = massEmails[event.massEmailID] {
                massEmail = known
            } else {
                do {
                    massEmail = try await store.massEmails.find(event.massEmailID)
                } catch let error as HeraldError where error.kind == .notFound {
                    continue  // deleted since; nothing to run
                }
                massEmails[event.massEmailID] = massEmail
            }
            if event.isMachine && !massEmail.triggersOnMachineEvents { continue }
            let actions = massEmail.triggerActions.enumerated().filter { $0.element.event == trigger }
            guard !actions.isEmpty else { continue }
            if modules[massEmail.module] == nil { modules[massEmail.module] = try await store.modules.named(massEmail.module) }
            let module = modules[massEmail.module]!
            if zone == nil { zone = try await store.settings.timeZone() }
            for (index, action) in actions {
                // Repeats are the common case (every open after the first): a read settles them
                // without taking the write lock.
                if try await store.triggerRuns.hasRun(massEmailID: massEmail.id, index: index, recordID: event.recordID) { continue }
                do {
                    let effect = try await effect(of: action, massEmail: massEmail, module: module, event: event, zone: zone!)
                    let ran = try await store.triggerRuns.runOnce(massEmailID: massEmail.id, index: index, module: module,
                                                                  recordID: event.recordID, event: event.kind, effect: effect)
                    if ran {
                        logger.debug("trigger action ran", metadata: ["mass_email": "\(massEmail.id)", "action": "\(index)",
                                                                      "record": "\(event.recordID)"])
                    }
                } catch let error as HeraldError {
                    // The record was deleted, or the field changed since the action was saved:
                    // this action does not apply to this record, the others still run.
                    logger.warning("trigger action skipped", metadata: ["mass_email": "\(massEmail.id)", "action": "\(index)",
                                                                        "record": "\(event.recordID)", "reason": "\(error.message)"])
                }
            }
        }
    }

    /// What `action` does for the event's record: the value to set, or the task or call with
    /// its assignee or owner, due date or start time decided.
    func effect(of action: TriggerAction, massEmail: MassEmail, module: Module, event: EngagementEvent,
                zone: TimeZone) async throws -> TriggerEffect {
        func person(_ p: TriggerAction.Person) async throws -> Int64 {
            switch p {
            case .user(let id): return id
            case .recordOwner:
                guard let record = try await store.records.find(in: module, id: event.recordID, scope: .all) else {
                    throw HeraldError.notFound("no \(module.singularLabel.lowercased()) \(event.recordID) in \(module.pluralLabel)")
                }
                return record.ownerID ?? massEmail.ownerID
            }
        }
        switch action.effect {
        case .updateField(let name, let value):
            guard let field = module.field(name), !field.isSystem else {
                throw HeraldError.invalid(field: name, "no field '\(name)' that can be changed in \(module.pluralLabel)")
            }
            switch FieldValueParser.parse(.json(value), for: field) {
            case .success(let parsed):
                let changes = RecordChanges([name: parsed])
                // Checked when saved too; again here, as the mass email's owner may no longer be
                // an admin (or the action was saved before the rule).
                if name == BuiltinFields.owner {
                    guard let owner = try await store.users.find(massEmail.ownerID) else {
                        throw HeraldError.forbidden("the mass email's owner no longer exists")
                    }
                    try RecordActions.checkOwner(changes, user: owner)
                }
                return .update(changes)
            case .failure(let problem): throw HeraldError.invalid([problem])
            }
        case .addTask(let subject, let due, let status, let priority, let assignee):
            let dueDate: LocalDate = switch due {
            case .on(let date): date
            case .daysAfterEvent(let n): LocalDate(Date(timeIntervalSince1970: TimeInterval(event.at)), in: zone).adding(days: n)
            }
            return .task(CRMTask(id: 0, module: module.apiName, recordID: event.recordID, subject: subject, dueDate: dueDate,
                                 status: status, priority: priority, assigneeID: try await person(assignee), massEmailID: massEmail.id,
                                 createdAt: event.at, modifiedAt: event.at))
        case .scheduleCall(let subject, let owner, let start):
            let startAt: Int64 = switch start {
            case .at(let t): t
            case .minutesAfterEvent(let n): event.at + Int64(n) * 60
            }
            return .call(CRMCall(id: 0, module: module.apiName, recordID: event.recordID, subject: subject,
                                 ownerID: try await person(owner), startAt: startAt, status: .scheduled, massEmailID: massEmail.id,
                                 createdAt: event.at, modifiedAt: event.at))
        }
    }
}
